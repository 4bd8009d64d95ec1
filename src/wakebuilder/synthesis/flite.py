"""flite (CMU Flite) through its command line: four 16 kHz voices, about 10-30 ms a clip."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import soundfile as sf

from wakebuilder.audio.format import Samples
from wakebuilder.errors import EngineUnavailableError, SynthesisError
from wakebuilder.synthesis.engine import finish_clip

VOICES = ("kal16", "awb", "rms", "slt")
F0_MEAN_HZ = {"kal16": (85, 130), "awb": (85, 130), "rms": (80, 125), "slt": (150, 210)}
DURATION_STRETCH = (0.8, 1.3)
TIMEOUT_S = 20.0


class FliteEngine:
    """Runs the ``flite`` binary once per clip and reads its WAV from stdout."""

    name = "flite"

    def __init__(self, binary: str = "flite") -> None:
        path = shutil.which(binary)
        if path is None:
            raise EngineUnavailableError(
                f"the {binary!r} program is not on PATH (Debian: apt-get install flite)")
        self._binary = path
        try:
            listing = subprocess.run([path, "-lv"], capture_output=True, text=True,
                                     timeout=TIMEOUT_S, check=False).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise EngineUnavailableError(f"cannot run {path}: {exc}") from exc
        names = set(listing.replace(":", " ").split())
        self._voices = [v for v in VOICES if v in names]
        if not self._voices:
            raise EngineUnavailableError(f"{path} has none of the voices {', '.join(VOICES)}")

    def voices(self) -> list[str]:
        return list(self._voices)

    def language(self, voice: str) -> str:
        return "en-us"

    def synthesize(self, text: str, *, voice: str, rng: np.random.Generator,
                   duration_scale: float = 1.0) -> Samples:
        if voice not in self._voices:
            raise SynthesisError(f"unknown flite voice {voice!r}", {"voice": voice})
        f0 = rng.uniform(*F0_MEAN_HZ[voice])
        stretch = rng.uniform(*DURATION_STRETCH) * duration_scale
        spoken = f" {text}" if text.startswith("-") else text  # never parsed as an option
        cmd = [self._binary, "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}",
               "--setf", f"int_f0_target_mean={f0:.1f}", "-t", spoken, "-o", "/dev/stdout"]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=True)
            audio, rate = sf.read(io.BytesIO(done.stdout), dtype="float32", always_2d=False)
        except (OSError, subprocess.SubprocessError, sf.LibsndfileError, RuntimeError) as exc:
            raise SynthesisError(f"flite failed: {exc}", {"voice": voice}) from exc
        return finish_clip(audio, int(rate), rng)

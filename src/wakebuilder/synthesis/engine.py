"""The text-to-speech engine interface, the shared clip post-processing and a stub engine."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.audio.io import resample
from wakebuilder.errors import SynthesisError

TRIM_FLOOR_DB = -40.0
"""Leading/trailing audio quieter than this (relative to the clip's peak) is trimmed."""
TRIM_MARGIN_MS = 60
"""Silence kept before the first and after the last loud frame."""
PEAK_RANGE = (0.5, 0.9)
"""Every clip is normalised to a peak drawn uniformly from this range."""


@runtime_checkable
class TtsEngine(Protocol):
    """A local text-to-speech engine with named voices.

    ``synthesize`` returns float32 mono samples at 16 kHz in [-1, 1], lightly trimmed and
    peak-normalised. Per-call prosody (rate, pitch, noise) is drawn from ``rng``.
    """

    name: str

    def voices(self) -> list[str]:
        """Every voice this engine can speak with."""
        ...

    def language(self, voice: str) -> str:
        """Language tag of a voice (``"en"``, ``"en-us"``, ``"de"`` ...)."""
        ...

    def synthesize(self, text: str, *, voice: str, rng: np.random.Generator,
                   duration_scale: float = 1.0) -> Samples:
        """Speak ``text`` with ``voice``; raise SynthesisError when no audio comes out.

        ``duration_scale`` multiplies how long the engine takes to say it (1.0: its own pace,
        drawn from ``rng`` as always; 1.2: 20 % slower), without changing what ``rng`` draws."""
        ...


def is_english(language: str) -> bool:
    """True for ``en`` and its regional variants."""
    return language == "en" or language.startswith("en-") or language.startswith("en_")


def trim_silence(samples: Samples, *, floor_db: float = TRIM_FLOOR_DB,
                 margin_ms: int = TRIM_MARGIN_MS, sample_rate: int = SAMPLE_RATE) -> Samples:
    """Cut leading and trailing audio quieter than ``floor_db`` below the peak (10 ms frames)."""
    frame = sample_rate // 100
    n_frames = samples.size // frame
    if n_frames < 2:
        return samples
    frames = samples[: n_frames * frame].reshape(n_frames, frame)
    level = np.abs(frames).max(axis=1)
    loud = np.flatnonzero(level >= level.max() * 10 ** (floor_db / 20))
    margin = margin_ms * sample_rate // 1000
    start = max(int(loud[0]) * frame - margin, 0)
    end = min((int(loud[-1]) + 1) * frame + margin, samples.size)
    return samples[start:end]


def finish_clip(audio: np.ndarray, sample_rate: int, rng: np.random.Generator) -> Samples:
    """Resample to 16 kHz, trim silence lightly and normalise the peak to a random level."""
    samples = np.nan_to_num(np.asarray(audio, dtype=np.float32).reshape(-1))
    samples = resample(samples, sample_rate)
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak < 1e-4:
        raise SynthesisError("the engine produced silence", {"samples": int(samples.size)})
    samples = trim_silence(samples)
    target = rng.uniform(*PEAK_RANGE)
    out: Samples = np.clip(samples * np.float32(target / float(np.abs(samples).max())),
                           -1.0, 1.0).astype(np.float32)
    return out


class StubEngine:
    """A fast deterministic stand-in for TTS: each word becomes a short chirp.

    The chirp's pitch depends on the text and the voice, so different texts and voices give
    different audio, and the duration grows with the number of syllable-like letter groups.
    """

    def __init__(self, name: str = "stub", n_voices: int = 3, *, fail_every: int = 0) -> None:
        self.name = name
        self._voices = [f"{name}-{i}" for i in range(n_voices)]
        self._fail_every = fail_every
        self._calls = 0

    def voices(self) -> list[str]:
        return list(self._voices)

    def language(self, voice: str) -> str:
        return "en"

    def synthesize(self, text: str, *, voice: str, rng: np.random.Generator,
                   duration_scale: float = 1.0) -> Samples:
        if voice not in self._voices:
            raise SynthesisError(f"unknown voice {voice!r}", {"engine": self.name})
        self._calls += 1
        if self._fail_every and self._calls % self._fail_every == 0:
            raise SynthesisError("stub failure", {"engine": self.name})
        base = 120.0 + 40.0 * self._voices.index(voice) + rng.uniform(-10.0, 10.0)
        pieces = [np.zeros(SAMPLE_RATE // 20, dtype=np.float32)]
        for word in text.lower().split():
            letters = sum(ch.isalpha() for ch in word)
            if not letters:
                continue
            seconds = (0.12 + 0.05 * letters) * duration_scale
            t = np.arange(int(seconds * SAMPLE_RATE), dtype=np.float64) / SAMPLE_RATE
            f0 = base * (1.0 + (sum(map(ord, word)) % 7) / 10.0)
            phase = 2 * np.pi * (f0 * t + 0.5 * f0 * t * t / seconds)
            tone = np.sin(phase) + 0.3 * np.sin(3 * phase)
            pieces += [(tone * np.hanning(t.size)).astype(np.float32),
                       np.zeros(SAMPLE_RATE // 25, dtype=np.float32)]
        if len(pieces) == 1:
            raise SynthesisError("nothing to say", {"engine": self.name, "text": text})
        pieces.append(np.zeros(SAMPLE_RATE // 20, dtype=np.float32))
        return finish_clip(np.concatenate(pieces), SAMPLE_RATE, rng)

"""BackgroundBank: background signals (noise, music, real audio) to mix under clips."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.augment.music import generate_music
from wakebuilder.augment.noise import NOISE_KINDS, generate_noise
from wakebuilder.augment.transform import check_samples

MIN_BACKGROUND_SAMPLES = 160
"""Backgrounds shorter than 10 ms are refused."""


class BackgroundBank:
    """Background signals grouped by kind ("noise", "music", "real", ...).

    :meth:`sample` picks a kind uniformly, then a signal of that kind uniformly, then a
    random slice, so a few generated signals are not drowned by thousands of real files
    (and the reverse).
    """

    def __init__(self, signals: Mapping[str, Sequence[Samples]]) -> None:
        """:param signals: kind name -> non-empty list of mono float32 16 kHz signals."""
        self.signals: dict[str, list[Samples]] = {}
        for kind, items in signals.items():
            checked = [check_samples(item) for item in items]
            if not checked:
                continue
            if any(item.size < MIN_BACKGROUND_SAMPLES for item in checked):
                raise ValueError(f"background signals of kind {kind!r} must be at least "
                                 f"{MIN_BACKGROUND_SAMPLES} samples long")
            self.signals[kind] = checked
        if not self.signals:
            raise ValueError("a BackgroundBank needs at least one background signal")

    @classmethod
    def generated(cls, rng: np.random.Generator, *, seconds: float = 10.0,
                  n_music: int = 4, speech: Sequence[Samples] = (),
                  extra: Mapping[str, Sequence[Samples]] | None = None) -> BackgroundBank:
        """The offline default: one signal per noise kind and ``n_music`` music pieces.

        :param seconds: length of each generated signal.
        :param n_music: number of procedural music pieces.
        :param speech: real speech to build babble from (synthetic babble when empty).
        :param extra: more signals by kind, e.g. ``{"real": arrays_from_data_negative}``.
        """
        if seconds <= 0 or n_music < 0:
            raise ValueError("seconds must be positive and n_music not negative")
        n = int(seconds * SAMPLE_RATE)
        signals: dict[str, list[Samples]] = {
            "noise": [generate_noise(kind, n, rng, speech=speech) for kind in NOISE_KINDS],
            "music": [generate_music(n, rng) for _ in range(n_music)],
        }
        for kind, items in (extra or {}).items():
            signals.setdefault(kind, []).extend(items)
        return cls(signals)

    @property
    def kinds(self) -> list[str]:
        return list(self.signals)

    def __len__(self) -> int:
        return sum(len(items) for items in self.signals.values())

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.signals.items())
        return f"BackgroundBank({counts})"

    def sample(self, n_samples: int, rng: np.random.Generator, *,
               kind: str | None = None) -> Samples:
        """A random ``n_samples`` slice of a random signal (looped when shorter)."""
        if n_samples < 0:
            raise ValueError(f"n_samples must not be negative, got {n_samples}")
        if kind is not None and kind not in self.signals:
            raise ValueError(f"unknown background kind {kind!r}; have {self.kinds}")
        chosen = kind or self.kinds[int(rng.integers(len(self.signals)))]
        items = self.signals[chosen]
        signal = items[int(rng.integers(len(items)))]
        start = int(rng.integers(signal.size))
        index = (start + np.arange(n_samples)) % signal.size
        return signal[index].astype(np.float32)

"""What a training job draws general negatives from: the store's splits plus a few real
recordings to mix under training clips."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.audio.io import decode_audio
from wakebuilder.corpus.local import iter_negative_files, source_of
from wakebuilder.errors import InvalidAudioError
from wakebuilder.features.frontend import WINDOW_FRAMES
from wakebuilder.negstore.generated import GENERATED_KINDS, Progress, add_generated
from wakebuilder.negstore.paths import NegativePaths, store_root
from wakebuilder.negstore.splits import CALIBRATION, TRAIN
from wakebuilder.negstore.store import NegativeStore

_log = logging.getLogger(__name__)


@dataclass
class NegativeSource:
    """What a job draws general negatives from."""

    store: NegativeStore
    kinds: tuple[str, ...] | None
    negative_files: list[Any]
    exclude: tuple[str, ...] = ()

    def _hours(self, split: str | None, kinds: Any = None) -> float:
        entries = self.store.entries(split, kinds or self.kinds, exclude_sources=self.exclude)
        return sum(e.seconds for e in entries) / 3600

    @property
    def train_hours(self) -> float:
        return self._hours(TRAIN)

    @property
    def calibration_hours(self) -> float:
        return self._hours(CALIBRATION)

    @property
    def natural_speech_hours(self) -> float:
        if self.kinds is not None and "speech" not in self.kinds:
            return 0.0
        return self._hours(None, "speech")

    def sample_windows(self, n: int, rng: np.random.Generator, *,
                       split: str = TRAIN) -> np.ndarray:
        """``n`` random negative windows of a split."""
        return self.store.sample_windows(n, rng, split=split, kinds=self.kinds,
                                         exclude_sources=self.exclude)

    def calibration_streams(self) -> Iterator[np.ndarray]:
        """Embedding streams of the calibration split."""
        yield from self.split_streams(CALIBRATION)

    def split_streams(self, split: str) -> Iterator[np.ndarray]:
        """Embedding streams (at least one window long) of a split."""
        for entry, emb in self.store.streams(split, self.kinds, self.exclude):
            if entry.frames >= WINDOW_FRAMES:
                yield emb

    def background_audio(self, rng: np.random.Generator, n_files: int = 12,
                         max_seconds: float = 20.0) -> list[Samples]:
        """A few real recordings from ``data/negative`` to mix under training clips."""
        files = list(self.negative_files)
        out: list[Samples] = []
        for i in rng.permutation(len(files))[: n_files * 2]:
            try:
                samples = decode_audio(files[i])
            except InvalidAudioError as exc:
                _log.warning("skipping background %s: %s", files[i], exc.message)
                continue
            if len(samples) >= SAMPLE_RATE // 2:
                out.append(samples[: int(max_seconds * SAMPLE_RATE)])
            if len(out) >= n_files:
                break
        return out


def open_negatives(paths: NegativePaths, *, rng: np.random.Generator, use_real: bool = True,
                   exclude_sources: tuple[str, ...] = (),
                   progress: Progress | None = None,
                   should_cancel: Callable[[], bool] | None = None,
                   threads: int = 1) -> NegativeSource:
    """Open the store, adding the generated corpus first if it is missing."""
    store = NegativeStore(store_root(paths))
    add_generated(store, paths, progress=progress, should_cancel=should_cancel)
    files = [f for f in iter_negative_files(paths.negative_dir)
             if not any(source_of(f, paths.negative_dir) == x
                        or source_of(f, paths.negative_dir).startswith(x.rstrip("/") + "/")
                        for x in exclude_sources)] if use_real else []
    return NegativeSource(store, None if use_real else GENERATED_KINDS, files,
                          tuple(exclude_sources))

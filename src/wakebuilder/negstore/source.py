"""What a training job draws general negatives from: the store's four splits (see
:mod:`wakebuilder.negstore.splits`) restricted to the job's sources, plus a few real
recordings to mix under training clips."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.audio.io import decode_audio
from wakebuilder.corpus.local import iter_negative_files, source_of
from wakebuilder.errors import InvalidAudioError
from wakebuilder.features.frontend import WINDOW_FRAMES
from wakebuilder.negstore.generated import Progress, add_generated
from wakebuilder.negstore.index import NegativeEntry
from wakebuilder.negstore.kinds import GENERATED_SOURCE, KINDS, source_matches
from wakebuilder.negstore.paths import NegativePaths, store_root
from wakebuilder.negstore.splits import CALIBRATION, HELDOUT, SPLITS, TRAIN, VALIDATION, unit_of
from wakebuilder.negstore.store import NegativeStore

_log = logging.getLogger(__name__)

GENERATED_ONLY = (GENERATED_SOURCE,)
"""The sources of a job with ``use_real_negatives=False``."""


@dataclass
class NegativeSource:
    """What a job draws general negatives from: the store, seen through the job's choice of
    sources (``exclude`` drops sources, ``only_sources`` keeps only those named; both exact
    ids or ``prefix/``), and the real files it may mix under training clips."""

    store: NegativeStore
    kinds: tuple[str, ...] | None
    negative_files: list[Path]
    exclude: tuple[str, ...] = ()
    only_sources: tuple[str, ...] | None = None

    # ---------------------------------------------------------------- entries and hours
    def entries(self, split: str | None = None,
                kinds: str | tuple[str, ...] | None = None) -> list[NegativeEntry]:
        """The job's entries of a split (all splits when None)."""
        return self.store.entries(split, kinds or self.kinds, exclude_sources=self.exclude,
                                  only_sources=self.only_sources)

    def hours(self, split: str | None = None, kind: str | None = None) -> float:
        """Hours of audio of a split (and kind)."""
        return sum(e.seconds for e in self.entries(split, kind)) / 3600

    def hours_by_kind(self, split: str) -> dict[str, float]:
        """Hours of a split per kind (only kinds that have audio)."""
        out: dict[str, float] = {}
        for e in self.entries(split):
            out[e.kind] = out.get(e.kind, 0.0) + e.seconds / 3600
        return {k: out[k] for k in KINDS if k in out}

    def hours_by_split(self) -> dict[str, dict[str, float]]:
        """``{split: {kind: hours}}`` for every split."""
        return {split: self.hours_by_kind(split) for split in SPLITS}

    @property
    def train_hours(self) -> float:
        """Hours the heads learn from."""
        return self.hours(TRAIN)

    @property
    def validation_hours(self) -> float:
        """Hours early stopping reads."""
        return self.hours(VALIDATION)

    @property
    def calibration_hours(self) -> float:
        """Hours that choose the threshold."""
        return self.hours(CALIBRATION)

    @property
    def heldout_hours(self) -> float:
        """Hours kept for evaluation only."""
        return self.hours(HELDOUT)

    @property
    def natural_speech_hours(self) -> float:
        """Hours of real speech in every split."""
        if self.kinds is not None and "speech" not in self.kinds:
            return 0.0
        return self.hours(None, "speech")

    @property
    def heldout_sources(self) -> list[str]:
        """The held-out sources of this job (generated streams as ``generated:<name>``)."""
        return sorted({unit_of(e.source, e.name) for e in self.entries(HELDOUT)})

    # ---------------------------------------------------------------- embeddings
    def sample_windows(self, n: int, rng: np.random.Generator, *,
                       split: str = TRAIN) -> np.ndarray:
        """``n`` random negative windows of a split."""
        return self.store.sample_windows(n, rng, split=split, kinds=self.kinds,
                                         exclude_sources=self.exclude,
                                         only_sources=self.only_sources)

    def split_streams(self, split: str) -> Iterator[np.ndarray]:
        """Embedding streams (at least one window long) of a split."""
        for _, emb in self.split_entries(split):
            yield emb

    def split_entries(self, split: str) -> Iterator[tuple[NegativeEntry, np.ndarray]]:
        """Entries (at least one window long) of a split with their float32 embeddings."""
        for entry, emb in self.store.streams(split, self.kinds, self.exclude,
                                             self.only_sources):
            if entry.frames >= WINDOW_FRAMES:
                yield entry, emb

    def calibration_streams(self) -> Iterator[np.ndarray]:
        """Embedding streams of the calibration split."""
        yield from self.split_streams(CALIBRATION)

    def streams_by_kind(self, split: str) -> dict[str, list[np.ndarray]]:
        """Embedding streams of a split grouped by kind (only kinds that have streams)."""
        out: dict[str, list[np.ndarray]] = {}
        for entry, emb in self.split_entries(split):
            out.setdefault(entry.kind, []).append(emb)
        return {k: out[k] for k in KINDS if k in out}

    def heldout_streams_by_kind(self) -> dict[str, list[np.ndarray]]:
        """Embedding streams of the held-out split grouped by kind."""
        return self.streams_by_kind(HELDOUT)

    # ---------------------------------------------------------------- raw audio
    def background_audio(self, rng: np.random.Generator, n_files: int = 12,
                         max_seconds: float = 20.0) -> list[Samples]:
        """A few real recordings from ``data/negative`` to mix under training clips (never
        from a held-out source, see :func:`background_files`)."""
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


def background_files(store: NegativeStore, negative_dir: Path, *,
                     exclude_sources: tuple[str, ...] = ()) -> list[Path]:
    """Files under ``negative_dir`` a job may mix under its training clips: not excluded
    (the same rule as the store's embeddings) and not from a held-out source."""
    heldout = store.split_plan().heldout
    return [path for path in iter_negative_files(negative_dir)
            if not source_matches(source := source_of(path, negative_dir), exclude_sources)
            and source not in heldout]


def open_negatives(paths: NegativePaths, *, rng: np.random.Generator, use_real: bool = True,
                   exclude_sources: tuple[str, ...] = (),
                   progress: Progress | None = None,
                   should_cancel: Callable[[], bool] | None = None,
                   threads: int = 1) -> NegativeSource:
    """Open the store, adding the generated corpus first if it is missing.

    ``use_real=False`` keeps only the generated corpus (chosen by source, not by kind: real
    music and effects are of kinds ``music`` and ``noise`` too) and mixes no real audio."""
    store = NegativeStore(store_root(paths))
    add_generated(store, paths, progress=progress, should_cancel=should_cancel)
    exclude = tuple(exclude_sources)
    files = background_files(store, paths.negative_dir, exclude_sources=exclude) \
        if use_real else []
    return NegativeSource(store, None, files, exclude, None if use_real else GENERATED_ONLY)

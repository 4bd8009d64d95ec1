"""Data types shared by the corpus registry, the extractors and the fetcher."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wakebuilder.errors import EngineUnavailableError


@dataclass(frozen=True)
class RawClip:
    """One clip as an extractor found it: a relative output name and its samples.

    ``name`` is a POSIX relative path without extension (``"digits/1"``), ``samples`` is
    mono float32 in [-1, 1] at ``sample_rate``.
    """

    name: str
    samples: np.ndarray
    sample_rate: int


Extractor = Callable[[Path], Iterator[RawClip]]
"""Turns the merged ``dpkg -x`` tree of a source's packages into clips."""


@dataclass(frozen=True)
class CorpusSource:
    """One registry entry: which Debian packages to fetch and how to get audio out of them."""

    id: str
    packages: tuple[str, ...]
    licence: str
    """SPDX-like identifier, e.g. ``"CC-BY-SA-3.0"``."""
    licence_summary: str
    languages: tuple[str, ...]
    description: str
    extractor: Extractor
    kind: str = "speech"
    """What the audio is: one of :data:`KINDS` (decides the keep filter and the reports)."""


KINDS = ("speech", "music", "effects")
"""Kinds of negative audio in the corpus."""


@dataclass
class SourceRecord:
    """What was extracted from one source (stored in ``MANIFEST.json``)."""

    source: str
    packages: dict[str, str]
    licence: str
    licence_summary: str
    languages: list[str]
    description: str
    clips: int
    seconds: float
    extracted_at: str
    dropped: dict[str, int] = field(default_factory=dict)
    kind: str = "speech"

    @property
    def hours(self) -> float:
        """Total extracted duration in hours."""
        return self.seconds / 3600.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (adds ``hours``)."""
        data = asdict(self)
        data["hours"] = round(self.hours, 4)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceRecord:
        """Inverse of :meth:`to_dict` (ignores unknown keys)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class CorpusManifest:
    """Result of :func:`fetch_corpus`: complete sources, failures and skipped sources."""

    root: Path
    sources: dict[str, SourceRecord] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    """Sources already complete on disk, left untouched by this run."""

    @property
    def total_seconds(self) -> float:
        """Seconds of audio over all complete sources."""
        return sum(r.seconds for r in self.sources.values())

    @property
    def total_clips(self) -> int:
        """Clip count over all complete sources."""
        return sum(r.clips for r in self.sources.values())

    def hours_by_kind(self) -> dict[str, float]:
        """Hours of audio per kind (speech, music, effects) over all complete sources."""
        out: dict[str, float] = {}
        for record in self.sources.values():
            out[record.kind] = out.get(record.kind, 0.0) + record.hours
        return {k: round(v, 4) for k, v in sorted(out.items())}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict as written to ``MANIFEST.json``."""
        return {
            "format": 1,
            "sample_rate": 16000,
            "encoding": "FLAC PCM_16 mono",
            "total_clips": self.total_clips,
            "total_hours": round(self.total_seconds / 3600.0, 4),
            "hours_by_kind": self.hours_by_kind(),
            "sources": {k: v.to_dict() for k, v in sorted(self.sources.items())},
            "failures": dict(sorted(self.failures.items())),
        }


@dataclass(frozen=True)
class CorpusProgress:
    """A progress event passed to the ``progress`` callback of :func:`fetch_corpus`."""

    source: str
    stage: str
    """One of ``download``, ``extract``, ``done``, ``skipped``, ``failed``."""
    clips: int = 0
    message: str = ""


class AptUnavailableError(EngineUnavailableError):
    """Raised when the Debian tools needed to fetch the corpus are missing."""

"""The negative store's index: entries and crash-safe JSON persistence (``index.json``).

Which split an entry belongs to is decided in :mod:`wakebuilder.negstore.splits`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

INDEX_VERSION = 1


@dataclass(frozen=True)
class NegativeEntry:
    """One stored embedding stream: rows ``offset .. offset + frames`` of the data file."""

    source: str
    name: str
    segment: int
    offset: int
    frames: int
    seconds: float
    split: str
    kind: str
    fingerprint: str

    @property
    def group(self) -> str:
        """The source group that decides the split."""
        return group_of(self.source, self.name)

    @property
    def key(self) -> tuple[str, str]:
        """Identity of the file (or added clip) the entry came from."""
        return (self.source, self.name)


@dataclass
class IndexState:
    """Everything ``index.json`` holds; ``frames`` is the committed length of the data file.

    Entries are kept per file key ``(source, name)`` in insertion order, so replacing or
    dropping a file is O(1).
    """

    data_file: str = "embeddings-0.f16"
    frames: int = 0
    last_built: str | None = None
    files: dict[tuple[str, str], list[NegativeEntry]] = field(default_factory=dict)
    _flat: list[NegativeEntry] | None = field(default=None, repr=False)

    @property
    def entries(self) -> list[NegativeEntry]:
        """All entries, in insertion order (cached until the next change)."""
        if self._flat is None:
            self._flat = [e for group in self.files.values() for e in group]
        return self._flat

    def put(self, key: tuple[str, str], entries: list[NegativeEntry]) -> None:
        """Replace the entries of one file (moving it to the end)."""
        self.files.pop(key, None)
        self.files[key] = entries
        self._flat = None

    def drop(self, keys: Iterable[tuple[str, str]]) -> None:
        """Forget files."""
        for key in keys:
            self.files.pop(key, None)
        self._flat = None

    def set_entries(self, entries: Iterable[NegativeEntry]) -> None:
        """Replace everything with ``entries``."""
        self.files = {}
        for e in entries:
            self.files.setdefault(e.key, []).append(e)
        self._flat = None

    def live_frames(self) -> int:
        """Frames referenced by entries (the rest of the data file is garbage)."""
        return sum(e.frames for e in self.entries)


def group_of(source: str, name: str) -> str:
    """Source group of a file: its source plus the parent folder of its name."""
    parent = str(PurePosixPath(name).parent)
    return source if parent in ("", ".") else f"{source}/{parent}"


def load_index(path: Path) -> IndexState:
    """Read ``index.json``; a missing file is an empty store."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return IndexState()
    if raw.get("version") != INDEX_VERSION:
        raise ValueError(f"{path}: unsupported negative index version {raw.get('version')!r}")
    state = IndexState(data_file=raw["data_file"], frames=int(raw["frames"]),
                       last_built=raw.get("last_built"))
    state.set_entries(NegativeEntry(**e) for e in raw["entries"])
    return state


def save_index(path: Path, state: IndexState) -> None:
    """Write the index atomically: temp file, fsync, ``os.replace``, fsync the folder."""
    doc: dict[str, Any] = {"version": INDEX_VERSION, "data_file": state.data_file,
                           "frames": state.frames, "last_built": state.last_built,
                           "entries": [asdict(e) for e in state.entries]}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

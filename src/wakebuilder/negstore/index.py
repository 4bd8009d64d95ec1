"""The negative store's index: entries, crash-safe JSON persistence and split assignment.

Split rule: the real-speech corpus is split by whole source, so calibration measures false
accepts on voices the head never heard as negatives (:data:`CALIBRATION_SOURCES`, about 3.7 h
of 17 h, in four languages); every other file (source and name) is hashed to a stable
fraction in [0, 1) and files under :data:`CALIBRATION_FRACTION` go to calibration, so a file
(all its segments) never straddles splits. Splits already stored are sticky. When a kind would
otherwise have no calibration audio, its new file with the lowest hash is moved to calibration.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

KINDS = ("speech", "noise", "music", "tts", "other")
TRAIN = "train"
CALIBRATION = "calibration"
SPLITS = (TRAIN, CALIBRATION)
CALIBRATION_FRACTION = 0.2
CORPUS_PREFIX = "corpus/"
CALIBRATION_SOURCES = frozenset({
    "corpus/drascula-en",  # English game voice acting, 0.8 h
    "corpus/fillets-nl",  # Dutch game voice acting, 1.6 h
    "corpus/asterisk-en",  # US English telephone prompts, 0.4 h
    "corpus/asterisk-ru",  # Russian telephone prompts, 0.4 h
    "corpus/ktuberling",  # single words in ~26 languages, 0.5 h
})
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


def stable_fraction(key: str) -> float:
    """A fraction in [0, 1) that depends only on ``key`` (SHA-256, not Python's hash)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def hash_split(key: str) -> str:
    """The split ``key`` hashes to."""
    return CALIBRATION if stable_fraction(key) < CALIBRATION_FRACTION else TRAIN


def file_key(source: str, name: str) -> str:
    """The key a file's split is hashed from."""
    return f"{group_of(source, name)}|{name}"


def file_split(source: str, name: str) -> str:
    """The split of a new file: by source for the corpus, else by hashing the file."""
    if source.startswith(CORPUS_PREFIX):
        return CALIBRATION if source in CALIBRATION_SOURCES else TRAIN
    return hash_split(file_key(source, name))


def assign_splits(items: Sequence[tuple[str, str, str]],
                  existing: Iterable[NegativeEntry]) -> list[str]:
    """Splits for new ``(kind, source, name)`` items, given the entries already stored."""
    known: dict[tuple[str, str], str] = {}
    calibrated: set[str] = set()
    for e in existing:
        known[e.key] = e.split
        if e.split == CALIBRATION:
            calibrated.add(e.kind)
    out: list[str] = []
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, (kind, source, name) in enumerate(items):
        split = known.get((source, name)) or file_split(source, name)
        out.append(split)
        if split == CALIBRATION:
            calibrated.add(kind)
        by_kind[kind].append(i)
    for kind, idx in by_kind.items():
        if kind not in calibrated and len(idx) >= 2:
            chosen = min(idx, key=lambda i: stable_fraction(file_key(*items[i][1:])))
            out[chosen] = CALIBRATION
    return out


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

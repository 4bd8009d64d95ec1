"""Which split each stored file belongs to.

Split rule: the real-speech corpus is split by whole source, so calibration measures false
accepts on voices the head never heard as negatives (:data:`CALIBRATION_SOURCES`, about 3.7 h
of 17 h, in four languages); every other file (source and name) is hashed to a stable
fraction in [0, 1) and files under :data:`CALIBRATION_FRACTION` go to calibration, so a file
(all its segments) never straddles splits. Splits already stored are sticky. When a kind would
otherwise have no calibration audio, its new file with the lowest hash is moved to calibration.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence

from wakebuilder.negstore.index import NegativeEntry, group_of

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

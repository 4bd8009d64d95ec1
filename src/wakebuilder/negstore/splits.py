"""Which split each stored file belongs to: the split policy of the negative store.

There are four splits, always assigned by file or by whole source, never by window or by
augmentation:

- ``train``: negatives the heads learn from (and hard-negative mining reads);
- ``validation``: a small share of the train sources' files (:data:`VALIDATION_FRACTION`,
  at least one, of each kind with :data:`MIN_VALIDATION_FILES` train files or more; at least
  one file of the real and one of the generated audio, taken from its kind with the most
  train files), the negatives of early stopping;
- ``calibration``: the audio that chooses the threshold: the whole corpus sources of
  :data:`CALIBRATION_SOURCES` (voices the heads never hear as negatives, about 3.7 h: English,
  Dutch, Russian, single words in ~26 languages; and two small real-music sources, about
  0.4 h) plus a stable per-file fraction (:data:`CALIBRATION_FRACTION`) of the corpus effects
  sources and of Flight of the Amazon Queen's English voice acting
  (:data:`CALIBRATION_SHARE_PREFIXES`) and of every non-corpus source, every fourth
  stream of the generated corpus, and the mixtures made from calibration audio;
- ``heldout``: evaluation only, never used for training, early stopping, mining or the
  threshold. It is made of WHOLE sources: per kind (speech, music, noise, tts, other), when a
  kind has at least two sources, sources are taken in the order of a stable hash of their id
  (SHA-256, not Python's hash) while they fit under :data:`HELDOUT_MAX` of the kind's hours,
  until :data:`HELDOUT_MIN` is reached; when that falls short, the one source nearest 20 %
  (at most :data:`HELDOUT_CAP`) is held out instead if it is nearer. The sources of
  :data:`CALIBRATION_SOURCES` are never held out. The generated corpus is one source, so
  its streams play the part of sources (``generated:<stream name>``), chosen among its
  non-calibration streams the same way, separately from the real sources (a job on
  generated audio alone still has held-out audio).

Stored entries carry a base split (``train`` or ``calibration``, decided when a file is first
embedded: :func:`file_split`, :func:`assign_splits`). It is sticky for user files and the
generated corpus; for corpus files it is derived from the current policy when the index is
read (:func:`base_split`: corpus splits go by source), so a change of
:data:`CALIBRATION_SOURCES` needs no re-embedding. The ``validation`` and ``heldout`` splits
are derived from the index when it is read (:func:`plan_splits`), so a store built by an older
version gets them without re-embedding anything.

Mixtures (source ``mixture``, kind ``mixture``) take no part in the held-out choice: each is
made from components of one split only, and its split follows its components (the planned
split and component sources recorded in its name): held out when any component source is
held out, else calibration when it was made for calibration or any component is a
calibration source, else train (a stable share of them validation, as for other kinds).

The held-out choice depends on the sources present: adding or removing a source can change it
(each model records the held-out sources it was measured on).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wakebuilder.negstore.index import NegativeEntry, group_of
from wakebuilder.negstore.kinds import (
    GENERATED_SOURCE,
    MIXTURE_SOURCE,
    mixture_components,
    mixture_planned_split,
)

TRAIN = "train"
VALIDATION = "validation"
CALIBRATION = "calibration"
HELDOUT = "heldout"
SPLITS = (TRAIN, VALIDATION, CALIBRATION, HELDOUT)
"""Every split, in the order reports list them."""
STORED_SPLITS = (TRAIN, CALIBRATION)
"""The base splits written into ``index.json``."""
CALIBRATION_FRACTION = 0.2
VALIDATION_FRACTION = 0.05
HELDOUT_MIN = 0.15
HELDOUT_TARGET = 0.2
HELDOUT_MAX = 0.25
HELDOUT_CAP = 0.35
"""No kind ever has more than this share of its hours held out."""
MIN_VALIDATION_FILES = 8
"""A kind gives validation files only when it has this many train files (small kinds, such as
the six generated noise streams, keep theirs for training)."""
MIN_GROUP_VALIDATION_FILES = 3
"""Real sources and the generated corpus each get at least one validation file when they have
this many train files."""
CORPUS_PREFIX = "corpus/"
CALIBRATION_SOURCES = frozenset({
    "corpus/drascula-en",  # English game voice acting, 0.8 h
    "corpus/fillets-nl",  # Dutch game voice acting, 1.6 h
    "corpus/asterisk-en",  # US English telephone prompts, 0.4 h
    "corpus/asterisk-ru",  # Russian telephone prompts, 0.4 h
    "corpus/ktuberling",  # single words in ~26 languages, 0.5 h
    "corpus/music-frozen-bubble",  # real game music, 0.2 h
    "corpus/music-xmoto",  # real game music, 0.2 h
})
CALIBRATION_SHARE_PREFIXES = ("corpus/effects-", "corpus/fotaq")
"""Corpus sources split by file rather than by source: a stable :data:`CALIBRATION_FRACTION`
of their files is calibration. The only real effects source would otherwise be all train or
all calibration; and English conversational speech is what English wake words false-accept
on most, while the whole calibration sources hold only 1.2 h of it (``corpus/fotaq``: about
0.9 h more, the other 3.7 h still train)."""


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
    if source.startswith(CORPUS_PREFIX) and not source.startswith(CALIBRATION_SHARE_PREFIXES):
        return CALIBRATION if source in CALIBRATION_SOURCES else TRAIN
    return hash_split(file_key(source, name))


def base_split(entry: NegativeEntry) -> str:
    """The base split (train or calibration) of a stored entry: from the current policy for
    corpus files and mixtures, the stored (sticky) one for every other source."""
    if entry.source.startswith(CORPUS_PREFIX):
        return file_split(entry.source, entry.name)
    if entry.source == MIXTURE_SOURCE:
        planned = mixture_planned_split(entry.name)
        calibrated = planned in (CALIBRATION, HELDOUT) or any(
            c in CALIBRATION_SOURCES for c in mixture_components(entry.name))
        return CALIBRATION if calibrated else TRAIN
    return entry.split


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


def unit_of(source: str, name: str) -> str:
    """What is held out as a whole: the source, or for the generated corpus one stream."""
    return f"{GENERATED_SOURCE}:{name}" if source == GENERATED_SOURCE else source


@dataclass(frozen=True)
class SplitPlan:
    """The derived splits of one index version: held-out units and validation files."""

    heldout: frozenset[str]
    validation: frozenset[tuple[str, str]]

    def split_of(self, entry: NegativeEntry) -> str:
        """The effective split of a stored entry."""
        if entry.source == MIXTURE_SOURCE:
            if mixture_planned_split(entry.name) == HELDOUT or any(
                    c in self.heldout for c in mixture_components(entry.name)):
                return HELDOUT
        elif unit_of(entry.source, entry.name) in self.heldout:
            return HELDOUT
        if base_split(entry) == CALIBRATION:
            return CALIBRATION
        return VALIDATION if entry.key in self.validation else TRAIN

    @property
    def heldout_sources(self) -> list[str]:
        """The held-out sources (and generated streams), sorted."""
        return sorted(self.heldout)


def _choose_heldout(units: dict[str, float], eligible: set[str]) -> set[str]:
    """Whole units of one kind to hold out, in stable-hash order, aiming at 15-25 % of hours.

    When the units that fit under 25 % give less than 15 %, one unit closer to 20 % (at most
    :data:`HELDOUT_CAP` of the hours) is held out instead, so one big source does not leave
    its kind with a sliver of held-out audio."""
    if len(units) < 2:
        return set()
    total = math.fsum(units.values())
    if total <= 0:
        return set()
    order = sorted(eligible, key=lambda u: (stable_fraction(f"heldout|{u}"), u))
    chosen: set[str] = set()
    held = 0.0
    for unit in order:
        if held >= HELDOUT_MIN * total:
            break
        if held + units[unit] <= HELDOUT_MAX * total:
            chosen.add(unit)
            held += units[unit]
    if held < HELDOUT_MIN * total:
        target = HELDOUT_TARGET * total
        single = [u for u in order if units[u] <= HELDOUT_CAP * total]
        best = min(single, key=lambda u: abs(units[u] - target), default=None)
        if best is not None and abs(units[best] - target) < abs(held - target):
            return {best}
    return chosen


def _validation_rank(key: tuple[str, str]) -> float:
    return stable_fraction(f"validation|{key[0]}|{key[1]}")


def _choose_validation(files: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Validation files among one kind's train files: a stable fraction, at least one; none
    when the kind has fewer than :data:`MIN_VALIDATION_FILES` train files."""
    if len(files) < MIN_VALIDATION_FILES:
        return set()
    ranks = {k: _validation_rank(k) for k in files}
    chosen = {k for k, r in ranks.items() if r < VALIDATION_FRACTION}
    return chosen or {min(files, key=lambda k: (ranks[k], k))}


def plan_splits(entries: Iterable[NegativeEntry]) -> SplitPlan:
    """Derive the held-out units and validation files from the stored entries (see the
    module docstring). Deterministic: the same entries always give the same plan."""
    # math.fsum: sums that do not depend on the order of the entries.
    kind_seconds: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    base: dict[str, set[str]] = defaultdict(set)
    files: dict[tuple[str, str], tuple[str, str, str]] = {}  # file -> (unit, kind, base split)
    mixtures: dict[tuple[str, str], str] = {}  # mixture file -> effective split sans validation
    entries = list(entries)
    for e in entries:
        if e.source == MIXTURE_SOURCE:
            continue
        unit = unit_of(e.source, e.name)
        split = base_split(e)
        kind_seconds[unit][e.kind].append(e.seconds)
        base[unit].add(split)
        files.setdefault(e.key, (unit, e.kind, split))
    # Units grouped by (generated?, main kind): real sources and generated streams apart.
    groups: dict[tuple[bool, str], dict[str, float]] = defaultdict(dict)
    for unit, by_kind in kind_seconds.items():
        sums = {kind: math.fsum(secs) for kind, secs in by_kind.items()}
        kind = max(sums.items(), key=lambda kv: (kv[1], kv[0]))[0]
        groups[(unit.startswith(f"{GENERATED_SOURCE}:"), kind)][unit] = math.fsum(
            s for secs in by_kind.values() for s in secs)
    heldout: set[str] = set()
    for (generated, _), units in groups.items():
        if generated:  # only train streams: the calibration streams stay calibration
            eligible = {u for u in units if base[u] == {TRAIN}}
        else:
            eligible = {u for u in units if u not in CALIBRATION_SOURCES}
        heldout |= _choose_heldout(units, eligible)
    train_files: dict[tuple[bool, str], list[tuple[str, str]]] = defaultdict(list)
    for key, (unit, kind, split) in files.items():
        if unit not in heldout and split != CALIBRATION:
            train_files[(unit.startswith(f"{GENERATED_SOURCE}:"), kind)].append(key)
    # Mixtures: their own validation share, chosen apart so they never move real files.
    probe = SplitPlan(frozenset(heldout), frozenset())
    for e in entries:
        if e.source == MIXTURE_SOURCE:
            mixtures.setdefault(e.key, probe.split_of(e))
    validation: set[tuple[str, str]] = _choose_validation(
        sorted(k for k, split in mixtures.items() if split == TRAIN))
    for generated in (False, True):
        chosen: set[tuple[str, str]] = set()
        kinds = sorted(((kind, keys) for (gen, kind), keys in train_files.items()
                        if gen == generated), key=lambda kv: (-len(kv[1]), kv[0]))
        for _, keys in kinds:
            chosen |= _choose_validation(keys)
        if not chosen and sum(len(keys) for _, keys in kinds) >= MIN_GROUP_VALIDATION_FILES:
            pool = kinds[0][1]  # from the kind with the most train files
            chosen.add(min(pool, key=lambda k: (_validation_rank(k), k)))
        validation |= chosen
    return SplitPlan(frozenset(heldout), frozenset(validation))

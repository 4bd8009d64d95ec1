"""Hard negatives: words and phrases that sound close to the wake word but are not it.

Candidates come from the CMU dictionary by phoneme edit distance (one word of a phrase
swapped for a close word, close words for a single word, the word split into two words and
then varied), from spelling edits pronounced by espeak-ng, and from partial phrases. A
candidate is dropped when it is a homophone of the target, contains the target's
pronunciation, normalises to the same letters (case, punctuation, repeated letters), or is
only a pronunciation variant of it (confusion distance under ``MIN_CONFUSION``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from wakebuilder.synthesis.pronunciation import (
    Phones,
    batch_distance,
    cmu_dictionary,
    is_homophone,
    phonemes,
    strip_stress,
    text_distances,
    word_pronunciations,
    words_of,
)

__all__ = ["MIN_CONFUSION", "HardNegative", "hard_negative_candidates", "hard_negative_phrases",
           "is_acceptable", "is_homophone", "max_distance", "normalise_text", "phonemes"]

_PLAIN_WORD = re.compile(r"[a-z]{2,}|a|i")
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWEL_LETTERS = "aeiou"
_NEIGHBOURS_PER_WORD = 80


@dataclass(frozen=True)
class HardNegative:
    """A hard-negative text, how it was made and its phoneme distance to the target."""

    text: str
    kind: str  # "substitute", "close", "split", "spelling" or "partial"
    distance: int
    confusion: float = 0.0  # confusion distance (vowel and close-consonant swaps cost 0.5)


def normalise_text(text: str) -> str:
    """Letters only, lower case, runs of one letter collapsed: "Heyy, jarviis!" -> "heyjarvis"."""
    letters = "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalpha())
    return re.sub(r"(.)\1+", r"\1", letters)


# A non-partial hard negative must differ by at least this confusion distance: a clear
# consonant change plus a vowel change, or two clear changes. Closer texts (vowel-only or
# voicing-only changes) are how real people pronounce the wake word; training against them
# cost snowboy 8-19 points of FRR on other speakers in the development benchmark (run 5).
MIN_CONFUSION = 1.5


def max_distance(n_phones: int) -> int:
    """Largest phoneme edit distance a non-partial hard negative may have."""
    return 1 if n_phones <= 3 else 2 if n_phones <= 7 else 3


@dataclass(frozen=True)
class _Index:
    symbols: dict[str, int]
    by_length: dict[int, tuple[list[str], np.ndarray]]
    exact: dict[Phones, list[str]]


@lru_cache(maxsize=1)
def _index() -> _Index:
    symbols: dict[str, int] = {}
    rows: dict[int, tuple[list[str], list[list[int]]]] = {}
    exact: dict[Phones, list[str]] = {}
    for word, prons in cmu_dictionary().items():
        if not _PLAIN_WORD.fullmatch(word):
            continue
        for pron in {strip_stress(p) for p in prons}:
            ids = [symbols.setdefault(p, len(symbols)) for p in pron]
            words, matrix = rows.setdefault(len(pron), ([], []))
            words.append(word)
            matrix.append(ids)
            exact.setdefault(pron, []).append(word)
    return _Index(symbols, {n: (w, np.asarray(m, dtype=np.int16)) for n, (w, m) in rows.items()},
                  exact)


def _close_words(pron: Phones, limit: int) -> list[tuple[int, str]]:
    """CMU words within ``limit`` edits of ``pron`` (distance >= 1), closest first."""
    index = _index()
    found: dict[str, int] = {}
    for length in range(max(len(pron) - limit, 1), len(pron) + limit + 1):
        if length not in index.by_length:
            continue
        words, matrix = index.by_length[length]
        dist = batch_distance(pron, matrix, index.symbols)
        for i in np.flatnonzero((dist >= 1) & (dist <= limit)):
            found[words[i]] = min(found.get(words[i], 99), int(dist[i]))
    return sorted(((d, w) for w, d in found.items()), key=lambda x: x[0])


def _splits(pron: Phones) -> list[list[str]]:
    """Ways to read one word's phonemes as two dictionary words ("snowboy" -> "snow boy")."""
    exact = _index().exact
    return [[exact[pron[:i]][0], exact[pron[i:]][0]] for i in range(1, len(pron))
            if pron[:i] in exact and pron[i:] in exact]


def _spellings(word: str) -> set[str]:
    """Small spelling edits: first consonant, each vowel, an added or dropped last letter."""
    out: set[str] = set()
    if word[:1] in _CONSONANTS:
        out |= {c + word[1:] for c in _CONSONANTS}
    for i, ch in enumerate(word):
        if ch in _VOWEL_LETTERS:
            out |= {word[:i] + v + word[i + 1:] for v in _VOWEL_LETTERS}
    out |= {word[:-1]} if len(word) > 3 else set()
    out |= {word + e for e in ("a", "o", "y")}
    out.discard(word)
    return out


def _contains(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    return any(outer[i:i + len(inner)] == inner for i in range(len(outer) - len(inner) + 1))


def is_acceptable(candidate: str, wake_word: str) -> bool:
    """False when ``candidate`` spells or sounds like ``wake_word`` or contains its sound."""
    norm = normalise_text(candidate)
    if not norm or norm == normalise_text(wake_word) or is_homophone(candidate, wake_word):
        return False
    prons = [strip_stress(p) for p in phonemes(candidate)]
    targets = [strip_stress(p) for p in phonemes(wake_word)]
    return bool(prons) and not any(_contains(p, t) for p in prons for t in targets)


def hard_negative_candidates(wake_word: str, *, rng: np.random.Generator,
                             max_phrases: int = 60) -> list[HardNegative]:
    """Phonetically close texts that are never the wake word, as :class:`HardNegative`."""
    words = words_of(wake_word)
    target = " ".join(words)
    target_prons = [strip_stress(p) for p in phonemes(target)]
    if not words or not target_prons:
        return []
    limit = max_distance(min(len(p) for p in target_prons))
    raw: list[tuple[str, str, int]] = []  # (kind, text, group for diversity)

    bases: list[tuple[str, list[str]]] = [("substitute" if len(words) > 1 else "close", words)]
    if len(words) == 1:
        for split in (s for p in word_pronunciations(words[0]) for s in _splits(strip_stress(p))):
            raw.append(("split", " ".join(split), -1))
            bases.append(("split", split))
    for kind, base in bases:
        for pos, word in enumerate(base):
            word_limit = max_distance(min(len(p) for p in word_pronunciations(word) or [()]))
            close: dict[str, int] = {}
            for pron in word_pronunciations(word):
                for d, w in _close_words(strip_stress(pron), min(word_limit, limit)):
                    close[w] = min(close.get(w, 99), d)
            picked = sorted(close, key=lambda w: (close[w], rng.random()))[:_NEIGHBOURS_PER_WORD]
            raw += [(kind, " ".join(base[:pos] + [w] + base[pos + 1:]), pos) for w in picked]
    for pos, word in enumerate(words):
        if _PLAIN_WORD.fullmatch(word):
            raw += [("spelling", " ".join(words[:pos] + [s] + words[pos + 1:]), pos)
                    for s in sorted(_spellings(word))]
    partials = {" ".join(words[i:j]) for i in range(len(words))
                for j in range(i + 1, len(words) + 1) if j - i < len(words)}

    accepted: dict[tuple[str, int], list[HardNegative]] = {}
    seen: set[str] = set()
    for kind, text, group in [("partial", p, 0) for p in sorted(partials)] + raw:
        norm = normalise_text(text)
        if norm in seen:
            continue
        seen.add(norm)
        if not is_acceptable(text, target):
            continue
        distance, confusion = text_distances(text, target)
        if kind != "partial" and not (1 <= distance <= limit and confusion >= MIN_CONFUSION):
            continue
        accepted.setdefault((kind, group), []).append(
            HardNegative(text, kind, distance, confusion))
    return _select(accepted, max_phrases, rng)


_TIER_SHARES = {"substitute": 2, "close": 2, "split": 1}
_MIN_PHRASES = 20  # spelling edits only top the list up to this many


def _select(groups: dict[tuple[str, int], list[HardNegative]], max_phrases: int,
            rng: np.random.Generator) -> list[HardNegative]:
    """Partials first (at most a third), then real-word swaps and splits, then (only when
    fewer than 20 were found) spelling edits, whose made-up words espeak may say almost like
    the wake word.

    Each round takes two real-word candidates and one split; within a kind, word positions
    take turns, and candidates come closest first, ties in random order.
    """
    chosen = list(groups.pop(("partial", 0), []))[:max(max_phrases // 3, 1)]
    tiers: dict[str, list[list[HardNegative]]] = {}
    for (kind, _), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        tiers.setdefault(kind, []).append(sorted(items, key=lambda h: (h.distance, rng.random())))
    fallback = {"spelling": tiers.pop("spelling", [])}
    for stage, cap in ((tiers, max_phrases), (fallback, min(max_phrases, _MIN_PHRASES))):
        while len(chosen) < cap and any(any(q) for qs in stage.values() for q in qs):
            for kind, queues in stage.items():
                for _ in range(_TIER_SHARES.get(kind, 1)):
                    live = [q for q in queues if q]
                    if live and len(chosen) < cap:
                        chosen.append(live[0].pop(0))
                        queues.append(queues.pop(queues.index(live[0])))  # next position
    return chosen


def hard_negative_phrases(wake_word: str, *, max_phrases: int = 60,
                          rng: np.random.Generator, close_words: bool = True) -> list[str]:
    """Texts that sound close to ``wake_word`` but are never a homophone of it; only the
    partial phrases of a multi-word wake word when ``close_words`` is false."""
    return [h.text for h in hard_negative_candidates(wake_word, rng=rng,
                                                     max_phrases=max_phrases)
            if close_words or h.kind == "partial"]

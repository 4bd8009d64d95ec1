"""English pronunciations in ARPAbet: the CMU dictionary, espeak-ng as G2P for other words."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import numpy as np

Phones = tuple[str, ...]
"""ARPAbet phonemes, vowels carrying a stress digit (``("R", "AY1", "T")``)."""

MAX_PRONUNCIATIONS = 16
_WORD_RE = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*", re.UNICODE)
_IPA: dict[str, tuple[str, ...]] = {
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",),
    "ɡ": ("G",), "f": ("F",), "v": ("V",), "θ": ("TH",), "ð": ("DH",), "s": ("S",),
    "z": ("Z",), "ʃ": ("SH",), "ʒ": ("ZH",), "h": ("HH",), "tʃ": ("CH",), "dʒ": ("JH",),
    "m": ("M",), "n": ("N",), "ŋ": ("NG",), "l": ("L",), "ɹ": ("R",), "r": ("R",),
    "w": ("W",), "ʍ": ("W",), "j": ("Y",), "ɾ": ("T",), "ʔ": ("T",), "x": ("K",),
    "ç": ("HH",), "ɬ": ("L",), "ɫ": ("L",), "n̩": ("AH", "N"), "l̩": ("AH", "L"),
    "m̩": ("AH", "M"), "ɑ": ("AA",), "ɒ": ("AA",), "a": ("AE",), "æ": ("AE",), "ʌ": ("AH",),
    "ə": ("AH",), "ɐ": ("AH",), "ᵻ": ("IH",), "ɪ": ("IH",), "i": ("IY",), "ɛ": ("EH",),
    "e": ("EH",), "eɪ": ("EY",), "ɜ": ("ER",), "ɝ": ("ER",), "ɚ": ("ER",), "ɔ": ("AO",),
    "o": ("OW",), "oʊ": ("OW",), "əʊ": ("OW",), "ʊ": ("UH",), "u": ("UW",), "aɪ": ("AY",),
    "aʊ": ("AW",), "ɔɪ": ("OY",), "ɑɹ": ("AA", "R"), "ɔɹ": ("AO", "R"), "oɹ": ("AO", "R"),
    "ɪɹ": ("IH", "R"), "iə": ("IH", "R"), "ɪə": ("IH", "R"), "ɛɹ": ("EH", "R"),
    "eə": ("EH", "R"), "ɛə": ("EH", "R"), "ʊɹ": ("UH", "R"), "ʊə": ("UH", "R"),
    "ɜɹ": ("ER",), "aɪɚ": ("AY", "ER"), "aɪə": ("AY", "ER"), "aʊɚ": ("AW", "ER"),
    "aʊə": ("AW", "ER"), "ɔɪɚ": ("OY", "ER"),
}
_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW",
                     "OY", "UH", "UW"})
_REDUCED = frozenset({"AH0", "IH0", "EH0", "UH0"})


def strip_stress(phones: tuple[str, ...] | list[str]) -> Phones:
    return tuple(p.rstrip("012") for p in phones)


def reduced_key(phones: tuple[str, ...] | list[str]) -> Phones:
    """Stress stripped, and unstressed AH/IH/EH/UH merged: ``jarvis`` == ``jarvus``."""
    return tuple("AX" if p in _REDUCED else p.rstrip("012") for p in phones)


def words_of(text: str) -> list[str]:
    """Lower-case words (letters with inner apostrophes or hyphens) of a text."""
    return _WORD_RE.findall(unicodedata.normalize("NFC", text).lower())


@lru_cache(maxsize=1)
def cmu_dictionary() -> dict[str, list[Phones]]:
    """The CMU pronouncing dictionary shipped inside ``pronouncing`` (word -> pronunciations)."""
    import pronouncing

    pronouncing.init_cmu()
    table: dict[str, list[Phones]] = {}
    for word, phones in pronouncing.pronunciations:
        table.setdefault(word, []).append(tuple(phones.split()))
    return table


def ipa_to_arpabet(tokens: list[str]) -> Phones:
    """Map espeak-ng IPA phonemes (one token per phoneme, stress marks kept) to ARPAbet."""
    out: list[str] = []
    for token in tokens:
        stress = "1" if "ˈ" in token else "2" if "ˌ" in token else "0"
        core = token.replace("ˈ", "").replace("ˌ", "").replace("ː", "").replace("ˑ", "")
        mapped = _IPA.get(core)
        if mapped is None:  # unknown cluster: map greedily, longest symbols first
            mapped, i = (), 0
            while i < len(core):
                for size in (3, 2, 1):
                    if core[i:i + size] in _IPA:
                        mapped += _IPA[core[i:i + size]]
                        i += size
                        break
                else:
                    i += 1
        for p in mapped:
            out.append(p + stress if p in _VOWELS else p)
            stress = "0" if p in _VOWELS else stress
    return tuple(out)


@lru_cache(maxsize=4096)
def espeak_phonemes(text: str, voice: str = "en-us") -> tuple[Phones, ...]:
    """ARPAbet of each word as espeak-ng would say it (empty when espeak is unavailable)."""
    from wakebuilder.errors import WakeBuilderError
    from wakebuilder.synthesis.espeak import EspeakLibrary

    try:
        words = EspeakLibrary.get().text_to_ipa(text, voice)
    except WakeBuilderError:
        return ()
    return tuple(ipa_to_arpabet(w) for w in words)


@lru_cache(maxsize=4096)
def espeak_ipa(text: str, voice: str = "en-us") -> str:
    """espeak-ng's IPA for a text, without stress marks or word breaks."""
    from wakebuilder.errors import WakeBuilderError
    from wakebuilder.synthesis.espeak import EspeakLibrary

    try:
        words = EspeakLibrary.get().text_to_ipa(text, voice)
    except WakeBuilderError:
        return ""
    return "".join("".join(w) for w in words).replace("ˈ", "").replace("ˌ", "")


def word_pronunciations(word: str) -> list[Phones]:
    """CMU pronunciations of a word, else espeak-ng's (joined over its parts)."""
    found = cmu_dictionary().get(word.lower())
    if found:
        return list(found)
    parts = espeak_phonemes(word.lower())
    joined = tuple(p for part in parts for p in part)
    return [joined] if joined else []


def phonemes(text: str) -> list[list[str]]:
    """Every pronunciation of ``text`` (ARPAbet with stress), at most 16 combinations."""
    per_word = [word_pronunciations(w) for w in words_of(text)]
    per_word = [p for p in per_word if p]
    if not per_word:
        return []
    combos = itertools.islice(itertools.product(*per_word), MAX_PRONUNCIATIONS)
    return [[p for part in combo for p in part] for combo in combos]


def pronunciation_keys(text: str) -> set[tuple[str, tuple[str, ...]]]:
    """Comparison keys: stress-stripped and reduced ARPAbet, and espeak's IPA (US, UK)."""
    prons = phonemes(text)
    espeak = tuple(p for part in espeak_phonemes(text) for p in part)
    if espeak:
        prons.append(list(espeak))
    keys = {("arpa", strip_stress(p)) for p in prons} | {("reduced", reduced_key(p))
                                                          for p in prons}
    keys |= {(f"ipa-{v}", (ipa,)) for v in ("en-us", "en") if (ipa := espeak_ipa(text, v))}
    return keys


def is_homophone(a: str, b: str) -> bool:
    """True when any pronunciation of ``a`` equals any of ``b`` (stress ignored)."""
    return bool(pronunciation_keys(a) & pronunciation_keys(b))


def _edit_distance(x: Phones, y: Phones, sub: Callable[[str, str], float],
                   indel: Callable[[str], float]) -> float:
    """Weighted Levenshtein distance (one row of the table at a time)."""
    row = [0.0]
    for py in y:
        row.append(row[-1] + indel(py))
    for px in x:
        prev, row[0] = row[0], row[0] + indel(px)
        for j, py in enumerate(y, 1):
            prev, row[j] = row[j], min(row[j] + indel(px), row[j - 1] + indel(py),
                                       prev + sub(px, py))
    return row[-1]


def phoneme_distance(a: list[str] | tuple[str, ...], b: list[str] | tuple[str, ...]) -> int:
    """Levenshtein distance between two phoneme sequences (stress ignored)."""
    return int(_edit_distance(strip_stress(a), strip_stress(b),
                              lambda x, y: float(x != y), lambda _: 1.0))


# Consonants easily confused for each other: voicing pairs, nasals, liquids, and w/v, th/f,
# dh/v. Substituting within a group costs half an edit.
_CLOSE_CONSONANTS = (frozenset({"P", "B"}), frozenset({"T", "D"}), frozenset({"K", "G"}),
                     frozenset({"F", "V"}), frozenset({"S", "Z"}), frozenset({"TH", "DH"}),
                     frozenset({"SH", "ZH"}), frozenset({"CH", "JH"}),
                     frozenset({"M", "N", "NG"}), frozenset({"L", "R"}),
                     frozenset({"W", "V"}), frozenset({"TH", "F"}), frozenset({"DH", "V"}))


def _substitution_cost(x: str, y: str) -> float:
    if x == y:
        return 0.0
    if (x in _VOWELS and y in _VOWELS) or any(x in g and y in g for g in _CLOSE_CONSONANTS):
        return 0.5
    return 1.0


def _indel_cost(p: str) -> float:
    return 0.5 if p in _VOWELS else 1.0


def confusion_distance(a: list[str] | tuple[str, ...], b: list[str] | tuple[str, ...]
                       ) -> float:
    """Edit distance where vowel-for-vowel and close-consonant swaps, and inserted or
    dropped vowels, cost 0.5.

    Real speakers vary vowels and voicing far more than a dictionary does, so a text at
    confusion distance 1 or less ("athene" for "athena", "view class" for "view glass") is
    what many people *say* when they mean the wake word.
    """
    return _edit_distance(strip_stress(a), strip_stress(b), _substitution_cost, _indel_cost)


def text_distances(a: str, b: str) -> tuple[int, float]:
    """Smallest :func:`phoneme_distance` and smallest :func:`confusion_distance` between any
    pronunciations of two texts (pronunciations looked up once)."""
    pa, pb = phonemes(a), phonemes(b)
    if not pa or not pb:
        longest = max(len(max(pa, key=len, default=[])), len(max(pb, key=len, default=[])))
        return longest, float(longest)
    pairs = [(x, y) for x in pa for y in pb]
    return (min(phoneme_distance(x, y) for x, y in pairs),
            min(confusion_distance(x, y) for x, y in pairs))


def text_distance(a: str, b: str) -> int:
    """Smallest phoneme distance between any pronunciations of two texts."""
    return text_distances(a, b)[0]


def text_confusion_distance(a: str, b: str) -> float:
    """Smallest :func:`confusion_distance` between any pronunciations of two texts."""
    return text_distances(a, b)[1]


def batch_distance(query: Phones, candidates: np.ndarray, symbols: dict[str, int]) -> np.ndarray:
    """Levenshtein distance from ``query`` to every row of an int matrix of equal-length rows."""
    q = [symbols.get(p, -1) for p in strip_stress(query)]
    n, width = candidates.shape
    row = np.tile(np.arange(width + 1), (n, 1))
    for i, qi in enumerate(q, 1):
        best = np.minimum(row[:, :-1] + (candidates != qi), row[:, 1:] + 1)
        new = np.empty_like(row)
        new[:, 0] = i
        for j in range(1, width + 1):
            new[:, j] = np.minimum(best[:, j - 1], new[:, j - 1] + 1)
        row = new
    return row[:, width]

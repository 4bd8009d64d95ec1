"""Hard negatives are close to the wake word and never sound or spell like it."""

from __future__ import annotations

import numpy as np
import pytest

from wakebuilder.synthesis.confusables import (
    MIN_CONFUSION,
    hard_negative_candidates,
    hard_negative_phrases,
    is_acceptable,
    is_homophone,
    max_distance,
    normalise_text,
    phonemes,
)
from wakebuilder.synthesis.pronunciation import (
    confusion_distance,
    ipa_to_arpabet,
    text_confusion_distance,
    text_distance,
)

WAKE_WORDS = ["hey jarvis", "snowboy", "view glass", "athena", "computer"]


@pytest.mark.parametrize("wake_word", WAKE_WORDS)
def test_hard_negatives_are_close_but_never_the_target(wake_word: str) -> None:
    found = hard_negative_candidates(wake_word, rng=np.random.default_rng(0), max_phrases=60)
    assert 20 <= len(found) <= 60
    texts = [h.text for h in found]
    assert len(set(texts)) == len(texts)
    target = normalise_text(wake_word)
    bound = max_distance(min(len(p) for p in phonemes(wake_word)))
    for h in found:
        assert normalise_text(h.text) != target
        assert not is_homophone(h.text, wake_word), h.text
        assert h.distance == text_distance(h.text, wake_word)
        assert h.confusion == text_confusion_distance(h.text, wake_word)
        if h.kind != "partial":
            assert 1 <= h.distance <= bound <= 3, h
            assert h.confusion >= MIN_CONFUSION, h
    assert sum(h.kind == "spelling" for h in found) == 0  # real words suffice for these
    if " " in wake_word:
        assert set(wake_word.split()) <= set(texts)  # partial phrases


def test_known_homophones_and_spellings_are_excluded() -> None:
    texts = set(hard_negative_phrases("hey jarvis", rng=np.random.default_rng(0),
                                      max_phrases=1000))
    assert len(texts) > 50
    for bad in ("hey jarvis", "hey  jarvis", "heyy jarvis", "hey jarviis", "hay jarvis",
                "Hey, Jarvis!", "heyjarvis"):
        assert bad not in texts
        assert normalise_text(bad) == normalise_text("hey jarvis") or is_homophone(
            bad, "hey jarvis")
    assert "snow boy" not in hard_negative_phrases("snowboy", rng=np.random.default_rng(0),
                                                   max_phrases=1000)
    computer = hard_negative_phrases("computer", rng=np.random.default_rng(0), max_phrases=1000)
    assert "come pewter" not in computer and "computers" not in computer
    assert "computing" in computer


def test_pronunciation_variants_are_not_hard_negatives() -> None:
    """Vowel-only and voicing-only changes are how other people say the wake word."""
    cases = {"athena": ("athene", "athina", "athana", "ethena"),
             "view glass": ("view class", "few glass", "hue glass", "vu glass", "view gas"),
             "ok google": ("ok googley", "ok googla"),
             "snowboy": ("snowy boy", "snow joy", "snewboy", "snawboy", "gnowboy"),
             "computer": ("commuter", "compooter")}
    for wake_word, variants in cases.items():
        found = hard_negative_phrases(wake_word, rng=np.random.default_rng(0), max_phrases=1000)
        assert len(found) >= 20
        for v in variants:
            assert v not in found, (wake_word, v)
            assert text_confusion_distance(v, wake_word) < MIN_CONFUSION, v


def test_confusion_distance_weights() -> None:
    assert confusion_distance(("S", "N", "OW"), ("S", "N", "OW")) == 0
    assert confusion_distance(("AH", "TH", "IY"), ("AH", "TH", "AY")) == 0.5  # vowel swap
    assert confusion_distance(("G", "L", "AE", "S"), ("K", "L", "AE", "S")) == 0.5  # voicing
    assert confusion_distance(("B", "OY"), ("JH", "OY")) == 1.0
    assert confusion_distance(("S", "N", "OW"), ("N", "OW")) == 1.0  # consonant dropped
    assert confusion_distance(("AH", "TH", "IY", "N", "AH"), ("AE", "TH", "IY", "N")) == 1.0


def test_is_acceptable_rejects_respellings_homophones_and_containment() -> None:
    for bad in ("hey jarvis", "hey  jarvis", "heyy jarvis", "hey jarviis", "HEY, JARVIS?",
                "hay jarvis", "hey jarvis's", "well hey jarvis", "", "..."):
        assert not is_acceptable(bad, "hey jarvis"), bad
    for bad in ("snow boy", "snowboys", "snoowboy"):
        assert not is_acceptable(bad, "snowboy"), bad
    for good in ("hi jarvis", "hey", "jarvis", "hey marvin"):
        assert is_acceptable(good, "hey jarvis"), good


def test_is_homophone() -> None:
    assert is_homophone("right", "write")
    assert is_homophone("Right!", "rite")
    assert is_homophone("snowboy", "snow boy")
    assert is_homophone("hey jarvis", "hay jarvis")
    assert not is_homophone("right", "light")
    assert not is_homophone("computer", "commuter")


def test_phonemes_cover_dictionary_and_unknown_words() -> None:
    assert phonemes("right") == [["R", "AY1", "T"]]
    assert ["JH", "AA1", "R", "V", "IH0", "S"] in phonemes("Jarvis")
    unknown = phonemes("snowboy")
    assert [p.rstrip("012") for p in unknown[0]] == ["S", "N", "OW", "B", "OY"]
    assert ipa_to_arpabet(["k", "ə", "m", "p", "j", "ˈuː", "ɾ", "ɚ"]) == (
        "K", "AH0", "M", "P", "Y", "UW1", "T", "ER0")
    assert phonemes("...") == []


def test_results_depend_on_rng_only() -> None:
    a = hard_negative_phrases("athena", rng=np.random.default_rng(4))
    b = hard_negative_phrases("athena", rng=np.random.default_rng(4))
    c = hard_negative_phrases("athena", rng=np.random.default_rng(5))
    assert a == b and a != c
    assert hard_negative_phrases("...", rng=np.random.default_rng(0)) == []


def test_without_close_words_only_partial_phrases_remain() -> None:
    rng = np.random.default_rng(0)
    assert sorted(hard_negative_phrases("hey jarvis", rng=rng, close_words=False)) == [
        "hey", "jarvis"]
    assert hard_negative_phrases("snowboy", rng=rng, close_words=False) == []
    assert len(hard_negative_phrases("snowboy", rng=rng, close_words=True)) >= 20

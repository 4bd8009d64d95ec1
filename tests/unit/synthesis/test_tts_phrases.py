"""Prosody variants keep the words; general phrases are varied and avoid the wake word."""

from __future__ import annotations

import numpy as np

from wakebuilder.synthesis.phrases import (
    GENERAL_SENTENCES,
    SHORT_WORDS,
    clean_text,
    general_phrases,
    prosody_variants,
)


def test_prosody_variants_keep_the_words() -> None:
    variants = prosody_variants("Hey  Jarvis")
    assert {"hey jarvis", "hey jarvis!", "hey, jarvis.", "Hey jarvis?", "hey jarvis...",
            "Hey Jarvis!"} <= set(variants)
    assert len(variants) == len(set(variants)) >= 10
    assert {clean_text(v) for v in variants} == {"hey jarvis"}
    single = prosody_variants("computer")
    assert {clean_text(v).removeprefix("um ") for v in single} == {"computer"}
    assert prosody_variants("  ...  ") == []


def test_general_sentences_are_varied() -> None:
    assert len(set(GENERAL_SENTENCES)) == len(GENERAL_SENTENCES) >= 190
    assert len({clean_text(s).split()[0] for s in GENERAL_SENTENCES}) >= 60
    assert len(set(SHORT_WORDS)) >= 60


def test_general_phrases_avoid_the_wake_word() -> None:
    texts = general_phrases(np.random.default_rng(0), 400, exclude=("kitchen", "right"))
    assert len(texts) == 400
    assert not any(" kitchen " in f" {clean_text(t)} " for t in texts)
    assert not any(" right " in f" {clean_text(t)} " for t in texts)
    assert 80 <= sum(t in SHORT_WORDS for t in texts) <= 120
    assert len(set(texts)) > 200

"""synthesize_many spreads clips over engines and voices and counts failures."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from wakebuilder.errors import CancelledError, SynthesisError
from wakebuilder.synthesis.engine import StubEngine
from wakebuilder.synthesis.espeak import EspeakEngine
from wakebuilder.synthesis.generate import plan_clips, synthesize_many
from wakebuilder.synthesis.registry import EngineSet

TEXTS = ["hey jarvis", "hey jarvis!", "hey, jarvis."]


def stub_set(**fail_every: int) -> EngineSet:
    return EngineSet(engines={"a": StubEngine("a", 3, fail_every=fail_every.get("a", 0)),
                              "b": StubEngine("b", 5, fail_every=fail_every.get("b", 0))})


def test_round_robin_spreads_engines_voices_and_texts() -> None:
    calls: list[tuple[int, int]] = []
    result = synthesize_many(TEXTS, stub_set(), 60, np.random.default_rng(0),
                             progress=lambda done, total: calls.append((done, total)))
    assert len(result.clips) == 60
    assert result.counts == {"a": 30, "b": 30} and result.failures == {}
    for engine, n_voices in (("a", 3), ("b", 5)):
        per_voice = Counter(c.voice for c in result.clips if c.engine == engine)
        assert len(per_voice) == n_voices
        assert max(per_voice.values()) - min(per_voice.values()) <= 1
    assert Counter(c.text for c in result.clips).keys() == set(TEXTS)
    assert {c.engine for c in result.clips[:4]} == {"a", "b"}  # engines interleaved
    assert calls[-1] == (60, 60) and len(calls) == 60


def test_weights_split_clips_and_zero_excludes() -> None:
    rng = np.random.default_rng(1)
    plan = plan_clips(TEXTS, stub_set(), 40, rng, weights={"a": 3.0, "b": 1.0})
    assert Counter(p.engine for p in plan) == {"a": 30, "b": 10}
    plan = plan_clips(TEXTS, stub_set(), 7, rng, weights={"a": 1.0})
    assert Counter(p.engine for p in plan) == {"a": 7}


def test_failures_are_counted_and_too_many_raise() -> None:
    result = synthesize_many(TEXTS, stub_set(a=3), 30, np.random.default_rng(0))
    assert result.failures == {"a": 5} and result.counts == {"a": 10, "b": 15}
    assert "stub failure" in result.errors["a"]
    with pytest.raises(SynthesisError) as info:
        synthesize_many(TEXTS, stub_set(a=1, b=2), 20, np.random.default_rng(0))
    assert info.value.details["failures"] == {"a": 10, "b": 5}
    assert info.value.details["stage"] == "synthesis"


def test_cancel_stops_early() -> None:
    seen: list[int] = []
    with pytest.raises(CancelledError):
        synthesize_many(TEXTS, stub_set(), 50, np.random.default_rng(0),
                        should_cancel=lambda: len(seen) >= 5,
                        progress=lambda done, _total: seen.append(done))
    assert len(seen) == 5


def test_no_engine_raises_with_reasons() -> None:
    with pytest.raises(SynthesisError) as info:
        synthesize_many(TEXTS, EngineSet(unavailable={"flite": "missing"}), 5,
                        np.random.default_rng(0))
    assert info.value.details["unavailable"] == {"flite": "missing"}


def test_english_only_filters_voices_and_threads_agree() -> None:
    engines = EngineSet(engines={"espeak": EspeakEngine()})
    english = plan_clips(["hello"], engines, 2000, np.random.default_rng(0))
    assert all(p.voice.split("+")[0].startswith("en") for p in english)
    every = plan_clips(["hello"], engines, 2000, np.random.default_rng(0), english_only=False)
    assert any(p.voice.startswith("de") for p in every)
    serial = synthesize_many(TEXTS, engines, 24, np.random.default_rng(3))
    threaded = synthesize_many(TEXTS, engines, 24, np.random.default_rng(3), workers=3)
    assert [(c.voice, c.text) for c in serial.clips] == [(c.voice, c.text)
                                                         for c in threaded.clips]
    assert len({c.voice for c in serial.clips}) == 24

"""The shared negative-store fixture: the real generated corpus, split four ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import seed_negative_store
from wakebuilder.layout import DataLayout
from wakebuilder.negstore import generated
from wakebuilder.negstore.kinds import GENERATED_SOURCE
from wakebuilder.negstore.source import open_negatives
from wakebuilder.negstore.splits import HELDOUT, SPLITS, VALIDATION
from wakebuilder.negstore.store import NegativeStore

pytestmark = pytest.mark.slow


def test_generated_corpus_has_four_splits(negative_store_template: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    data = seed_negative_store(negative_store_template, tmp_path / "data")
    template = NegativeStore(DataLayout(negative_store_template).negative_store_dir)
    monkeypatch.setattr(generated, "synthesize_many", _refuse)  # the copy is complete
    neg = open_negatives(DataLayout(data), rng=np.random.default_rng(0), use_real=False)
    assert {e.source for e in neg.entries()} == {GENERATED_SOURCE}
    assert {e.split for e in neg.entries()} == set(SPLITS)
    held = neg.heldout_streams_by_kind()
    assert {"noise", "music"} <= set(held)
    assert neg.heldout_sources and all(s.startswith("generated:") for s in neg.heldout_sources)
    assert 0 < neg.heldout_hours < 0.3 * neg.hours()
    assert neg.sample_windows(64, np.random.default_rng(1), split=VALIDATION).shape[0] == 64
    # the copy is independent of the template
    neg.store.clear()
    assert template.entries(HELDOUT) and not NegativeStore(neg.store.root).entries()


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("the seeded store must not synthesise the generated corpus again")

"""The generated corpus after a cancel: committed streams stay, the next build adds the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wakebuilder.audio.format import FRAME_SAMPLES
from wakebuilder.errors import CancelledError
from wakebuilder.features.frontend import EMBEDDING_DIM
from wakebuilder.layout import DataLayout
from wakebuilder.negstore import generated as negatives
from wakebuilder.negstore.store import NegativeStore
from wakebuilder.synthesis.registry import EngineSet


def embed(samples: np.ndarray) -> np.ndarray:
    return np.full((len(samples) // FRAME_SAMPLES, EMBEDDING_DIM), 0.5, np.float32)


def test_cancelled_generated_corpus_resumes(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(negatives, "load_engines", lambda *a, **k: EngineSet())  # no TTS
    monkeypatch.setattr(negatives, "NOISE_SECONDS", 2.0)
    store = NegativeStore(tmp_path / "neg", embedder=embed)
    paths = DataLayout(tmp_path)
    total = len(negatives.NOISE_KINDS) + negatives.MUSIC_STREAMS
    checks = iter([False] * 5 + [True])  # cancel before the sixth stream
    with pytest.raises(CancelledError):
        negatives.add_generated(store, paths, should_cancel=lambda: next(checks))
    names = [e.name for e in NegativeStore(store.root, embedder=embed).entries()]
    assert len(names) == 5  # committed, complete entries
    first = {e.name: e.offset for e in store.entries()}
    report = negatives.add_generated(store, paths)
    assert report.get("generated") != "present"  # the old check stopped at any stream
    entries = store.entries()
    assert len(entries) == total and len({e.name for e in entries}) == total
    assert all(first[e.name] == e.offset for e in entries if e.name in first)  # not redone
    assert negatives.add_generated(store, paths) == {"generated": "present"}

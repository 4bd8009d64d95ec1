"""Hard-negative mining returns the top-k windows, above the minimum score."""

from __future__ import annotations

import numpy as np
import pytest

from wakebuilder.errors import CancelledError
from wakebuilder.training.mining import mine_top_k


def _score(x: np.ndarray) -> np.ndarray:
    return x[:, 0, 0].astype(np.float32)  # a window scores its first frame's first value


def _streams(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    streams = [rng.uniform(0, 1, (n, 96)).astype(np.float32) for n in (40, 16, 200, 9)]
    return streams


def _brute_force(streams: list[np.ndarray], k: int, stride: int, min_score: float) -> list:
    scores = [float(s[i, 0]) for s in streams if len(s) >= 16
              for i in range(0, len(s) - 15, stride)]
    return sorted(v for v in scores if v > min_score)[-k:]


@pytest.mark.parametrize(("k", "stride", "min_score"), [(10, 1, 0.05), (25, 2, 0.05),
                                                        (3, 3, 0.9), (1000, 1, 0.0)])
def test_returns_the_top_k(k: int, stride: int, min_score: float) -> None:
    streams = _streams()
    mined = mine_top_k(_score, streams, k, stride=stride, min_score=min_score)
    expected = _brute_force(streams, k, stride, min_score)
    assert mined.shape[1:] == (16, 96) and mined.dtype == np.float32
    assert sorted(_score(mined).tolist()) == pytest.approx(expected)


def test_windows_are_real_stream_windows() -> None:
    streams = _streams(1)
    mined = mine_top_k(_score, streams, 5, stride=1, min_score=0.0)
    for w in mined:
        assert any(np.array_equal(w, s[i:i + 16]) for s in streams
                   for i in range(len(s) - 15))


def test_nothing_above_min_score_and_k_zero() -> None:
    quiet = [np.full((50, 96), 0.01, np.float32)]
    assert len(mine_top_k(_score, quiet, 10, min_score=0.05)) == 0
    assert len(mine_top_k(_score, _streams(), 0)) == 0


def test_cancel() -> None:
    with pytest.raises(CancelledError):
        mine_top_k(_score, _streams(), 5, should_cancel=lambda: True)


def test_small_batches_and_cuts_match_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    from wakebuilder.training import mining

    monkeypatch.setattr(mining, "CHUNK_WINDOWS", 7)  # many batches, many cut-backs
    rng = np.random.default_rng(3)
    streams = [rng.uniform(0, 1, (int(n), 96)).astype(np.float32)
               for n in rng.integers(10, 60, 40)]
    calls: list[int] = []

    def score(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return _score(x)

    mined = mine_top_k(score, streams, 6, stride=1, min_score=0.05)
    assert sorted(_score(mined).tolist()) == pytest.approx(_brute_force(streams, 6, 1, 0.05))
    assert max(calls) < 7 + 60  # a batch is at most one stream's windows past the chunk size

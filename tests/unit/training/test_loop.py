"""The training loop's batches and its early-stopping bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from wakebuilder.training.config import fast_config
from wakebuilder.training.loop import TrainingData, classification_metrics, draw_batch

W = (16, 96)


def _data(n_pos: int = 20, n_hard: int = 10, calls: list[int] | None = None) -> TrainingData:
    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        if calls is not None:
            calls.append(n)
        return np.full((n, *W), -1.0, np.float32)

    return TrainingData(
        positives=np.ones((n_pos, *W), np.float32),
        positive_weights=np.full(n_pos, 2.0, np.float32),
        hard_negatives=np.full((n_hard, *W), 0.5, np.float32),
        sample_negatives=sample, val_x=np.zeros((2, *W), np.float32),
        val_y=np.array([0.0, 1.0], np.float32))


@pytest.mark.parametrize(("batch", "ratio", "hard"), [(128, 4.0, 0.3), (32, 6.0, 0.0),
                                                      (64, 1.0, 1.0), (100, 3.0, 0.5)])
def test_batch_ratios(batch: int, ratio: float, hard: float) -> None:
    cfg = fast_config(batch_size=batch, negative_ratio=ratio, hard_negative_ratio=hard)
    calls: list[int] = []
    x, y, w = draw_batch(_data(calls=calls), cfg, np.random.default_rng(0))
    n_pos = round(batch / (1 + ratio))
    n_hard = round((batch - n_pos) * hard)
    assert x.shape == (batch, *W) and y.shape == w.shape == (batch,)
    assert int(y.sum()) == n_pos == int(np.sum(x[:, 0, 0] == 1.0))
    assert int(np.sum(x[:, 0, 0] == 0.5)) == n_hard
    assert int(np.sum(x[:, 0, 0] == -1.0)) == batch - n_pos - n_hard
    assert sum(calls) == batch - n_pos - n_hard
    assert np.all(w[y == 1] == 2.0) and np.all(w[y == 0] == 1.0)  # user weight on positives


def test_no_hard_negatives_means_general_ones() -> None:
    cfg = fast_config(batch_size=64, negative_ratio=3.0, hard_negative_ratio=0.5)
    x, y, _ = draw_batch(_data(n_hard=0), cfg, np.random.default_rng(1))
    assert int(np.sum(x[:, 0, 0] == -1.0)) == 64 - int(y.sum())


def test_classification_metrics() -> None:
    probs = np.array([0.9, 0.8, 0.2, 0.6, 0.1], np.float32)
    truth = np.array([1, 1, 1, 0, 0], np.float32)
    acc, prec, rec, f1 = classification_metrics(probs, truth)
    assert acc == pytest.approx(3 / 5) and prec == pytest.approx(2 / 3)
    assert rec == pytest.approx(2 / 3) and f1 == pytest.approx(2 / 3)
    assert classification_metrics(np.zeros(0, np.float32), np.zeros(0, np.float32)) == (
        0.0, 0.0, 0.0, 0.0)

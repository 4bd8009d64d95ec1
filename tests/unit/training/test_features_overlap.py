"""The training job's feature extraction overlaps augmentation with embedding: the windows
must be exactly those of the plain sequential loop, with progress and cancellation intact."""

from __future__ import annotations

import numpy as np
import pytest

from wakebuilder.augment.bank import BackgroundBank
from wakebuilder.errors import CancelledError
from wakebuilder.features.frontend import get_frontend
from wakebuilder.training import data as D


def _clips(rng: np.random.Generator) -> list[np.ndarray]:
    t = np.arange(12000) / 16000
    return [(0.3 * np.sin(2 * np.pi * f * t) * np.hanning(len(t))
             + 0.01 * rng.standard_normal(len(t))).astype(np.float32) for f in (220, 330, 440)]


def _sequential(fe: object, clips: list[np.ndarray], n: int, rng: np.random.Generator,
                aug: D.Augmenters, batch: int) -> np.ndarray:
    order = np.resize(rng.permutation(len(clips)), n)
    parts = []
    for start in range(0, n, batch):
        streams = [D.make_stream(clips[i], rng, aug) for i in order[start:start + batch]]
        parts.append(D.stream_windows(fe, streams))  # type: ignore[arg-type]
    return np.concatenate(parts)


def test_overlapped_windows_equal_sequential() -> None:
    fe = get_frontend(2)
    clips = _clips(np.random.default_rng(1))
    aug = D.Augmenters.default(BackgroundBank.generated(np.random.default_rng(2), seconds=4.0))
    want = _sequential(fe, clips, 23, np.random.default_rng(7), aug, batch=5)
    seen: list[int] = []
    rng = np.random.default_rng(7)
    got = D.windows_from_clips(fe, clips, 23, rng, aug, batch=5, progress=seen.append)
    assert got.shape == (46, 16, 96)
    assert np.array_equal(got, want)
    assert seen == [5, 10, 15, 20, 23]
    # the generator was left where the sequential loop leaves it
    assert rng.random() == pytest.approx(_after(clips, aug))


def _after(clips: list[np.ndarray], aug: D.Augmenters) -> float:
    rng = np.random.default_rng(7)
    order = np.resize(rng.permutation(len(clips)), 23)
    for i in order:
        D.make_stream(clips[i], rng, aug)
    return float(rng.random())


def test_cancel_stops_between_batches() -> None:
    fe = get_frontend(1)
    clips = _clips(np.random.default_rng(1))
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(CancelledError):
        D.windows_from_clips(fe, clips, 40, np.random.default_rng(0), None, batch=4,
                             should_cancel=cancel)
    assert len(calls) == 3

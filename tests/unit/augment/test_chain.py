import numpy as np
import pytest

from wakebuilder.augment import (
    AugmentChain,
    BackgroundBank,
    GainDb,
    default_negative_chain,
    default_positive_chain,
    place_in_window,
)

from .conftest import chirp


def test_default_chains(bank: BackgroundBank) -> None:
    x = chirp()
    for make in (default_positive_chain, default_negative_chain):
        chain = make(bank)
        for seed in range(5):
            out = chain(x, np.random.default_rng(seed))
            assert out.dtype == np.float32 and out.ndim == 1
            assert 0.8 * x.size < out.size < 1.25 * x.size  # speed changes the length
            assert np.max(np.abs(out)) <= 0.99 + 1e-6
            assert np.all(np.isfinite(out))


def test_chain_reproducible(bank: BackgroundBank) -> None:
    chain = default_positive_chain(bank)
    a = chain(chirp(), np.random.default_rng(42))
    b = chain(chirp(), np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)


def test_peak_limit() -> None:
    chain = AugmentChain([GainDb(min_gain_db=20, max_gain_db=20)], peak_limit=0.5)
    out = chain(chirp(), np.random.default_rng(0))
    assert np.max(np.abs(out)) == pytest.approx(0.5)
    loud = AugmentChain([GainDb(min_gain_db=20, max_gain_db=20)], peak_limit=None)
    assert np.max(np.abs(loud(chirp(), np.random.default_rng(0)))) > 1


def test_chain_validation() -> None:
    with pytest.raises(ValueError, match="Transform"):
        AugmentChain([lambda x, rng: x])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="peak_limit"):
        AugmentChain([], peak_limit=0)


def test_place_in_window_end_position() -> None:
    clip = np.ones(1000, dtype=np.float32)
    out = place_in_window(clip, window_samples=5000, end_offset_samples=300,
                          rng=np.random.default_rng(0))
    assert out.dtype == np.float32 and out.shape == (5000,)
    np.testing.assert_array_equal(np.flatnonzero(out), np.arange(3700, 4700))


def test_place_in_window_long_clip_keeps_end() -> None:
    clip = np.arange(1, 6001, dtype=np.float32)
    out = place_in_window(clip, window_samples=5000, end_offset_samples=100,
                          rng=np.random.default_rng(0))
    assert out[4899] == 6000 and out[0] == 6000 - 4899
    assert np.all(out[4900:] == 0)


def test_place_in_window_background() -> None:
    background = np.full(700, 0.25, dtype=np.float32)
    clip = np.ones(100, dtype=np.float32)
    out = place_in_window(clip, window_samples=2000, end_offset_samples=0,
                          rng=np.random.default_rng(0), background=background)
    np.testing.assert_allclose(out[:1900], 0.25)
    np.testing.assert_allclose(out[1900:], 1.25)


def test_place_in_window_validation() -> None:
    clip = np.ones(10, dtype=np.float32)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="end_offset_samples"):
        place_in_window(clip, window_samples=100, end_offset_samples=100, rng=rng)
    with pytest.raises(ValueError, match="window_samples"):
        place_in_window(clip, window_samples=0, end_offset_samples=0, rng=rng)
    with pytest.raises(ValueError, match="background"):
        place_in_window(clip, window_samples=100, end_offset_samples=0, rng=rng,
                        background=np.zeros(0, dtype=np.float32))

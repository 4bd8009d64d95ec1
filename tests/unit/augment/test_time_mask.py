import numpy as np
import pytest

from wakebuilder.augment import TimeMask


def test_masks_one_stretch() -> None:
    x = np.ones(16000, dtype=np.float32)
    transform = TimeMask(min_fraction=0.1, max_fraction=0.1, p=1)
    out = transform(x, np.random.default_rng(0))
    assert out.dtype == np.float32 and out.shape == x.shape
    zeros = np.flatnonzero(out == 0)
    assert 1600 - 2 * 80 <= zeros.size <= 1600
    assert zeros[-1] - zeros[0] == zeros.size - 1  # contiguous


def test_reproducible() -> None:
    x = np.ones(8000, dtype=np.float32)
    a = TimeMask(p=1)(x, np.random.default_rng(3))
    b = TimeMask(p=1)(x, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_validation() -> None:
    with pytest.raises(ValueError, match="min_fraction must not be greater"):
        TimeMask(min_fraction=0.5, max_fraction=0.1)
    with pytest.raises(ValueError):
        TimeMask(max_fraction=1.5)

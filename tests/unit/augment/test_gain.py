import numpy as np
import pytest

from wakebuilder.audio.format import rms_db
from wakebuilder.augment import GainDb

from .conftest import tone


def test_gain_within_range_and_float32() -> None:
    x = tone(440)
    transform = GainDb(min_gain_db=-6, max_gain_db=3)
    for seed in range(10):
        out = transform(x, np.random.default_rng(seed))
        assert out.dtype == np.float32 and out.shape == x.shape
        change = rms_db(out) - rms_db(x)
        assert -6 - 1e-3 <= change <= 3 + 1e-3
        assert change == pytest.approx(transform.parameters["gain_db"], abs=1e-3)


def test_reproducible() -> None:
    x = tone(440)
    a = GainDb()(x, np.random.default_rng(5))
    b = GainDb()(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_validation() -> None:
    with pytest.raises(ValueError, match="min_gain_db must not be greater than max_gain_db"):
        GainDb(min_gain_db=6, max_gain_db=-6)

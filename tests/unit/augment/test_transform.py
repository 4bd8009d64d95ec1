import numpy as np
import pytest

from wakebuilder.augment import GainDb
from wakebuilder.augment.transform import Transform, check_samples

from .conftest import tone


def test_p_validation() -> None:
    with pytest.raises(ValueError, match="p must be between 0 and 1"):
        GainDb(p=1.5)
    with pytest.raises(ValueError):
        GainDb(p=-0.1)


def test_shape_and_dtype_checks() -> None:
    with pytest.raises(ValueError, match="mono"):
        check_samples(np.zeros((2, 100), dtype=np.float32))
    with pytest.raises(ValueError, match="to_float32"):
        check_samples(np.zeros(100, dtype=np.int16))


def test_float64_in_float32_out() -> None:
    out = GainDb(min_gain_db=3, max_gain_db=3)(tone(440).astype(np.float64),
                                               np.random.default_rng(0))
    assert out.dtype == np.float32


def test_p_zero_returns_input_unchanged() -> None:
    x = tone(440)
    out = GainDb(p=0.0)(x, np.random.default_rng(0))
    np.testing.assert_array_equal(out, x)


def test_empty_input() -> None:
    out = GainDb()(np.zeros(0, dtype=np.float32), np.random.default_rng(0))
    assert out.shape == (0,) and out.dtype == np.float32


def test_freeze_reuses_the_draw() -> None:
    transform = GainDb(min_gain_db=-20, max_gain_db=20)
    with pytest.raises(RuntimeError):
        transform.freeze_parameters()
    x = tone(440)
    first = transform(x, np.random.default_rng(1))
    transform.freeze_parameters()
    np.testing.assert_array_equal(transform(x, np.random.default_rng(2)), first)
    transform.unfreeze_parameters()
    assert not np.array_equal(transform(x, np.random.default_rng(2)), first)


def test_repr_shows_arguments() -> None:
    assert repr(GainDb(min_gain_db=-3, max_gain_db=3, p=0.5)) == (
        "GainDb(min_gain_db=-3.0, max_gain_db=3.0, p=0.5)")


def test_base_apply_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Transform()(tone(440), np.random.default_rng(0))

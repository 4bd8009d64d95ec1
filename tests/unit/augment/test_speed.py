import numpy as np
import pytest

from wakebuilder.augment import SpeedPerturb

from .conftest import peak_frequency, tone


@pytest.mark.parametrize("factor", [0.85, 1.0, 1.15])
def test_duration_and_pitch_scale_by_factor(factor: float) -> None:
    x = tone(400)
    out = SpeedPerturb(min_factor=factor, max_factor=factor)(x, np.random.default_rng(0))
    assert out.dtype == np.float32
    assert abs(out.size - x.size / factor) <= 2
    assert peak_frequency(out[500:-500]) == pytest.approx(400 * factor, rel=2e-3)


def test_reproducible() -> None:
    x = tone(300)
    a = SpeedPerturb()(x, np.random.default_rng(3))
    b = SpeedPerturb()(x, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_validation() -> None:
    with pytest.raises(ValueError, match="must not be greater"):
        SpeedPerturb(min_factor=1.2, max_factor=0.9)
    with pytest.raises(ValueError):
        SpeedPerturb(min_factor=0.0, max_factor=1.0)

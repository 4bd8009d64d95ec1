import numpy as np
import pytest

from wakebuilder.audio.format import SAMPLE_RATE
from wakebuilder.augment import Reverb
from wakebuilder.augment.reverb import room_impulse_response

from .conftest import chirp


def _burst() -> np.ndarray:
    x = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)
    x[1000:2600] = 0.3 * np.random.default_rng(1).standard_normal(1600)
    return x


def _tail_db(rt60_s: float) -> float:
    x = _burst()
    transform = Reverb(min_rt60_s=rt60_s, max_rt60_s=rt60_s, min_drr_db=5, max_drr_db=5, p=1)
    ratios = []
    for seed in range(4):
        out = transform(x, np.random.default_rng(seed))
        ratios.append(np.sum(out[2800:] ** 2) / np.sum(out**2))
    return float(10 * np.log10(np.mean(ratios)))


def test_tail_energy_grows_with_rt60() -> None:
    tails = [_tail_db(rt60) for rt60 in (0.1, 0.3, 0.8)]
    assert tails[0] < tails[1] < tails[2]
    assert tails[2] - tails[0] > 6


@pytest.mark.parametrize("rt60_s", [0.2, 0.6])
def test_impulse_response_decay_and_drr(rt60_s: float) -> None:
    ir = room_impulse_response(rt60_s, 8.0, np.random.default_rng(2))
    assert ir[0] == 1.0 and ir.dtype == np.float32
    assert 10 * np.log10(1.0 / np.sum(ir[1:].astype(np.float64) ** 2)) == pytest.approx(8.0,
                                                                                     abs=0.01)
    energy = np.cumsum(ir[1:].astype(np.float64)[::-1] ** 2)[::-1]
    decay_db = 10 * np.log10(energy / energy[0])
    t5, t25 = np.argmax(decay_db < -5), np.argmax(decay_db < -25)
    assert 3 * (t25 - t5) / SAMPLE_RATE == pytest.approx(rt60_s, rel=0.3)


def test_length_level_and_reproducible() -> None:
    x = chirp()
    a = Reverb(p=1)(x, np.random.default_rng(7))
    b = Reverb(p=1)(x, np.random.default_rng(7))
    assert a.dtype == np.float32 and a.shape == x.shape
    np.testing.assert_array_equal(a, b)
    assert np.mean(a**2) == pytest.approx(np.mean(x**2), rel=1e-3)


def test_validation() -> None:
    with pytest.raises(ValueError, match="min_rt60_s must not be greater"):
        Reverb(min_rt60_s=0.9, max_rt60_s=0.1)
    with pytest.raises(ValueError, match="min_drr_db must not be greater"):
        Reverb(min_drr_db=10, max_drr_db=0)
    with pytest.raises(ValueError):
        Reverb(min_rt60_s=0.0)

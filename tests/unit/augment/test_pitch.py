import numpy as np
import pytest

from wakebuilder.augment import PitchShift
from wakebuilder.augment.pitch import time_stretch

from .conftest import chirp, peak_frequency, tone


@pytest.mark.parametrize("semitones", [-3.0, -1.0, 2.0, 4.0])
def test_tone_moves_by_ratio_and_keeps_duration(semitones: float) -> None:
    x = tone(300)
    transform = PitchShift(min_semitones=semitones, max_semitones=semitones)
    out = transform(x, np.random.default_rng(0))
    assert out.dtype == np.float32
    assert abs(out.size - x.size) <= 0.02 * x.size
    ratio = 2 ** (semitones / 12)
    assert peak_frequency(out[2000:-2000]) == pytest.approx(300 * ratio, rel=3e-3)
    # WSOLA keeps the level of a steady tone
    assert np.sqrt(np.mean(out[2000:-2000] ** 2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.05)


def test_time_stretch_lengths() -> None:
    x = chirp()
    for n_out in (1000, x.size // 2, x.size * 2):
        out = time_stretch(x, n_out)
        assert out.size == n_out and out.dtype == np.float32
    assert time_stretch(np.zeros(0, dtype=np.float32), 10).size == 10


def test_reproducible() -> None:
    x = chirp()
    a = PitchShift()(x, np.random.default_rng(9))
    b = PitchShift()(x, np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)


def test_validation() -> None:
    with pytest.raises(ValueError, match="min_semitones must not be greater"):
        PitchShift(min_semitones=2, max_semitones=-2)
    with pytest.raises(ValueError):
        PitchShift(min_semitones=-20, max_semitones=0)

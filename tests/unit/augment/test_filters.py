import numpy as np
import pytest

from wakebuilder.audio.format import SAMPLE_RATE
from wakebuilder.augment import MicResponse
from wakebuilder.augment.filters import response_db


def _white() -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal(SAMPLE_RATE)).astype(np.float32)


def _band_power(x: np.ndarray, low_hz: float, high_hz: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / SAMPLE_RATE)
    return float(np.mean(spec[(freqs >= low_hz) & (freqs < high_hz)]))


def test_telephone_band() -> None:
    x = _white()
    out = MicResponse(telephone_probability=1.0, max_shelf_db=0, max_peak_db=0, p=1)(
        x, np.random.default_rng(0))
    assert out.dtype == np.float32 and out.shape == x.shape
    mid = _band_power(out, 800, 2000)
    assert _band_power(out, 20, 120) < mid * 10 ** (-20 / 10)
    assert _band_power(out, 6000, 8000) < mid * 10 ** (-30 / 10)


def test_response_stays_within_bounds() -> None:
    transform = MicResponse(max_shelf_db=6, max_peak_db=6, telephone_probability=0, p=1)
    freqs = np.array([1000.0, 2000.0])
    for seed in range(20):
        transform(_white()[:1000], np.random.default_rng(seed))
        gains = response_db(freqs, transform.parameters)
        assert np.all(np.abs(gains) < 13)


def test_reproducible() -> None:
    x = _white()
    a = MicResponse(p=1)(x, np.random.default_rng(5))
    b = MicResponse(p=1)(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_validation() -> None:
    with pytest.raises(ValueError, match="min_highpass_hz must not be greater"):
        MicResponse(min_highpass_hz=300, max_highpass_hz=100)
    with pytest.raises(ValueError, match="max_highpass_hz must not be greater"):
        MicResponse(max_highpass_hz=4000, min_lowpass_hz=3000)
    with pytest.raises(ValueError):
        MicResponse(max_lowpass_hz=9000)
    with pytest.raises(ValueError):
        MicResponse(telephone_probability=2)

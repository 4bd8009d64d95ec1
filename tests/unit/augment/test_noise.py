import numpy as np
import pytest

from wakebuilder.audio.format import SAMPLE_RATE, rms_db
from wakebuilder.augment import NOISE_KINDS, generate_noise
from wakebuilder.augment.noise import NOISE_RMS_DB, babble, band_noise, hum


def _band_power(x: np.ndarray, low_hz: float, high_hz: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / SAMPLE_RATE)
    return float(np.sum(spec[(freqs >= low_hz) & (freqs < high_hz)]))


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_every_kind(kind: str) -> None:
    x = generate_noise(kind, SAMPLE_RATE, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.shape == (SAMPLE_RATE,)
    assert rms_db(x) == pytest.approx(NOISE_RMS_DB, abs=0.01)
    again = generate_noise(kind, SAMPLE_RATE, np.random.default_rng(0))
    np.testing.assert_array_equal(x, again)


def test_colours_tilt_downwards() -> None:
    rng = np.random.default_rng(1)
    tilts = []
    for kind in ("white", "pink", "brown"):
        x = generate_noise(kind, SAMPLE_RATE, rng)
        # power per octave: 250-500 Hz against 4-8 kHz
        tilts.append(_band_power(x, 250, 500) / _band_power(x, 4000, 8000))
    assert tilts[0] < 0.1 < tilts[1] < tilts[2]


def test_band_noise_stays_in_band() -> None:
    x = band_noise(SAMPLE_RATE, np.random.default_rng(2), low_hz=1000, high_hz=2000)
    assert _band_power(x, 1000, 2000) > 0.999 * _band_power(x, 0, 8001)


def test_hum_fundamental() -> None:
    x = hum(SAMPLE_RATE, np.random.default_rng(3), base_hz=60)
    assert _band_power(x, 55, 65) > _band_power(x, 100, 8001) * 0.5


def test_babble_uses_given_speech() -> None:
    speech = [np.sin(2 * np.pi * 700 * np.arange(4000) / SAMPLE_RATE).astype(np.float32)]
    x = babble(SAMPLE_RATE, np.random.default_rng(4), speech=speech, n_talkers=3)
    assert _band_power(x, 690, 710) > 0.9 * _band_power(x, 0, 8001)


def test_validation() -> None:
    with pytest.raises(ValueError, match="unknown noise kind"):
        generate_noise("purple", 100, np.random.default_rng(0))

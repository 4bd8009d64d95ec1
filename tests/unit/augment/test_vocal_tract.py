import numpy as np
import pytest

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.augment import VocalTractWarp

from .conftest import chirp


def _formant_and_fundamental(samples: Samples) -> tuple[float, float]:
    spec = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)
    band = (freqs > 300) & (freqs < 2000)
    centroid = float(np.sum(freqs[band] * spec[band]) / np.sum(spec[band]))
    strongest = freqs[int(np.argmax(spec))]
    return centroid, float(strongest)


@pytest.mark.parametrize("factor", [0.85, 1.15])
def test_formant_moves_and_harmonics_stay(speech_like: Samples, factor: float) -> None:
    transform = VocalTractWarp(min_factor=factor, max_factor=factor)
    out = transform(speech_like, np.random.default_rng(0))
    assert out.dtype == np.float32 and out.shape == speech_like.shape
    before, _ = _formant_and_fundamental(speech_like)
    after, strongest = _formant_and_fundamental(out)
    assert after / before == pytest.approx(factor, rel=0.04)
    # the strongest partial is still a harmonic of 120 Hz: pitch is kept
    assert abs(strongest / 120 - round(strongest / 120)) < 0.05


def test_level_kept_and_reproducible() -> None:
    x = chirp()
    a = VocalTractWarp()(x, np.random.default_rng(4))
    b = VocalTractWarp()(x, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert np.mean(a**2) == pytest.approx(np.mean(x**2), rel=1e-3)


def test_validation() -> None:
    with pytest.raises(ValueError, match="min_factor must not be greater"):
        VocalTractWarp(min_factor=1.1, max_factor=0.9)
    with pytest.raises(ValueError):
        VocalTractWarp(min_factor=0.1, max_factor=1.0)

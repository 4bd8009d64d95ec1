import numpy as np
import pytest

from wakebuilder.augment import Codec
from wakebuilder.augment.codec import mulaw_quantize

from .conftest import tone


def test_mulaw_error_shrinks_with_bits() -> None:
    x = tone(440)
    errors = [np.sqrt(np.mean((mulaw_quantize(x, bits) - x) ** 2)) for bits in (4, 6, 8)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.01


def test_narrowband_removes_high_frequencies() -> None:
    x = tone(6000) + tone(1000)
    out = Codec(modes=["narrowband"], p=1)(x, np.random.default_rng(0))
    assert out.dtype == np.float32 and out.shape == x.shape
    spec = np.abs(np.fft.rfft(out[1000:-1000]))
    freqs = np.fft.rfftfreq(out.size - 2000, 1 / 16000)
    assert spec[np.argmin(np.abs(freqs - 6000))] < 1e-3 * spec[np.argmin(np.abs(freqs - 1000))]


def test_g711_and_reproducible() -> None:
    x = tone(440)
    a = Codec(modes=["g711"], p=1)(x, np.random.default_rng(1))
    b = Codec(modes=["g711"], p=1)(x, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert np.corrcoef(a, x)[0, 1] > 0.99


def test_validation() -> None:
    with pytest.raises(ValueError, match="modes"):
        Codec(modes=["mp3"])
    with pytest.raises(ValueError, match="modes"):
        Codec(modes=[])
    with pytest.raises(ValueError, match="min_bits must not be greater"):
        Codec(min_bits=8, max_bits=4)

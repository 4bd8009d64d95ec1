import numpy as np
import pytest

from wakebuilder.audio.format import SAMPLE_RATE, rms_db
from wakebuilder.augment import generate_music
from wakebuilder.augment.music import MUSIC_RMS_DB


def _flatness(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2 + 1e-20
    return float(np.exp(np.mean(np.log(spec))) / np.mean(spec))


def test_music_shape_level_and_reproducible() -> None:
    x = generate_music(3 * SAMPLE_RATE, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.shape == (3 * SAMPLE_RATE,)
    assert rms_db(x) == pytest.approx(MUSIC_RMS_DB, abs=0.01)
    np.testing.assert_array_equal(x, generate_music(3 * SAMPLE_RATE, np.random.default_rng(0)))
    assert not np.array_equal(x, generate_music(3 * SAMPLE_RATE, np.random.default_rng(1)))


def test_music_is_tonal() -> None:
    noise = np.random.default_rng(0).standard_normal(2 * SAMPLE_RATE)
    for seed in range(3):
        music = generate_music(2 * SAMPLE_RATE, np.random.default_rng(seed))
        assert _flatness(music) < 0.1 * _flatness(noise)


def test_short_output() -> None:
    assert generate_music(10, np.random.default_rng(0)).shape == (10,)

import numpy as np
import pytest

from wakebuilder.audio.format import SAMPLE_RATE
from wakebuilder.augment import AddBackground, BackgroundBank
from wakebuilder.augment.level import snr_db

from .conftest import tone


def _word_in_silence() -> np.ndarray:
    x = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)
    x[8000:16000] = tone(500, seconds=0.5)
    return x


@pytest.mark.parametrize("snr", [0.0, 7.5, 20.0])
def test_snr_measured_on_active_part(bank: BackgroundBank, snr: float) -> None:
    x = _word_in_silence()
    transform = AddBackground(bank, min_snr_db=snr, max_snr_db=snr, p=1)
    for seed in range(6):
        out = transform(x, np.random.default_rng(seed))
        assert out.dtype == np.float32 and out.shape == x.shape
        noise = (out - x)[8000:16000].astype(np.float64)
        measured = 10 * np.log10(np.mean(x[8000:16000] ** 2) / np.mean(noise**2))
        assert measured == pytest.approx(snr, abs=1.0)


def test_snr_helper_agrees() -> None:
    x = _word_in_silence()
    bank = BackgroundBank({"noise": [np.random.default_rng(0).standard_normal(SAMPLE_RATE)
                                     .astype(np.float32)]})
    out = AddBackground(bank, min_snr_db=5, max_snr_db=5, p=1)(x, np.random.default_rng(1))
    assert snr_db(x, out - x) == pytest.approx(5.0, abs=0.01)


def test_silent_foreground_gets_background_level(bank: BackgroundBank) -> None:
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    out = AddBackground(bank, silent_rms_db=-30, p=1)(silence, np.random.default_rng(0))
    assert 10 * np.log10(np.mean(out.astype(np.float64) ** 2)) == pytest.approx(-30, abs=0.01)


def test_reproducible(bank: BackgroundBank) -> None:
    x = _word_in_silence()
    a = AddBackground(bank, p=1)(x, np.random.default_rng(11))
    b = AddBackground(bank, p=1)(x, np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)


def test_validation(bank: BackgroundBank) -> None:
    with pytest.raises(ValueError, match="min_snr_db must not be greater than max_snr_db"):
        AddBackground(bank, min_snr_db=20, max_snr_db=0)
    with pytest.raises(ValueError, match="BackgroundBank"):
        AddBackground([np.zeros(100, dtype=np.float32)])  # type: ignore[arg-type]

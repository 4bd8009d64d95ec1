import numpy as np
import pytest

from wakebuilder.augment import BackgroundBank


def test_generated_bank(bank: BackgroundBank) -> None:
    assert set(bank.kinds) == {"noise", "music"}
    assert len(bank) == 6 + 2
    x = bank.sample(24000, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.shape == (24000,)
    assert np.std(x) > 0


def test_short_signal_loops() -> None:
    ramp = np.linspace(0, 1, 1000, endpoint=False, dtype=np.float32)
    bank = BackgroundBank({"real": [ramp]})
    x = bank.sample(3500, np.random.default_rng(1))
    assert x.shape == (3500,)
    np.testing.assert_array_equal(x[:1000], x[1000:2000])


def test_kinds_picked_evenly_and_by_name() -> None:
    bank = BackgroundBank({"a": [np.full(500, 0.1, np.float32)] * 50,
                           "b": [np.full(500, -0.1, np.float32)]})
    rng = np.random.default_rng(2)
    picks = [bank.sample(10, rng)[0] > 0 for _ in range(400)]
    assert 0.4 < np.mean(picks) < 0.6
    assert np.all(bank.sample(10, rng, kind="b") < 0)


def test_extra_signals_and_reproducible() -> None:
    extra = {"real": [np.ones(1000, dtype=np.float32)]}
    a = BackgroundBank.generated(np.random.default_rng(3), seconds=0.5, n_music=1, extra=extra)
    b = BackgroundBank.generated(np.random.default_rng(3), seconds=0.5, n_music=1, extra=extra)
    assert a.kinds == ["noise", "music", "real"]
    np.testing.assert_array_equal(a.sample(5000, np.random.default_rng(4)),
                                  b.sample(5000, np.random.default_rng(4)))


def test_validation() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BackgroundBank({})
    with pytest.raises(ValueError, match="at least 160 samples"):
        BackgroundBank({"noise": [np.zeros(10, dtype=np.float32)]})
    with pytest.raises(ValueError, match="mono"):
        BackgroundBank({"noise": [np.zeros((2, 1000), dtype=np.float32)]})
    bank = BackgroundBank({"noise": [np.zeros(1000, dtype=np.float32)]})
    with pytest.raises(ValueError, match="unknown background kind"):
        bank.sample(10, np.random.default_rng(0), kind="music")
    with pytest.raises(ValueError):
        bank.sample(-1, np.random.default_rng(0))
    with pytest.raises(ValueError):
        BackgroundBank.generated(np.random.default_rng(0), seconds=0)

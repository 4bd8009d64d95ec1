"""AddBackground: mix a background from a BackgroundBank at a random SNR."""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.augment.bank import BackgroundBank
from wakebuilder.augment.level import active_mask, power
from wakebuilder.augment.transform import Parameters, Transform, check_range, draw_seed


class AddBackground(Transform):
    """Add a background slice at an SNR drawn uniformly in ``[min_snr_db, max_snr_db]``.

    The SNR is measured over the active part of the foreground (20 ms frames within 40 dB of
    its loudest frame), background power taken over the same frames, so silence padding
    around a word does not change how loud the noise is under it. A silent foreground gets
    the background at ``silent_rms_db``.
    """

    def __init__(self, bank: BackgroundBank, *, min_snr_db: float = 0.0,
                 max_snr_db: float = 20.0, silent_rms_db: float = -40.0,
                 p: float = 0.8) -> None:
        """
        :param bank: where backgrounds come from (noise, music, real recordings).
        :param min_snr_db: lowest signal-to-noise ratio in dB (loudest background).
        :param max_snr_db: highest signal-to-noise ratio in dB.
        :param silent_rms_db: background level in dBFS when the foreground is silent.
        :param p: probability of applying.
        """
        super().__init__(p=p)
        if not isinstance(bank, BackgroundBank):
            raise ValueError(f"bank must be a BackgroundBank, got {type(bank).__name__}")
        check_range("min_snr_db", min_snr_db, "max_snr_db", max_snr_db)
        self.bank = bank
        self.min_snr_db = float(min_snr_db)
        self.max_snr_db = float(max_snr_db)
        self.silent_rms_db = float(silent_rms_db)

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        return {"snr_db": float(rng.uniform(self.min_snr_db, self.max_snr_db)),
                "seed": draw_seed(rng)}

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        background = self.bank.sample(samples.size, np.random.default_rng(parameters["seed"]))
        mask = active_mask(samples)
        fg_power = power(samples, mask)
        bg_power = power(background)
        if fg_power > 0 and power(background, mask) > 1e-3 * bg_power:
            bg_power = power(background, mask)
        if bg_power <= 0:
            return samples
        if fg_power > 0:
            target = fg_power / 10.0 ** (parameters["snr_db"] / 10.0)
        else:
            target = 10.0 ** (self.silent_rms_db / 10.0)
        return (samples + background * np.float32(np.sqrt(target / bg_power))).astype(np.float32)

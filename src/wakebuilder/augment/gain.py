"""GainDb: multiply by a random gain drawn uniformly in decibels."""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.augment.transform import Parameters, Transform, check_range


class GainDb(Transform):
    """Change the level by a gain drawn uniformly in ``[min_gain_db, max_gain_db]``."""

    def __init__(self, *, min_gain_db: float = -12.0, max_gain_db: float = 6.0,
                 p: float = 1.0) -> None:
        """
        :param min_gain_db: lowest gain in dB.
        :param max_gain_db: highest gain in dB.
        :param p: probability of applying.
        """
        super().__init__(p=p)
        check_range("min_gain_db", min_gain_db, "max_gain_db", max_gain_db)
        self.min_gain_db = float(min_gain_db)
        self.max_gain_db = float(max_gain_db)

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        return {"gain_db": float(rng.uniform(self.min_gain_db, self.max_gain_db))}

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        return samples * np.float32(10.0 ** (parameters["gain_db"] / 20.0))

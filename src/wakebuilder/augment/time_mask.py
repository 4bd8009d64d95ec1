"""TimeMask: silence a short random stretch (a dropout), with 5 ms fades."""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.augment.transform import Parameters, Transform, check_range

FADE_SAMPLES = SAMPLE_RATE // 200


class TimeMask(Transform):
    """Zero a stretch of ``min_fraction``..``max_fraction`` of the clip at a random place.

    Meant for negatives and robustness; masking a positive can remove the wake word.
    """

    def __init__(self, *, min_fraction: float = 0.02, max_fraction: float = 0.1,
                 p: float = 0.2) -> None:
        """
        :param min_fraction: shortest mask as a fraction of the clip length.
        :param max_fraction: longest mask as a fraction of the clip length (at most 1).
        :param p: probability of applying.
        """
        super().__init__(p=p)
        if min_fraction < 0 or max_fraction > 1:
            raise ValueError("mask fractions must lie between 0 and 1")
        check_range("min_fraction", min_fraction, "max_fraction", max_fraction)
        self.min_fraction = float(min_fraction)
        self.max_fraction = float(max_fraction)

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        length = int(rng.uniform(self.min_fraction, self.max_fraction) * samples.size)
        return {"start": int(rng.integers(0, samples.size - length + 1)), "length": length}

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        start, length = parameters["start"], parameters["length"]
        gain = np.ones(samples.size, dtype=np.float32)
        gain[start:start + length] = 0.0
        fade = min(FADE_SAMPLES, length // 2)
        if fade:
            ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
            gain[start:start + fade] = ramp
            gain[start + length - fade:start + length] = ramp[::-1]
        return samples * gain

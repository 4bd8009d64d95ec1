"""SpeedPerturb: play faster or slower (tempo and pitch change together), via soxr."""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.audio.io import resample
from wakebuilder.augment.transform import Parameters, Transform, check_range


def change_speed(samples: Samples, factor: float) -> Samples:
    """Resample so the signal plays ``factor`` times faster: ``len / factor`` samples long."""
    return resample(samples, int(round(SAMPLE_RATE * factor)), SAMPLE_RATE)


class SpeedPerturb(Transform):
    """Speed perturbation (Kaldi style): duration divided and pitch multiplied by a factor."""

    def __init__(self, *, min_factor: float = 0.85, max_factor: float = 1.15,
                 p: float = 1.0) -> None:
        """
        :param min_factor: lowest speed factor (0.85 = 15 % slower, longer, lower).
        :param max_factor: highest speed factor (1.15 = 15 % faster, shorter, higher).
        :param p: probability of applying.
        """
        super().__init__(p=p)
        if not 0.25 <= min_factor <= 4.0 or not 0.25 <= max_factor <= 4.0:
            raise ValueError("speed factors must lie between 0.25 and 4")
        check_range("min_factor", min_factor, "max_factor", max_factor)
        self.min_factor = float(min_factor)
        self.max_factor = float(max_factor)

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        return {"factor": float(rng.uniform(self.min_factor, self.max_factor))}

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        return change_speed(samples, parameters["factor"])

"""PitchShift: change pitch by semitones, keeping the duration.

Method: resample (pitch and tempo scale by the ratio), then time-stretch back to the
original length with WSOLA (waveform-similarity overlap-add), which keeps the pitch.
"""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.augment.speed import change_speed
from wakebuilder.augment.transform import Parameters, Transform, check_range

WSOLA_FRAME_SAMPLES = 512
"""Frame of 32 ms: several pitch periods of any voice."""
WSOLA_TOLERANCE_SAMPLES = 128
"""Search range of +-8 ms: half a period of a 62.5 Hz voice."""


def time_stretch(samples: Samples, out_samples: int, *,
                 frame_samples: int = WSOLA_FRAME_SAMPLES,
                 tolerance_samples: int = WSOLA_TOLERANCE_SAMPLES) -> Samples:
    """Stretch ``samples`` to ``out_samples`` samples without changing the pitch (WSOLA)."""
    n_in = samples.size
    if n_in == 0 or out_samples <= 0:
        return np.zeros(max(out_samples, 0), dtype=np.float32)
    frame, tol = frame_samples, tolerance_samples
    synthesis_hop = frame // 2
    analysis_hop = synthesis_hop * n_in / out_samples
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)).astype(np.float32)
    n_frames = out_samples // synthesis_hop + 2
    # Input and output are indexed with an offset so frames may start before time zero.
    offset = frame // 2 + tol
    last_nominal = int(round((n_frames - 1) * analysis_hop))
    padded = np.zeros(offset + max(n_in, last_nominal) + frame + 2 * tol + synthesis_hop,
                      dtype=np.float32)
    padded[offset:offset + n_in] = samples
    out = np.zeros(n_frames * synthesis_hop + frame, dtype=np.float32)
    norm = np.zeros_like(out)
    prev = -1
    for k in range(n_frames):
        nominal = offset - frame // 2 + int(round(k * analysis_hop))
        if prev < 0:
            pos = nominal
        else:
            natural = padded[prev + synthesis_hop:prev + synthesis_hop + frame]
            region = padded[nominal - tol:nominal + tol + frame]
            pos = nominal - tol + int(np.argmax(np.correlate(region, natural, mode="valid")))
        start = k * synthesis_hop
        out[start:start + frame] += window * padded[pos:pos + frame]
        norm[start:start + frame] += window
        prev = pos
    out /= np.maximum(norm, 1e-3)
    return out[frame // 2:frame // 2 + out_samples]


def shift_pitch(samples: Samples, semitones: float) -> Samples:
    """Shift the pitch by ``semitones`` and return exactly ``len(samples)`` samples."""
    ratio = 2.0 ** (semitones / 12.0)
    return time_stretch(change_speed(samples, ratio), samples.size)


class PitchShift(Transform):
    """Shift the pitch by a uniform number of semitones; the duration is unchanged."""

    def __init__(self, *, min_semitones: float = -3.0, max_semitones: float = 3.0,
                 p: float = 1.0) -> None:
        """
        :param min_semitones: lowest shift (negative is lower).
        :param max_semitones: highest shift.
        :param p: probability of applying.
        """
        super().__init__(p=p)
        if max(abs(min_semitones), abs(max_semitones)) > 12:
            raise ValueError("pitch shifts beyond 12 semitones are not supported")
        check_range("min_semitones", min_semitones, "max_semitones", max_semitones)
        self.min_semitones = float(min_semitones)
        self.max_semitones = float(max_semitones)

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        return {"semitones": float(rng.uniform(self.min_semitones, self.max_semitones))}

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        return shift_pitch(samples, parameters["semitones"])

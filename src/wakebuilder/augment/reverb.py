"""Reverb: convolve with a synthetic room impulse response (numpy FFT convolution).

The impulse response is a direct path, a few early reflections (2-40 ms, random signs and
levels) and a diffuse tail of noise in three bands (below 500 Hz, 500-4000 Hz, above 4 kHz)
each decaying exponentially so it falls 60 dB in ``rt60_s`` (x1.1, x1, x0.5: air and walls
absorb high frequencies faster). Early reflections plus tail are scaled so the
direct-to-reverberant energy ratio is ``drr_db``.
"""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.augment.transform import Parameters, Transform, check_range, draw_seed

_BANDS_HZ = ((0.0, 500.0, 1.1), (500.0, 4000.0, 1.0), (4000.0, SAMPLE_RATE / 2 + 1, 0.5))


def room_impulse_response(rt60_s: float, drr_db: float, rng: np.random.Generator) -> Samples:
    """A synthetic room impulse response at 16 kHz, direct path of amplitude 1 at sample 0."""
    n = int((rt60_s * 1.1 + 0.05) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    white = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    onset = 1.0 - np.exp(-t / rng.uniform(0.003, 0.015))
    tail = np.zeros(n)
    for low_hz, high_hz, rt60_scale in _BANDS_HZ:
        band = np.fft.irfft(np.where((freqs >= low_hz) & (freqs < high_hz), white, 0), n=n)
        tail += band * np.exp(-3.0 * np.log(10) * t / (rt60_s * rt60_scale))
    tail *= onset
    early = np.zeros(n)
    n_early = int(rng.integers(4, 13))
    delays = (rng.uniform(0.002, 0.040, n_early) * SAMPLE_RATE).astype(int)
    decay = np.exp(-3.0 * np.log(10) * delays / SAMPLE_RATE / rt60_s)
    levels = decay * rng.uniform(0.3, 1.0, n_early) * rng.choice([-1.0, 1.0], n_early)
    np.add.at(early, delays, levels)
    early_energy = float(np.sum(early**2))
    tail *= np.sqrt(early_energy / max(float(np.sum(tail**2)), 1e-12)) * rng.uniform(1.0, 3.0)
    reverberant = early + tail
    reverberant[0] = 0.0
    reverberant *= np.sqrt(10.0 ** (-drr_db / 10.0) / max(float(np.sum(reverberant**2)), 1e-12))
    reverberant[0] = 1.0
    return reverberant.astype(np.float32)


def fft_convolve(samples: Samples, impulse_response: Samples) -> Samples:
    """Linear convolution, truncated to ``len(samples)`` (the tail past the end is dropped)."""
    size = samples.size + impulse_response.size - 1
    n_fft = 1 << (size - 1).bit_length()
    spec = np.fft.rfft(samples, n_fft) * np.fft.rfft(impulse_response, n_fft)
    return np.fft.irfft(spec, n_fft)[:samples.size].astype(np.float32)


class Reverb(Transform):
    """Add room reverberation; the output keeps the input's length and RMS level."""

    def __init__(self, *, min_rt60_s: float = 0.1, max_rt60_s: float = 0.9,
                 min_drr_db: float = 0.0, max_drr_db: float = 15.0, p: float = 0.5) -> None:
        """
        :param min_rt60_s: shortest reverberation time (60 dB decay) in seconds.
        :param max_rt60_s: longest reverberation time in seconds (at most 3).
        :param min_drr_db: lowest direct-to-reverberant energy ratio in dB (far talker).
        :param max_drr_db: highest direct-to-reverberant ratio in dB (close talker).
        :param p: probability of applying.
        """
        super().__init__(p=p)
        if min_rt60_s <= 0 or max_rt60_s > 3.0:
            raise ValueError("rt60 must lie in (0, 3] seconds")
        check_range("min_rt60_s", min_rt60_s, "max_rt60_s", max_rt60_s)
        check_range("min_drr_db", min_drr_db, "max_drr_db", max_drr_db)
        self.min_rt60_s = float(min_rt60_s)
        self.max_rt60_s = float(max_rt60_s)
        self.min_drr_db = float(min_drr_db)
        self.max_drr_db = float(max_drr_db)

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        return {"rt60_s": float(rng.uniform(self.min_rt60_s, self.max_rt60_s)),
                "drr_db": float(rng.uniform(self.min_drr_db, self.max_drr_db)),
                "seed": draw_seed(rng)}

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        ir = room_impulse_response(parameters["rt60_s"], parameters["drr_db"],
                                   np.random.default_rng(parameters["seed"]))
        out = fft_convolve(samples, ir)
        in_power = float(np.mean(np.square(samples, dtype=np.float64)))
        out_power = float(np.mean(np.square(out, dtype=np.float64)))
        if out_power > 0:
            out *= np.float32(np.sqrt(in_power / out_power))
        return out

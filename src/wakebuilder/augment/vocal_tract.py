"""VocalTractWarp: move formants (vocal-tract length) while keeping pitch.

Method (STFT, numpy only): for each 64 ms frame the log magnitude is split by cepstral
liftering into a smooth spectral envelope (the first ``LIFTER_COEFFS`` quefrencies, 1.5 ms,
shorter than any pitch period) and a fine structure (harmonics, i.e. pitch). Only the
envelope is warped along the frequency axis, ``E'(f) = E(f / factor)``, so factor 1.15
raises every formant by 15 % (a shorter vocal tract) while the harmonics stay put. The new
magnitude keeps the original phase and is resynthesised by weighted overlap-add.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wakebuilder.audio.format import Samples
from wakebuilder.augment.transform import Parameters, Transform, check_range

FFT_SAMPLES = 1024
HOP_SAMPLES = 256
LIFTER_COEFFS = 24


def _window() -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FFT_SAMPLES) / FFT_SAMPLES)


def warp_envelope(samples: Samples, factor: float) -> Samples:
    """Scale the spectral envelope's frequency axis by ``factor``; same length out."""
    n = samples.size
    win = _window()
    padded = np.concatenate([np.zeros(FFT_SAMPLES), samples.astype(np.float64),
                             np.zeros(FFT_SAMPLES + HOP_SAMPLES)])
    frames = sliding_window_view(padded, FFT_SAMPLES)[::HOP_SAMPLES] * win
    spec = np.fft.rfft(frames, axis=1)
    log_mag = np.log(np.abs(spec) + 1e-9)
    cep = np.fft.irfft(log_mag, n=FFT_SAMPLES, axis=1)
    cep[:, LIFTER_COEFFS:FFT_SAMPLES - LIFTER_COEFFS + 1] = 0.0
    envelope = np.fft.rfft(cep, axis=1).real
    source = np.clip(np.arange(envelope.shape[1]) / factor, 0, envelope.shape[1] - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, envelope.shape[1] - 1)
    frac = source - low
    warped = envelope[:, low] * (1 - frac) + envelope[:, high] * frac
    new_spec = spec * np.exp(warped - envelope)
    out_frames = np.fft.irfft(new_spec, n=FFT_SAMPLES, axis=1) * win
    out = np.zeros(padded.size)
    norm = np.zeros(padded.size)
    for i, frame in enumerate(out_frames):
        start = i * HOP_SAMPLES
        out[start:start + FFT_SAMPLES] += frame
        norm[start:start + FFT_SAMPLES] += win * win
    out = out[FFT_SAMPLES:FFT_SAMPLES + n] / np.maximum(norm[FFT_SAMPLES:FFT_SAMPLES + n], 1e-3)
    return out.astype(np.float32)


class VocalTractWarp(Transform):
    """Warp formants by a uniform factor, keeping pitch and duration (see module docs)."""

    def __init__(self, *, min_factor: float = 0.85, max_factor: float = 1.15,
                 p: float = 1.0) -> None:
        """
        :param min_factor: lowest formant scale (below 1: longer tract, deeper voice).
        :param max_factor: highest formant scale (above 1: shorter tract, e.g. a child).
        :param p: probability of applying.
        """
        super().__init__(p=p)
        if not 0.5 <= min_factor <= 2.0 or not 0.5 <= max_factor <= 2.0:
            raise ValueError("warp factors must lie between 0.5 and 2")
        check_range("min_factor", min_factor, "max_factor", max_factor)
        self.min_factor = float(min_factor)
        self.max_factor = float(max_factor)

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        return {"factor": float(rng.uniform(self.min_factor, self.max_factor))}

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        out = warp_envelope(samples, parameters["factor"])
        in_power = float(np.mean(np.square(samples, dtype=np.float64)))
        out_power = float(np.mean(np.square(out, dtype=np.float64)))
        if out_power > 0:
            out *= np.float32(np.sqrt(in_power / out_power))
        return out

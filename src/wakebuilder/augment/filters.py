"""MicResponse: a random microphone / loudspeaker / telephone frequency response.

The response is a zero-phase magnitude curve applied in the frequency domain: a 2nd-order
high-pass, a 4th-order low-pass (Butterworth magnitudes; 10th order for telephone), a low
shelf and a high shelf (smooth steps in log frequency) and one presence peak or dip. With
probability ``telephone_probability`` the band is the telephone's 300-3400 Hz instead.
"""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.augment.transform import Parameters, Transform, check_range


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def response_db(freqs_hz: np.ndarray, parameters: Parameters) -> np.ndarray:
    """Magnitude response in dB of the filter described by ``parameters``."""
    f = np.maximum(freqs_hz, 1.0)
    octaves = np.log2
    gain = -10 * np.log10(1 + (parameters["highpass_hz"] / f) ** 4)
    gain -= 10 * np.log10(1 + (f / parameters["lowpass_hz"]) ** (2 * parameters["lowpass_order"]))
    gain += parameters["low_shelf_db"] / (1 + np.exp(3 * octaves(f / 250.0)))
    gain += parameters["high_shelf_db"] / (1 + np.exp(-3 * octaves(f / 4000.0)))
    gain += parameters["peak_db"] * np.exp(-0.5 * (octaves(f / parameters["peak_hz"]) / 0.5) ** 2)
    return np.asarray(gain)


def apply_response(samples: Samples, parameters: Parameters) -> Samples:
    """Filter with :func:`response_db` (zero phase, zero padded against wrap-around)."""
    n_fft = 1 << (samples.size + 2048 - 1).bit_length()
    freqs = np.fft.rfftfreq(n_fft, 1 / SAMPLE_RATE)
    spec = np.fft.rfft(samples, n_fft) * 10 ** (response_db(freqs, parameters) / 20)
    return np.fft.irfft(spec, n_fft)[:samples.size].astype(np.float32)


class MicResponse(Transform):
    """Colour the signal like a random microphone, speaker or telephone channel."""

    def __init__(self, *, min_highpass_hz: float = 40.0, max_highpass_hz: float = 400.0,
                 min_lowpass_hz: float = 3500.0, max_lowpass_hz: float = 7900.0,
                 max_shelf_db: float = 6.0, max_peak_db: float = 6.0,
                 telephone_probability: float = 0.15, p: float = 0.5) -> None:
        """
        :param min_highpass_hz: lowest high-pass cut-off.
        :param max_highpass_hz: highest high-pass cut-off.
        :param min_lowpass_hz: lowest low-pass cut-off.
        :param max_lowpass_hz: highest low-pass cut-off (below 8000).
        :param max_shelf_db: low and high shelf gains are drawn in +-max_shelf_db.
        :param max_peak_db: presence peak/dip gain (300-5000 Hz) drawn in +-max_peak_db.
        :param telephone_probability: chance of a 300-3400 Hz telephone band instead.
        :param p: probability of applying.
        """
        super().__init__(p=p)
        if min_highpass_hz <= 0 or max_lowpass_hz >= SAMPLE_RATE / 2:
            raise ValueError("cut-offs must lie between 0 and 8000 Hz")
        check_range("min_highpass_hz", min_highpass_hz, "max_highpass_hz", max_highpass_hz)
        check_range("min_lowpass_hz", min_lowpass_hz, "max_lowpass_hz", max_lowpass_hz)
        check_range("max_highpass_hz", max_highpass_hz, "min_lowpass_hz", min_lowpass_hz)
        if max_shelf_db < 0 or max_peak_db < 0:
            raise ValueError("max_shelf_db and max_peak_db must not be negative")
        if not 0 <= telephone_probability <= 1:
            raise ValueError("telephone_probability must be between 0 and 1")
        self.min_highpass_hz, self.max_highpass_hz = float(min_highpass_hz), float(max_highpass_hz)
        self.min_lowpass_hz, self.max_lowpass_hz = float(min_lowpass_hz), float(max_lowpass_hz)
        self.max_shelf_db, self.max_peak_db = float(max_shelf_db), float(max_peak_db)
        self.telephone_probability = float(telephone_probability)

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        telephone = bool(rng.random() < self.telephone_probability)
        return {
            "highpass_hz": 300.0 if telephone else _log_uniform(rng, self.min_highpass_hz,
                                                                 self.max_highpass_hz),
            "lowpass_hz": 3400.0 if telephone else _log_uniform(rng, self.min_lowpass_hz,
                                                                 self.max_lowpass_hz),
            "lowpass_order": 10 if telephone else 4,
            "low_shelf_db": float(rng.uniform(-self.max_shelf_db, self.max_shelf_db)),
            "high_shelf_db": float(rng.uniform(-self.max_shelf_db, self.max_shelf_db)),
            "peak_db": float(rng.uniform(-self.max_peak_db, self.max_peak_db)),
            "peak_hz": _log_uniform(rng, 300.0, 5000.0),
        }

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        return apply_response(samples, parameters)

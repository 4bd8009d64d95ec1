"""Codec: degrade like a low-quality channel (mu-law quantisation, 8 kHz narrowband)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.audio.io import resample
from wakebuilder.augment.transform import Parameters, Transform, check_range

CODEC_MODES = ("mulaw", "narrowband", "g711")
NARROWBAND_RATE = 8_000
_MU = 255.0


def mulaw_quantize(samples: Samples, bits: int) -> Samples:
    """Mu-law compand, quantise to ``bits`` bits and expand (clips to [-1, 1])."""
    x = np.clip(samples.astype(np.float64), -1.0, 1.0)
    companded = np.sign(x) * np.log1p(_MU * np.abs(x)) / np.log1p(_MU)
    levels = 2 ** (bits - 1)
    quantized = np.round(companded * levels) / levels
    expanded = np.sign(quantized) * np.expm1(np.abs(quantized) * np.log1p(_MU)) / _MU
    return np.asarray(expanded, dtype=np.float32)


def narrowband(samples: Samples) -> Samples:
    """Down to 8 kHz and back: nothing above 4 kHz survives; same length out."""
    out = resample(resample(samples, SAMPLE_RATE, NARROWBAND_RATE), NARROWBAND_RATE)
    fixed = np.zeros(samples.size, dtype=np.float32)
    fixed[:min(out.size, samples.size)] = out[:samples.size]
    return fixed


class Codec(Transform):
    """One of ``modes`` per call: "mulaw" (min_bits..max_bits), "narrowband", "g711" (both)."""

    def __init__(self, *, modes: Sequence[str] = CODEC_MODES, min_bits: int = 6,
                 max_bits: int = 8, p: float = 0.1) -> None:
        """
        :param modes: the degradations to choose from uniformly.
        :param min_bits: fewest mu-law bits (coarsest).
        :param max_bits: most mu-law bits ("g711" always uses 8).
        :param p: probability of applying.
        """
        super().__init__(p=p)
        unknown = [m for m in modes if m not in CODEC_MODES]
        if not modes or unknown:
            raise ValueError(f"modes must be a non-empty subset of {CODEC_MODES}, got {modes}")
        if not 2 <= min_bits <= 16 or not 2 <= max_bits <= 16:
            raise ValueError("bits must lie between 2 and 16")
        check_range("min_bits", min_bits, "max_bits", max_bits)
        self.modes = tuple(modes)
        self.min_bits = int(min_bits)
        self.max_bits = int(max_bits)

    def randomize_parameters(self, samples: Samples, rng: np.random.Generator) -> Parameters:
        return {"mode": self.modes[int(rng.integers(len(self.modes)))],
                "bits": int(rng.integers(self.min_bits, self.max_bits + 1))}

    def apply(self, samples: Samples, parameters: Parameters) -> Samples:
        mode = parameters["mode"]
        if mode == "mulaw":
            return mulaw_quantize(samples, parameters["bits"])
        out = narrowband(samples)
        return mulaw_quantize(out, 8) if mode == "g711" else out

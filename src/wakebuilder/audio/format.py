"""Format facts shared by every module: 16 kHz mono float32 samples in [-1, 1]."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
"""Sample rate of every signal inside the package."""
FRAME_SAMPLES = 1_280
"""Samples per streaming frame (80 ms): one embedding per frame."""
FRAME_MS = FRAME_SAMPLES * 1000 // SAMPLE_RATE
INT16_SCALE = 32_768.0

Samples = npt.NDArray[np.float32]


def to_float32(pcm16: npt.NDArray[np.int16] | bytes) -> Samples:
    """Convert int16 PCM (array or little-endian bytes) to float32 in [-1, 1]."""
    arr = np.frombuffer(pcm16, dtype="<i2") if isinstance(pcm16, bytes | bytearray) else pcm16
    return (np.asarray(arr, dtype=np.float32) / INT16_SCALE).astype(np.float32)


def to_int16(samples: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Convert float samples in [-1, 1] to int16 PCM, clipping out-of-range values."""
    arr = np.clip(np.asarray(samples, dtype=np.float32) * INT16_SCALE, -32768, 32767)
    return np.round(arr).astype(np.int16)


def seconds(samples: npt.ArrayLike, sample_rate: int = SAMPLE_RATE) -> float:
    """Duration in seconds of a 1-D signal."""
    return float(np.asarray(samples).shape[-1]) / sample_rate


def rms_db(samples: npt.ArrayLike) -> float:
    """RMS level in dBFS (-120 for silence)."""
    arr = np.asarray(samples, dtype=np.float64)
    rms = float(np.sqrt(np.mean(arr * arr))) if arr.size else 0.0
    return 20.0 * np.log10(max(rms, 1e-6))

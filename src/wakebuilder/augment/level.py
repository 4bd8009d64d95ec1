"""Signal levels measured on the active (non-silent) part of a signal."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from wakebuilder.audio.format import Samples

Floats = npt.NDArray[np.floating[Any]]

ACTIVE_FRAME_SAMPLES = 320
"""20 ms frames for activity detection."""
ACTIVE_RANGE_DB = 40.0
"""Frames more than this far below the loudest frame count as silence."""
ACTIVE_FLOOR_DB = -70.0
"""Frames below this level (dBFS) count as silence whatever the loudest frame is."""


def active_mask(samples: Floats) -> npt.NDArray[np.bool_]:
    """Per-sample mask of the 20 ms frames within 40 dB of the loudest one (and above -70 dBFS)."""
    n = samples.size
    n_frames = -(-n // ACTIVE_FRAME_SAMPLES)
    padded = np.zeros(n_frames * ACTIVE_FRAME_SAMPLES)
    padded[:n] = samples
    sizes = np.full(n_frames, ACTIVE_FRAME_SAMPLES)
    if n_frames:
        sizes[-1] = n - (n_frames - 1) * ACTIVE_FRAME_SAMPLES
    power = np.sum(padded.reshape(n_frames, -1) ** 2, axis=1) / sizes
    power_db = 10.0 * np.log10(np.maximum(power, 1e-20))
    loudest = power_db.max() if n_frames else -200.0
    active = (power_db > loudest - ACTIVE_RANGE_DB) & (power_db > ACTIVE_FLOOR_DB)
    return np.repeat(active, ACTIVE_FRAME_SAMPLES)[:n]


def power(samples: Floats, mask: npt.NDArray[np.bool_] | None = None) -> float:
    """Mean power of ``samples`` (over ``mask`` when given); 0 for nothing."""
    data = samples if mask is None else samples[mask]
    return float(np.mean(np.square(data, dtype=np.float64))) if data.size else 0.0


def snr_db(foreground: Floats, background: Floats) -> float:
    """SNR in dB over the active part of ``foreground`` (same-length signals)."""
    mask = active_mask(foreground)
    ratio = max(power(foreground, mask), 1e-20) / max(power(background, mask), 1e-20)
    return float(10.0 * np.log10(ratio))


def scale_to_rms_db(samples: Floats, target_rms_db: float) -> Samples:
    """Scale to an RMS level in dBFS (silence stays silence)."""
    current = power(samples)
    if current <= 0:
        return samples.astype(np.float32)
    gain = 10.0 ** (target_rms_db / 20.0) / np.sqrt(current)
    return np.asarray(samples * gain, dtype=np.float32)

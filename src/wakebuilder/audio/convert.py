"""Streaming conversion of raw PCM at any rate, width and channel count to 16 kHz mono float32.

State (the resampler's filter memory and a partial sample at a chunk boundary) is kept between
calls, so the result does not depend on how the audio was cut into chunks.
"""

from __future__ import annotations

import numpy as np
import soxr

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.errors import InvalidInputError

SAMPLE_WIDTHS = (1, 2, 4)
"""Bytes per sample accepted: unsigned 8-bit, signed 16-bit and signed 32-bit little-endian."""
MIN_RATE, MAX_RATE = 4_000, 192_000
MAX_CHANNELS = 8

_DTYPES = {1: np.dtype("u1"), 2: np.dtype("<i2"), 4: np.dtype("<i4")}
_SCALES = {1: 128.0, 2: 32_768.0, 4: 2_147_483_648.0}


class Resampler:
    """Streaming resampler to 16 kHz that keeps its state between chunks."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._soxr = (None if sample_rate == SAMPLE_RATE else
                      soxr.ResampleStream(sample_rate, SAMPLE_RATE, 1, dtype=np.float32,
                                          quality="HQ"))

    def push(self, samples: Samples) -> Samples:
        """Resampled output available so far (soxr holds back a few ms of filter delay)."""
        if self._soxr is None:
            return samples
        return np.asarray(self._soxr.resample_chunk(samples), dtype=np.float32)

    def flush(self) -> Samples:
        """The held-back tail (call before switching to another rate)."""
        if self._soxr is None:
            return np.zeros(0, np.float32)
        return np.asarray(self._soxr.resample_chunk(np.zeros(0, np.float32), last=True),
                          dtype=np.float32)


def check_format(rate: object, width: object, channels: object) -> tuple[int, int, int]:
    """Validate a PCM format; raises :class:`InvalidInputError` saying what is accepted."""
    for name, value in (("rate", rate), ("width", width), ("channels", channels)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInputError(f"audio {name} must be an integer, got {value!r}",
                                    {"field": name, "reason": "type"})
    assert isinstance(rate, int) and isinstance(width, int) and isinstance(channels, int)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidInputError(f"audio rate {rate} Hz is not supported: use {MIN_RATE}-"
                                f"{MAX_RATE} Hz", {"field": "rate", "reason": "range"})
    if width not in SAMPLE_WIDTHS:
        raise InvalidInputError(f"audio width {width} is not supported: use 1 (8-bit), 2 "
                                "(16-bit) or 4 (32-bit) bytes per sample",
                                {"field": "width", "reason": "range"})
    if not 1 <= channels <= MAX_CHANNELS:
        raise InvalidInputError(f"audio channels {channels} is not supported: use 1-"
                                f"{MAX_CHANNELS}", {"field": "channels", "reason": "range"})
    return rate, width, channels


def pcm_to_mono(pcm: bytes, width: int, channels: int) -> Samples:
    """Whole frames of interleaved PCM to float32 mono in [-1, 1] (mean of the channels)."""
    arr = np.frombuffer(pcm, dtype=_DTYPES[width]).astype(np.float32)
    if width == 1:
        arr -= 128.0
    arr /= _SCALES[width]
    if channels > 1:
        arr = arr.reshape(-1, channels).mean(axis=1)
    return arr.astype(np.float32, copy=False)


class PcmConverter:
    """Raw PCM chunks in any supported format -> 16 kHz mono float32, streaming.

    A chunk may end inside a sample frame (the remainder waits for the next chunk); the format
    may change between chunks (the resampler's tail is flushed first).
    """

    def __init__(self) -> None:
        self._resampler = Resampler(SAMPLE_RATE)
        self._format: tuple[int, int] | None = None
        self._partial = b""

    def push(self, pcm: bytes, rate: int, width: int, channels: int) -> Samples:
        """Convert one chunk (format checked with :func:`check_format`)."""
        check_format(rate, width, channels)
        parts = []
        if (width, channels) != self._format:
            self._partial = b""
            self._format = (width, channels)
        if rate != self._resampler.sample_rate:
            parts.append(self._resampler.flush())
            self._resampler = Resampler(rate)
        data = self._partial + pcm
        whole = len(data) - len(data) % (width * channels)
        self._partial = data[whole:]
        parts.append(self._resampler.push(pcm_to_mono(data[:whole], width, channels)))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def flush(self) -> Samples:
        """Audio the resampler still holds (end of stream)."""
        self._partial = b""
        out = self._resampler.flush()
        self._resampler = Resampler(self._resampler.sample_rate)
        return out

"""A bounded ring buffer of a stream's most recent audio, addressed by stream sample index."""

from __future__ import annotations

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE, Samples


class RingBuffer:
    """The last ``seconds`` of float32 16 kHz audio; memory never grows past that.

    ``end`` counts every sample pushed since the last :meth:`reset`, so a clip is asked for in
    stream time (sample indices), whatever has been overwritten since.
    """

    def __init__(self, seconds: float, sample_rate: int = SAMPLE_RATE) -> None:
        self.capacity = max(1, int(round(seconds * sample_rate)))
        self.sample_rate = sample_rate
        self._buf = np.zeros(self.capacity, np.float32)
        self.end = 0

    def reset(self) -> None:
        """Forget everything (a new stream)."""
        self._buf[:] = 0.0
        self.end = 0

    @property
    def start(self) -> int:
        """Stream index of the oldest sample still held."""
        return max(0, self.end - self.capacity)

    def push(self, samples: Samples) -> None:
        """Append samples, overwriting the oldest."""
        x = np.asarray(samples, np.float32).reshape(-1)
        n = len(x)
        if n >= self.capacity:  # only the newest capacity samples survive
            self.end += n
            self._buf[:] = np.roll(x[-self.capacity:], self.end % self.capacity)
            return
        pos = self.end % self.capacity
        first = min(len(x), self.capacity - pos)
        self._buf[pos:pos + first] = x[:first]
        self._buf[:len(x) - first] = x[first:]
        self.end += len(x)

    def slice(self, begin: int, end: int) -> Samples:
        """Samples ``[begin, end)`` of the stream, clipped to what is still held."""
        begin, end = max(begin, self.start), min(end, self.end)
        if end <= begin:
            return np.zeros(0, np.float32)
        idx = np.arange(begin, end) % self.capacity
        return self._buf[idx].copy()

    def last(self, seconds: float) -> Samples:
        """The most recent ``seconds`` (or less, if less was pushed)."""
        return self.slice(self.end - int(round(seconds * self.sample_rate)), self.end)

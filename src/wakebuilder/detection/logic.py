"""THE detection state machine: warm-up, smoothing, threshold and refractory period.

:class:`DetectionLogic` has two faces over one set of rules:

- :meth:`DetectionLogic.step` feeds one frame score at a time (the streaming detector, the
  WebSocket, Wyoming, the file test, ``wakebuilder detect``);
- :meth:`DetectionLogic.smooth` + :meth:`DetectionLogic.fire_frames` do the same over a whole
  score stream at once (calibration, evaluation, benchmarks), fast enough for thousands of
  thresholds over hours of audio.

Both use the same arithmetic (the smoothed score is the left-to-right sum of the last N scores
divided by their count, warm-up frames score 0 and never fire, a frame fires when its smoothed
score is at least the threshold and at least ``refractory_ms`` of audio has passed since the last
detection), so their detections are equal frame for frame; ``tests/unit/core/test_logic.py``
proves it on random score streams.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wakebuilder.audio.format import FRAME_MS
from wakebuilder.detection.config import DetectorConfig

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Detection:
    """One wake-word detection, stamped in audio time (end of the frame that fired)."""

    name: str
    score: float
    time_ms: int
    frame: int

    def to_dict(self) -> dict[str, float | int | str]:
        return {"name": self.name, "score": round(self.score, 4), "time_ms": self.time_ms,
                "time_s": round(self.time_ms / 1000, 3), "frame": self.frame}


def frame_end_ms(frame: int) -> int:
    """Audio time at the end of ``frame`` (detections are stamped there)."""
    return (frame + 1) * FRAME_MS


def refractory_frames(refractory_ms: int) -> int:
    """Fewest frames between two detections: ``k`` frames apart fire only if
    ``k * FRAME_MS >= refractory_ms``."""
    return max(0, -(-int(refractory_ms) // FRAME_MS))


class DetectionLogic:
    """Turns a sequence of frame scores into detections (pure state machine)."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget recent scores and the last detection (a new stream)."""
        self._recent: deque[float] = deque(maxlen=self.config.smoothing_frames)
        self._last_fire: int | None = None

    def set_config(self, config: DetectorConfig) -> None:
        """Use ``config`` from the next frame on, keeping recent scores and refractory state."""
        self.config = config
        self._recent = deque(self._recent, maxlen=config.smoothing_frames)

    # -- streaming ---------------------------------------------------------------------------

    def step(self, score: float, frame: int) -> float | None:
        """Feed the raw score of ``frame``; return the smoothed score if it fires."""
        warm = frame < self.config.warmup_frames
        self._recent.append(0.0 if warm else float(score))  # buffers still filling: 0
        total = 0.0
        for s in self._recent:  # left to right, as smooth() adds
            total += s
        smoothed = total / len(self._recent)
        if warm or smoothed < self.config.threshold:
            return None
        gap = refractory_frames(self.config.refractory_ms)
        if self._last_fire is not None and frame - self._last_fire < gap:
            return None
        self._last_fire = frame
        return smoothed

    # -- whole streams -----------------------------------------------------------------------

    def smooth(self, scores: npt.ArrayLike, first_frame: int = 0) -> FloatArray:
        """Smoothed score of every frame of a fresh stream (frame ``first_frame + i`` has
        ``scores[i]``), exactly as :meth:`step` computes it; warm-up frames are ``-inf``."""
        s = np.asarray(scores, dtype=np.float64).copy()
        warm = max(0, min(len(s), self.config.warmup_frames - first_frame))
        s[:warm] = 0.0
        n = self.config.smoothing_frames
        if n > 1 and len(s):
            total = np.zeros_like(s)
            for k in range(n - 1, -1, -1):  # oldest first: s[i-n+1] + ... + s[i]
                if k < len(s):
                    total[k:] += s[:len(s) - k]
            count = np.minimum(np.arange(1, len(s) + 1), n)
            s = total / count
        s[:warm] = -np.inf
        return s

    def fire_frames(self, smoothed: FloatArray, threshold: float | None = None) -> IntArray:
        """Indices of the frames that fire in one stream of :meth:`smooth` output, at
        ``threshold`` (default: the config's)."""
        t = self.config.threshold if threshold is None else threshold
        return fire_frames(smoothed, t, self.config.refractory_ms)

    def detect(self, scores: npt.ArrayLike, *, name: str = "wakeword",
               first_frame: int = 0) -> list[Detection]:
        """Detections of a fresh stream of raw scores, equal to feeding them to :meth:`step`."""
        smoothed = self.smooth(scores, first_frame)
        return [Detection(name, float(smoothed[i]), frame_end_ms(first_frame + int(i)),
                          first_frame + int(i))
                for i in self.fire_frames(smoothed)]


def fire_frames(smoothed: FloatArray, threshold: float, refractory_ms: int) -> IntArray:
    """Frames that fire: smoothed score ``>= threshold``, at least the refractory period after
    the previous detection. Work is proportional to the detections, not the frames."""
    above = np.flatnonzero(np.asarray(smoothed) >= threshold)
    if above.size == 0:
        return above.astype(np.int64)
    gap = refractory_frames(refractory_ms)
    if gap <= 1:
        return above.astype(np.int64)
    out = []
    i = 0
    while i < above.size:
        f = int(above[i])
        out.append(f)
        i = int(np.searchsorted(above, f + gap, side="left"))
    return np.asarray(out, dtype=np.int64)

"""The streaming detector: 80 ms frames, smoothing, threshold and refractory period.

Every consumer (WebSocket, file test, CLI, Wyoming, benchmarks, calibration) uses
:class:`DetectionLogic` through :class:`StreamingDetector` or :func:`detect_in_scores`, so every
figure describes what users run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wakebuilder.audio.format import FRAME_MS, Samples
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.model import WakeModel
from wakebuilder.features.frontend import (
    EMBEDDING_DIM,
    WINDOW_FRAMES,
    FeatureFrontend,
    get_frontend,
)


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


class DetectionLogic:
    """Turns a sequence of frame scores into detections (pure state machine)."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._recent: deque[float] = deque(maxlen=self.config.smoothing_frames)
        self._last_fire_ms: int | None = None

    def set_config(self, config: DetectorConfig) -> None:
        """Use ``config`` from the next frame on, keeping recent scores and refractory state."""
        self.config = config
        self._recent = deque(self._recent, maxlen=config.smoothing_frames)

    def step(self, score: float, frame: int) -> float | None:
        """Feed the raw score of ``frame``; return the smoothed score if it fires."""
        if frame < self.config.warmup_frames:
            score = 0.0  # buffers still filling after a reset
        self._recent.append(score)
        smoothed = float(np.mean(self._recent))
        time_ms = (frame + 1) * FRAME_MS
        if frame < self.config.warmup_frames or smoothed < self.config.threshold:
            return None
        if (self._last_fire_ms is not None
                and time_ms - self._last_fire_ms < self.config.refractory_ms):
            return None
        self._last_fire_ms = time_ms
        return smoothed


def detect_in_scores(scores: npt.ArrayLike, config: DetectorConfig, *, name: str = "wakeword",
                     first_frame: int = 0) -> list[Detection]:
    """Detections over a whole score sequence (frame ``first_frame + i`` has ``scores[i]``)."""
    logic = DetectionLogic(config)
    out = []
    for i, s in enumerate(np.asarray(scores, dtype=np.float64)):
        fired = logic.step(float(s), first_frame + i)
        if fired is not None:
            frame = first_frame + i
            out.append(Detection(name, fired, (frame + 1) * FRAME_MS, frame))
    return out


class StreamingDetector:
    """Per-stream detector; the model and front end are shared, only buffers are per stream."""

    def __init__(self, model: WakeModel, config: DetectorConfig,
                 frontend: FeatureFrontend | None = None) -> None:
        self.model = model
        self.config = config
        self._features = (frontend or get_frontend()).new_stream()
        self._logic = DetectionLogic(config)
        self._embeddings = np.zeros((0, EMBEDDING_DIM), np.float32)
        self.frame_scores: list[tuple[int, float]] = []
        self.frame = 0

    def reset(self) -> None:
        """Start a new stream (clears audio buffers and refractory state)."""
        self._features.reset()
        self._logic.reset()
        self._embeddings = np.zeros((0, EMBEDDING_DIM), np.float32)
        self.frame = 0

    def set_config(self, config: DetectorConfig) -> None:
        """Change threshold, smoothing or refractory period without losing audio state."""
        self.config = config
        self._logic.set_config(config)

    def process(self, samples: Samples) -> list[Detection]:
        """Consume float32 16 kHz samples; return detections of completed frames.

        ``frame_scores`` then holds ``(time_ms, raw score)`` of every frame of this call.
        """
        new = self._features.push(samples)
        self.frame_scores = []
        if len(new) == 0:
            return []
        # Windows come from the history plus every new frame (a long call must not lose the
        # windows of its first frames); only the tail is kept for the next call.
        emb = np.concatenate([self._embeddings, new])
        self._embeddings = emb[-(WINDOW_FRAMES + 64):]
        n = len(new)
        windows = np.zeros((n, WINDOW_FRAMES, EMBEDDING_DIM), np.float32)
        ready = []
        for j in range(n):
            end = len(emb) - (n - 1 - j)
            if end >= WINDOW_FRAMES:
                windows[j] = emb[end - WINDOW_FRAMES:end]
                ready.append(j)
        scores = np.zeros(n, np.float32)
        if ready:
            scores[ready] = self.model.score(windows[ready])
        detections = []
        for j in range(n):
            frame = self.frame + j
            score = float(scores[j])
            self.frame_scores.append(((frame + 1) * FRAME_MS, score))
            fired = self._logic.step(score, frame)
            if fired is not None:
                detections.append(Detection(self.model.name, fired, (frame + 1) * FRAME_MS,
                                            frame))
        self.frame += n
        return detections


def frame_scores(embeddings: npt.NDArray[np.float32],
                 score: Callable[[npt.NDArray[np.float32]], npt.ArrayLike]
                 ) -> npt.NDArray[np.float32]:
    """Raw score per frame of an embedding stream, ``score`` mapping windows ``(N, 16, 96)``
    to N scores; frames before the first full 16-frame window score 0."""
    scores = np.zeros(len(embeddings), np.float32)
    if len(embeddings) >= WINDOW_FRAMES:
        view = np.lib.stride_tricks.sliding_window_view(embeddings,
                                                        (WINDOW_FRAMES, EMBEDDING_DIM))
        scores[WINDOW_FRAMES - 1:] = score(np.ascontiguousarray(view[:, 0]))
    return scores


def score_stream(model: WakeModel, samples: Samples,
                 frontend: FeatureFrontend | None = None) -> npt.NDArray[np.float32]:
    """Raw score per frame of a whole signal, as the streaming detector computes them."""
    return frame_scores((frontend or get_frontend()).embed_stream(samples), model.score)

"""The streaming detector: 80 ms frames, smoothing, threshold and refractory period.

Every consumer (WebSocket, file test, CLI, Wyoming, benchmarks, calibration) uses
:class:`~wakebuilder.detection.logic.DetectionLogic`, frame by frame through
:class:`StreamingDetector` or over whole streams through :func:`detect_in_scores` and
:mod:`wakebuilder.detection.evaluate`, so every figure describes what users run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from wakebuilder.audio.format import Samples
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.logic import Detection, DetectionLogic, frame_end_ms
from wakebuilder.detection.model import WakeModel
from wakebuilder.features.frontend import (
    EMBEDDING_DIM,
    WINDOW_FRAMES,
    FeatureFrontend,
    get_frontend,
)


def detect_in_scores(scores: npt.ArrayLike, config: DetectorConfig, *, name: str = "wakeword",
                     first_frame: int = 0) -> list[Detection]:
    """Detections over a whole score sequence (frame ``first_frame + i`` has ``scores[i]``)."""
    return DetectionLogic(config).detect(scores, name=name, first_frame=first_frame)


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
            self.frame_scores.append((frame_end_ms(frame), score))
            fired = self._logic.step(score, frame)
            if fired is not None:
                detections.append(Detection(self.model.name, fired, frame_end_ms(frame), frame))
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


__all__ = ["Detection", "DetectionLogic", "StreamingDetector", "detect_in_scores",
           "frame_scores", "score_stream"]

"""Several heads on one stream: one feature front end, each head with its own detector state.

Embeddings are computed once per 80 ms frame and every head scores the same windows, so N
models cost one front end plus N small heads (a head costs a fraction of the front end).
Detection state is :class:`~wakebuilder.detection.logic.DetectionLogic`, as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wakebuilder.audio.format import FRAME_MS, Samples
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.logic import Detection, DetectionLogic
from wakebuilder.detection.model import WakeModel
from wakebuilder.features.frontend import (
    EMBEDDING_DIM,
    WINDOW_FRAMES,
    FeatureFrontend,
    get_frontend,
    windows_of,
)


@dataclass
class Head:
    """One model on a shared stream."""

    name: str
    model: WakeModel
    config: DetectorConfig
    logic: DetectionLogic = field(init=False)

    def __post_init__(self) -> None:
        self.logic = DetectionLogic(self.config)


class MultiHeadDetector:
    """Per-stream detector for any number of heads sharing one :class:`StreamingFeatures`."""

    def __init__(self, heads: list[tuple[str, WakeModel, DetectorConfig]],
                 frontend: FeatureFrontend | None = None) -> None:
        self.heads = [Head(name, model, config) for name, model, config in heads]
        self._features = (frontend or get_frontend()).new_stream()
        self._embeddings = np.zeros((0, EMBEDDING_DIM), np.float32)
        self.frame = 0

    def reset(self) -> None:
        """Start a new stream (audio buffers, frame clock and every head's state)."""
        self._features.reset()
        for head in self.heads:
            head.logic.reset()
        self._embeddings = np.zeros((0, EMBEDDING_DIM), np.float32)
        self.frame = 0

    def process(self, samples: Samples) -> list[Detection]:
        """Consume float32 16 kHz samples; detections of completed frames, in frame order.

        Frame ``k`` (0-based from the reset) is scored like
        :class:`~wakebuilder.detection.detector.StreamingDetector` scores it: 0 until 16
        embeddings exist, then the head's score of the newest 16.
        """
        new = self._features.push(samples)
        n = len(new)
        if n == 0:
            return []
        emb = np.concatenate([self._embeddings, new])
        self._embeddings = emb[-(WINDOW_FRAMES - 1):]
        # Windows ending at each new frame; frames without a full window score 0.
        ready = min(n, max(0, len(emb) - WINDOW_FRAMES + 1))
        windows = (np.ascontiguousarray(windows_of(emb[len(emb) - ready - WINDOW_FRAMES + 1:]))
                   if ready else None)
        found: list[tuple[int, int, Detection]] = []
        for h, head in enumerate(self.heads):
            scores = np.zeros(n, np.float32)
            if windows is not None:
                scores[n - ready:] = head.model.score(windows)
            for j in range(n):
                frame = self.frame + j
                fired = head.logic.step(float(scores[j]), frame)
                if fired is not None:
                    found.append((frame, h, Detection(head.name, fired, (frame + 1) * FRAME_MS,
                                                      frame)))
        self.frame += n
        return [d for _, _, d in sorted(found, key=lambda x: (x[0], x[1]))]

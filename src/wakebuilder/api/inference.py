"""Loaded models (once per process) and whole-file scoring with the shared detector."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wakebuilder.audio.format import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, Samples, seconds
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import StreamingDetector
from wakebuilder.detection.model import WakeModel
from wakebuilder.errors import ConflictError
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.store import ModelStore

TAIL_PAD_S = 1.0
"""Silence appended to a file so a wake word at its very end still fills a window."""


class ModelCache:
    """A small LRU of :class:`WakeModel` keyed by ONNX path and modification time."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], WakeModel] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, onnx_path: Path, name: str) -> WakeModel:
        key = (str(onnx_path), onnx_path.stat().st_mtime_ns)
        with self._lock:
            model = self._items.get(key)
            if model is not None:
                self._items.move_to_end(key)
                return model
        model = WakeModel(onnx_path, name=name)
        with self._lock:
            self._items[key] = model
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return model

    def open(self, store: ModelStore, model_id: str, threshold: float | None = None
             ) -> tuple[ModelManifest, WakeModel, DetectorConfig]:
        """A stored model, loaded once, with its detector settings (threshold overridden)."""
        manifest = store.get(model_id)
        onnx = store.onnx_path(model_id)
        if not onnx.is_file():
            raise ConflictError(f"Model {model_id!r} has no ONNX file to test",
                                {"model_id": model_id})
        config: DetectorConfig = manifest.detector
        if threshold is not None:
            config = config.model_copy(update={"threshold": threshold})
        return manifest, self.load(onnx, model_id), config


@dataclass
class FileScore:
    detected: bool
    confidence: float
    threshold: float
    detections: list[dict[str, Any]]
    duration_s: float
    frames: int
    processing_time_ms: float


def score_file(store: ModelStore, cache: ModelCache, model_id: str, samples: Samples, *,
               threshold: float | None = None) -> FileScore:
    """Run the streaming detector over a whole file.

    The file is preceded by the detector's warm-up frames of silence (a stream starts with
    empty buffers) and followed by :data:`TAIL_PAD_S` of silence; times are reported relative
    to the start of the file.
    """
    _, model, config = cache.open(store, model_id, threshold)
    started = time.perf_counter()
    detector = StreamingDetector(model, config)
    lead = config.warmup_frames * FRAME_SAMPLES
    padded = np.concatenate([np.zeros(lead, np.float32), samples.astype(np.float32),
                             np.zeros(int(TAIL_PAD_S * SAMPLE_RATE), np.float32)])
    found = detector.process(padded)
    lead_ms = config.warmup_frames * FRAME_MS
    scores = [s for t, s in detector.frame_scores if t > lead_ms]
    elapsed = (time.perf_counter() - started) * 1000
    detections = [{"time_ms": max(0, d.time_ms - lead_ms),
                   "time_s": round(max(0, d.time_ms - lead_ms) / 1000, 3),
                   "score": round(d.score, 4), "frame": d.frame - config.warmup_frames}
                  for d in found]
    return FileScore(detected=bool(found), confidence=round(max(scores, default=0.0), 4),
                     threshold=config.threshold, detections=detections,
                     duration_s=round(seconds(samples), 3), frames=len(scores),
                     processing_time_ms=round(elapsed, 1))

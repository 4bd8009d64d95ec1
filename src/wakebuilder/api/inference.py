"""Whole-file scoring with the shared detector (models load through
:class:`~wakebuilder.modelstore.loader.ModelCache`, re-exported here)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.detection.file import TAIL_PAD_S, detect_blocks
from wakebuilder.modelstore.loader import ModelCache
from wakebuilder.modelstore.store import ModelStore

__all__ = ["TAIL_PAD_S", "FileScore", "ModelCache", "score_file"]


@dataclass
class FileScore:
    detected: bool
    confidence: float
    threshold: float
    detections: list[dict[str, Any]]
    duration_s: float
    frames: int
    processing_time_ms: float


def score_file(store: ModelStore, cache: ModelCache, model_id: str,
               audio: Samples | Iterable[Samples], *, threshold: float | None = None
               ) -> FileScore:
    """Run the streaming detector over a whole file: one array, or blocks as they are
    decoded (:func:`wakebuilder.detection.file.detect_blocks`, the CLI's function too)."""
    _, model, config = cache.open(store, model_id, threshold)
    started = time.perf_counter()
    blocks = [audio] if isinstance(audio, np.ndarray) else audio
    result = detect_blocks(model, config, blocks)
    elapsed = (time.perf_counter() - started) * 1000
    detections = [{"time_ms": d.time_ms, "time_s": round(d.time_ms / 1000, 3),
                   "score": round(d.score, 4), "frame": d.frame} for d in result.detections]
    return FileScore(detected=bool(detections), confidence=round(result.confidence, 4),
                     threshold=config.threshold, detections=detections,
                     duration_s=round(result.duration_s, 3), frames=result.frames,
                     processing_time_ms=round(elapsed, 1))

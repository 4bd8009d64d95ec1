"""Whole-file scoring with the shared detector (models load through
:class:`~wakebuilder.modelstore.loader.ModelCache`, re-exported here)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from wakebuilder.audio.format import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, Samples, seconds
from wakebuilder.detection.detector import StreamingDetector
from wakebuilder.modelstore.loader import ModelCache
from wakebuilder.modelstore.store import ModelStore

__all__ = ["TAIL_PAD_S", "FileScore", "ModelCache", "score_file"]

TAIL_PAD_S = 1.0
"""Silence appended to a file so a wake word at its very end still fills a window."""


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

"""Detections in a whole file, streamed block by block (the API's file test and the CLI).

A file is scored as a stream that had already been running: the detector's warm-up frames
are fed as silence first, so a wake word in the first second is found, and one second of
silence follows the file so a wake word at its very end still fills a window. Times are
relative to the start of the file. Memory is a few blocks, however long the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wakebuilder.audio.format import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, Samples
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import StreamingDetector
from wakebuilder.detection.logic import Detection
from wakebuilder.detection.model import WakeModel
from wakebuilder.features.frontend import FeatureFrontend

TAIL_PAD_S = 1.0
"""Silence appended to a file so a wake word at its very end still fills a window."""
MAX_CHUNK_SAMPLES = 10 * SAMPLE_RATE
"""Longest piece handed to the detector at once (bounds the front end's buffers)."""


@dataclass(frozen=True)
class FileDetections:
    """What the detector found in one file."""

    detections: list[Detection]
    """Times and frames relative to the start of the file."""
    confidence: float
    """Highest raw frame score over the file (and its tail padding)."""
    frames: int
    """Frames scored (the file plus its tail padding)."""
    duration_s: float


def detect_blocks(model: WakeModel, config: DetectorConfig, blocks: Iterable[Samples], *,
                  frontend: FeatureFrontend | None = None) -> FileDetections:
    """Run a fresh detector over ``blocks`` (16 kHz mono float32) with warm-up and tail
    padding; see the module docstring."""
    detector = StreamingDetector(model, config, frontend)
    lead = config.warmup_frames
    lead_ms = lead * FRAME_MS
    found: list[Detection] = []
    best = 0.0
    frames = 0

    def feed(samples: npt.NDArray[np.float32]) -> None:
        nonlocal best, frames
        for start in range(0, len(samples), MAX_CHUNK_SAMPLES):
            for d in detector.process(samples[start:start + MAX_CHUNK_SAMPLES]):
                found.append(Detection(d.name, d.score, max(0, d.time_ms - lead_ms),
                                       d.frame - lead))
            scores = [s for t, s in detector.frame_scores if t > lead_ms]
            frames += len(scores)
            best = max(best, *scores) if scores else best

    feed(np.zeros(lead * FRAME_SAMPLES, np.float32))
    total = 0
    for block in blocks:
        total += len(block)
        feed(np.asarray(block, dtype=np.float32))
    feed(np.zeros(int(TAIL_PAD_S * SAMPLE_RATE), np.float32))
    return FileDetections(found, float(best), frames, total / SAMPLE_RATE)


def detect_stream(model: WakeModel, config: DetectorConfig, samples: npt.ArrayLike,
                  chunk_samples: int = SAMPLE_RATE // 10) -> list[Detection]:
    """Stream ``samples`` through a fresh detector in small chunks, exactly as a live client
    would (no padding: the first ``warmup_frames`` frames cannot fire)."""
    arr = np.asarray(samples, dtype=np.float32)
    detector = StreamingDetector(model, config)
    found: list[Detection] = []
    for i in range(0, len(arr), chunk_samples):
        found.extend(detector.process(arr[i:i + chunk_samples]))
    return found

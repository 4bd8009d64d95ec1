"""One connection's audio path: PCM16 at any rate -> 16 kHz float32 -> the shared detector.

Everything here is blocking and runs on the inference pool, one call at a time per stream.
The result does not depend on how the audio was cut into chunks: the detector buffers partial
frames, and the resampler (soxr's streaming resampler) keeps its filter state between calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wakebuilder.audio.convert import Resampler
from wakebuilder.audio.format import SAMPLE_RATE, to_float32
from wakebuilder.capture.recorder import StreamRecorder
from wakebuilder.capture.store import CaptureRecord
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import Detection, StreamingDetector
from wakebuilder.detection.model import WakeModel
from wakebuilder.features.frontend import FeatureFrontend


@dataclass(frozen=True)
class StreamOutput:
    """What one :meth:`AudioStream.feed` produced."""

    detections: list[Detection]
    frame_scores: list[tuple[int, float]]
    """``(time_ms, raw score)`` of each frame completed by this call."""
    captured: list[CaptureRecord] = field(default_factory=list)
    """Clips the stream's recorder wrote during this call."""


class AudioStream:
    """Per-connection state around a shared model: resampler plus streaming detector."""

    def __init__(self, model: WakeModel, config: DetectorConfig,
                 frontend: FeatureFrontend | None = None) -> None:
        self.detector = StreamingDetector(model, config, frontend)
        self._resampler = Resampler(SAMPLE_RATE)
        self.recorder: StreamRecorder | None = None
        """Captures clips of this stream when set and enabled."""

    @property
    def config(self) -> DetectorConfig:
        return self.detector.config

    def feed(self, pcm: bytes, sample_rate: int) -> StreamOutput:
        """Consume 16-bit little-endian mono PCM at ``sample_rate``."""
        parts = []
        if sample_rate != self._resampler.sample_rate:
            parts.append(self._resampler.flush())
            self._resampler = Resampler(sample_rate)
        parts.append(self._resampler.push(to_float32(pcm)))
        samples = np.concatenate(parts) if len(parts) > 1 else parts[0]
        detections = self.detector.process(samples)
        scores = list(self.detector.frame_scores)
        captured = self.recorder.observe(samples, scores, detections, self.config.threshold) \
            if self.recorder is not None else []
        return StreamOutput(detections, scores, captured)

    def missed(self) -> CaptureRecord | None:
        """Capture the last seconds as a missed wake word (None when capture is off)."""
        return self.recorder.missed() if self.recorder is not None else None

    def close(self) -> list[CaptureRecord]:
        """The stream ended: write the clips still waiting for their tail."""
        return self.recorder.close() if self.recorder is not None else []

    def set_config(self, config: DetectorConfig) -> None:
        """New detector settings from the next frame on."""
        self.detector.set_config(config)

    def reset(self) -> None:
        """A new stream: forget audio, frame clock, resampler and refractory state."""
        self.detector.reset()
        self._resampler = Resampler(self._resampler.sample_rate)
        if self.recorder is not None:
            self.recorder.reset()

"""Detector settings, stored in each model's manifest."""

from __future__ import annotations

from pydantic import BaseModel, Field

WARMUP_FRAMES = 16
"""Frames after a reset that score 0 and never fire (a full 16-frame window's worth)."""


class DetectorConfig(BaseModel):
    """How frame scores become detections. All times are audio time."""

    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    smoothing_frames: int = Field(default=1, ge=1, le=16,
                                  description="Mean of the last N frame scores (1 = off)")
    refractory_ms: int = Field(default=2000, ge=0, le=60_000,
                               description="No second detection within this time")
    warmup_frames: int = Field(default=WARMUP_FRAMES, ge=0, le=64,
                               description="Frames scored 0 after a reset (buffers filling)")

"""The JSON metadata written next to every model (``{id}.json``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from wakebuilder.detection.config import DetectorConfig
from wakebuilder.modelstore.metrics import ModelMetrics
from wakebuilder.training.config import DataPlan

MANIFEST_VERSION = 1


def utc_now() -> str:
    """Current UTC time as ISO 8601 with a ``Z`` suffix."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class DetPoint(BaseModel):
    """One point of the DET curve: false accepts per hour vs false-reject rate."""

    threshold: float
    fa_per_hour: float
    frr: float


class ModelManifest(BaseModel):
    """Everything needed to load, judge and reproduce a model."""

    manifest_version: int = MANIFEST_VERSION
    id: str
    wake_word: str
    type: Literal["custom", "default"] = "custom"
    created_at: str = Field(default_factory=utc_now)
    threshold: float
    detector: DetectorConfig
    target_fa_per_hour: float | None = None
    metrics: ModelMetrics = Field(default_factory=ModelMetrics)
    det_curve: list[DetPoint] = Field(default_factory=list)
    head_config: dict[str, Any] = Field(default_factory=dict)
    training_config: dict[str, Any] = Field(default_factory=dict)
    recipe: DataPlan | None = Field(
        default=None, description="The data plan the model was trained with (None for models "
        "written before it was recorded); with training_config it reproduces the model")
    data_stats: dict[str, Any] = Field(default_factory=dict)

    history: list[dict[str, Any]] = Field(default_factory=list)
    trainable_params: int = 0
    versions: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    calibration: dict[str, Any] | None = Field(
        default=None, description="The in-graph transform of the exported .onnx output 'score' "
        "and the .tflite (0.5 there == threshold); None for models written before it")
    score_scale: dict[str, str] = Field(
        default_factory=dict, description="Which scale each file's score uses: 'raw' (the "
        "scale of threshold, metrics and the API) or 'calibrated'")
    job_id: str | None = None
    notes: list[str] = Field(default_factory=list)

    @field_validator("recipe", mode="before")
    @classmethod
    def _recorded_recipe(cls, value: object) -> object:
        # A recipe recorded before some of today's fields existed keeps their old values.
        return DataPlan.from_record(value) if isinstance(value, dict) else value

"""What a training job is asked for, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.training.config import DataPlan, TrainConfig

MAX_RECORDINGS = 5


@dataclass
class TrainRequest:
    """A wake word, 1-5 recording files, the training options and the data recipe."""

    wake_word: str
    recordings: list[Path]
    config: TrainConfig = field(default_factory=TrainConfig)
    recipe: DataPlan = field(default_factory=DataPlan)
    job_id: str | None = None


@dataclass
class TrainResult:
    """The published model."""

    model_id: str
    model_dir: Path
    manifest: ModelManifest

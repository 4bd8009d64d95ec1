"""The end-to-end training pipeline: text + recordings -> calibrated, exported model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.training.config import TrainConfig
from wakebuilder.training.progress import (
    CancelCheck,
    ProgressCallback,
    never_cancel,
    no_progress,
)


@dataclass(frozen=True)
class PipelinePaths:
    """Where a job reads shared assets and writes its model."""

    models_dir: Path
    cache_dir: Path
    negative_dir: Path
    voices_dir: Path
    default_models_dir: Path | None = None

    @classmethod
    def under(cls, data_dir: Path) -> PipelinePaths:
        """The standard layout under a data directory."""
        return cls(models_dir=data_dir / "models", cache_dir=data_dir / "cache",
                   negative_dir=data_dir / "negative", voices_dir=data_dir / "voices")


@dataclass
class TrainRequest:
    """A wake word, 1-5 recording files, and the training options."""

    wake_word: str
    recordings: list[Path]
    config: TrainConfig = field(default_factory=TrainConfig)
    job_id: str | None = None


@dataclass
class TrainResult:
    """The published model."""

    model_id: str
    model_dir: Path
    manifest: ModelManifest


def run_training(request: TrainRequest, paths: PipelinePaths, *,
                 progress: ProgressCallback = no_progress,
                 should_cancel: CancelCheck = never_cancel, threads: int = 2) -> TrainResult:
    """Run the whole pipeline; raises WakeBuilderError subclasses (CancelledError on cancel)."""
    from wakebuilder.training.job import TrainingJob

    return TrainingJob(request, paths, progress=progress, should_cancel=should_cancel,
                       threads=threads).run()

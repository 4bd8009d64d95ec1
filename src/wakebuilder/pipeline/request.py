"""What a training job is asked for, and what it returns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wakebuilder.errors import InvalidInputError
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


def load_train_options(text: str) -> tuple[dict[str, Any], DataPlan | None]:
    """(training options, recipe) from ``--config``: inline JSON or the path of a JSON file.

    A model manifest or an object ``{"training_config": {...}, "recipe": {...}}`` gives both
    (the same seed then reproduces the model bit for bit); any other object is a set of
    training options (recipe: None, the defaults).
    """
    path = Path(text)
    is_file = not text.lstrip().startswith("{") and path.is_file()
    try:
        raw = json.loads(path.read_text(encoding="utf-8") if is_file else text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"--config is neither a JSON object nor a readable JSON file: "
                                f"{exc}", {"config": text[:200]}) from exc
    if not isinstance(raw, dict):
        raise InvalidInputError("--config must be a JSON object (training options, or a "
                                "manifest / {\"training_config\", \"recipe\"} object)",
                                {"config": text[:200]})
    if "training_config" not in raw:
        return raw, None
    options = raw["training_config"]
    try:
        recipe = DataPlan.from_record(raw.get("recipe") or {})
    except ValidationError as exc:
        raise InvalidInputError(f"invalid recipe in --config: {exc}", {"config": text[:200]}
                                ) from exc
    if not isinstance(options, dict):
        raise InvalidInputError("training_config in --config must be a JSON object",
                                {"config": text[:200]})
    return dict(options), recipe

"""The data recipe: frozen, named, recorded in the manifest, read back by ``--config``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.helpers import random_model
from wakebuilder.errors import InvalidInputError
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.pipeline.request import load_train_options
from wakebuilder.training.config import (
    RECIPE_V1,
    RECIPE_VERSION,
    DataPlan,
    TrainConfig,
    fast_config,
)


def test_recipe_is_frozen_and_closed() -> None:
    plan = DataPlan()
    with pytest.raises(ValidationError):
        plan.mining_stride = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        DataPlan.model_validate({"mining_strde": 3})  # a misspelt field is refused
    with pytest.raises(ValidationError):
        DataPlan(tts_positive_share=1.5)


def test_derived_counts() -> None:
    plan = DataPlan()
    assert plan.validation_positives(TrainConfig()) == 3000 // 8
    assert plan.validation_positives(fast_config()) == 40  # 300 // 8 = 37 < the minimum
    assert plan.finetune_epochs(TrainConfig()) == 25 and plan.finetune_epochs(fast_config()) == 2


def test_recipe_round_trips_through_the_manifest(tmp_path: Path) -> None:
    random_model(tmp_path, "word")
    raw = json.loads((tmp_path / "word.json").read_text())
    assert raw["recipe"] is None  # models written before the recipe
    plan = DataPlan(mining_stride=3, engine_weights={"espeak": 1.0}, eval_tts_clips=20)
    cfg = fast_config(seed=7, ensemble=2)
    raw.update(recipe=plan.model_dump(mode="json"), training_config=cfg.model_dump(mode="json"))
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(raw))
    loaded = ModelManifest.model_validate_json(path.read_text())
    assert loaded.recipe == plan
    options, recipe = load_train_options(str(path))
    assert recipe == plan and TrainConfig.model_validate(options) == cfg
    inline = json.dumps({"training_config": cfg.model_dump(), "recipe": plan.model_dump()})
    assert load_train_options(inline) == (cfg.model_dump(), plan)


def test_plain_options_and_errors(tmp_path: Path) -> None:
    assert load_train_options('{"num_epochs": 3}') == ({"num_epochs": 3}, None)
    with pytest.raises(InvalidInputError):
        load_train_options("{not json")
    with pytest.raises(InvalidInputError):
        load_train_options(str(tmp_path / "missing.json"))
    with pytest.raises(InvalidInputError):
        load_train_options("[1, 2]")
    with pytest.raises(InvalidInputError):
        load_train_options(json.dumps({"training_config": {}, "recipe": {"nope": 1}}))


def test_a_recipe_recorded_before_a_field_keeps_its_old_value(tmp_path: Path) -> None:
    old = DataPlan().model_dump(mode="json")
    for added in RECIPE_V1:  # a version-1 manifest has none of the fields added since
        old.pop(added)
    plan = DataPlan.from_record(old)
    assert plan.recipe_version == 1
    assert plan.checkpoint_average == 1 and plan.threshold_unseen_factor == 1.0
    assert plan.threshold_logit_margin == 0.0
    assert DataPlan().recipe_version == RECIPE_VERSION  # new jobs use today's recipe
    assert DataPlan.from_record({}) == DataPlan()  # no recipe given: today's defaults
    random_model(tmp_path, "word")
    raw = json.loads((tmp_path / "word.json").read_text())
    raw["recipe"] = old
    (tmp_path / "word.json").write_text(json.dumps(raw))
    loaded = ModelManifest.model_validate_json((tmp_path / "word.json").read_text())
    assert loaded.recipe == plan
    assert load_train_options(str(tmp_path / "word.json"))[1] == plan


def test_a_version_4_recipe_synthesises_at_the_engines_pace() -> None:
    v4 = DataPlan().model_dump(mode="json")
    v4.pop("tts_duration_scale")
    v4["recipe_version"] = 4
    assert DataPlan.from_record(v4).tts_duration_scale == 1.0  # as version 4 trained
    v1 = {k: v for k, v in v4.items() if k != "recipe_version" and k not in RECIPE_V1}
    assert DataPlan.from_record(v1).tts_duration_scale == 1.0
    assert DataPlan().tts_duration_scale > 1.0  # today's recipe: slower than the engines
    recorded = DataPlan(tts_duration_scale=1.4).model_dump(mode="json")
    assert DataPlan.from_record(recorded).tts_duration_scale == 1.4  # recorded wins

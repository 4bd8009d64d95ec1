"""A manifest's recipe reproduces its model bit for bit: train a tiny model, then retrain it
through ``wakebuilder train --config <manifest.json>`` and compare the ``.pt`` tensors.

The recipe synthesises with the default engines (Piper, eSpeak NG, Flite): each clip depends
only on the job's seed and its index in the synthesis plan, in the pytest process (after
other tests spoke) as in the fresh CLI process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import seed_negative_store
from wakebuilder.layout import DataLayout
from wakebuilder.pipeline.request import TrainRequest
from wakebuilder.pipeline.run import run_training
from wakebuilder.training.config import DataPlan, fast_config

pytestmark = pytest.mark.slow


def test_manifest_recipe_reproduces_the_model(tmp_path: Path, computer_clips: list[Path],
                                              negative_store_template: Path) -> None:
    data = seed_negative_store(negative_store_template, tmp_path / "data")
    clips = computer_clips[:3]
    cfg = fast_config(seed=11, num_epochs=2, target_positive_samples=60, steps_per_epoch=20,
                      mined_negatives=200)
    plan = DataPlan(mining_stride=3, eval_tts_clips=20, eval_augmented_user_clips=6)
    assert set(plan.engine_weights) == {"piper", "espeak", "flite"}
    first = run_training(TrainRequest("computer", clips, cfg, plan),
                         DataLayout(data).with_models_dir(tmp_path / "a"), threads=2)
    manifest_path = first.model_dir / f"{first.model_id}.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["recipe"]["mining_stride"] == 3
    assert all(manifest["data_stats"]["tts_positive_counts"].get(e, 0) > 0
               for e in ("piper", "espeak"))

    out = tmp_path / "b"
    cmd = [sys.executable, "-m", "wakebuilder.cli.main", "train", "-w", "computer",
           "--out", str(out), "--data-dir", str(data), "--config", str(manifest_path),
           "--threads", "2", "--json"]
    for c in clips:
        cmd += ["-r", str(c)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    second = json.loads(proc.stdout)
    assert second["recipe"] == first.manifest.recipe.model_dump(mode="json")
    assert second["training_config"] == first.manifest.training_config

    a = torch.load(first.model_dir / f"{first.model_id}.pt", weights_only=True)
    b = torch.load(out / second["id"] / f"{second['id']}.pt", weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert second["threshold"] == first.manifest.threshold
    assert second["metrics"]["heldout"] == first.manifest.metrics.model_dump(
        mode="json")["heldout"]

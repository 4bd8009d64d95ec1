"""One small end-to-end training run: recordings -> calibrated, exported, detecting model."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import seed_negative_store
from tests.helpers import noise
from wakebuilder.audio.io import decode_audio
from wakebuilder.cli.detect import detect_file, load_model_dir
from wakebuilder.errors import CancelledError
from wakebuilder.layout import DataLayout
from wakebuilder.pipeline.request import TrainRequest
from wakebuilder.pipeline.run import run_training
from wakebuilder.training.config import fast_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, computer_clips: list[Path],  # type: ignore[no-untyped-def]
            negative_store_template: Path):
    data = seed_negative_store(negative_store_template, tmp_path_factory.mktemp("data"))
    events = []
    result = run_training(TrainRequest("computer", computer_clips[:3], fast_config(seed=1)),
                          DataLayout(data), progress=events.append)
    return result, events, data


def test_model_directory_is_complete(trained) -> None:  # type: ignore[no-untyped-def]
    result, events, _ = trained
    d = result.model_dir
    assert {p.name for p in d.iterdir()} == {"computer.onnx", "computer.tflite", "computer.pt",
                                            "computer.json", "report.md"}
    meta = json.loads((d / "computer.json").read_text())
    assert meta["wake_word"] == "computer"
    assert 0.05 <= meta["threshold"] < 1.0
    metrics = result.manifest.metrics
    for key in ("accuracy", "precision", "recall", "f1_score", "heldout", "calibration",
                "rejects", "enough_heldout_audio"):
        assert key in meta["metrics"]
    held, cal = metrics.heldout, metrics.calibration
    assert held is not None and held.hours > 0 and not held.in_sample
    assert held.events == round(held.fa_per_hour * held.hours)
    assert held.upper_95_per_hour > held.fa_per_hour
    assert held.by_kind and held.sources
    assert abs(sum(k.hours for k in held.by_kind.values()) - held.hours) < 1e-3
    assert cal is not None and cal.in_sample and cal.hours > 0
    assert metrics.rejects.overall.count == (metrics.rejects.tts_heldout.count
                                             + metrics.rejects.user_heldout.count
                                             + metrics.rejects.user_augmented.count)
    assert metrics.rejects.user_heldout.count == 1  # 3 recordings: one stays untouched
    # ... while the model that measures it is trained; the shipped one then learns it too
    assert metrics.rejects.user_heldout_is_fold
    assert 0.05 <= meta["data_stats"]["fold_threshold"] < 1.0
    assert meta["data_stats"]["final_user_positive_windows"] > 0
    final = [h for h in meta["history"] if h["stage"] == "final"]
    assert len(final) == result.manifest.recipe.final_epochs
    assert meta["recipe"] == result.manifest.recipe.model_dump(mode="json")
    assert meta["det_curve"] and meta["history"]
    assert meta["data_stats"]["recordings"] == 3
    assert sum(meta["data_stats"]["tts_positive_counts"].values()) > 0
    assert torch.load(d / "computer.pt", weights_only=True)
    progress = [e.progress for e in events]
    assert progress == sorted(progress) and progress[-1] == 100
    assert {e.phase for e in events} >= {"Synthesizing speech", "Training classifier",
                                         "Measuring the untouched recording",
                                         "Training on all recordings",
                                         "Calibrating threshold", "Exporting model"}


def test_detects_the_word_and_not_noise(trained, computer_clips: list[Path]) -> None:  # type: ignore[no-untyped-def]
    result, _, _ = trained
    model, manifest = load_model_dir(result.model_dir)
    cfg = manifest.detector
    found = 0
    held_out = computer_clips[10:20]
    for p in held_out:
        audio = np.concatenate([noise(1.5, 0.003), decode_audio(p), noise(1.0, 0.003)])
        found += bool(detect_file(model, cfg, audio))
    assert found >= len(held_out) // 2
    assert detect_file(model, cfg, noise(60.0, 0.02, seed=3)) == []


def test_cli_detect_json(trained, computer_clips: list[Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from wakebuilder.audio.io import write_wav
    result, _, _ = trained
    wav = write_wav(tmp_path / "a.wav", np.concatenate(
        [noise(1.5, 0.003), decode_audio(computer_clips[12]), noise(1.0, 0.003)]))
    out = subprocess.run([sys.executable, "-m", "wakebuilder.cli.main", "detect", str(wav),
                          "--model", str(result.model_dir), "--json"],
                         capture_output=True, text=True, check=True)
    payload = json.loads(out.stdout)
    assert payload["model_id"] == "computer"
    assert all(0 < d["time_s"] <= payload["duration_s"] for d in payload["detections"])


def test_cancel_leaves_no_model(trained, computer_clips: list[Path]) -> None:  # type: ignore[no-untyped-def]
    _, _, data = trained
    before = sorted(p.name for p in (data / "models").iterdir())
    calls = {"n": 0}

    def cancel_soon() -> bool:
        calls["n"] += 1
        return calls["n"] > 50

    with pytest.raises(CancelledError):
        run_training(TrainRequest("computer", computer_clips[:3], fast_config()),
                     DataLayout(data), should_cancel=cancel_soon)
    assert sorted(p.name for p in (data / "models").iterdir()) == before

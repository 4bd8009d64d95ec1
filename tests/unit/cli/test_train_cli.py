"""``wakebuilder train`` is readable: a handful of lines around one live progress display,
library per-clip logging silenced, and a ten-second summary (threshold, held-out false wakes
and misses naming the audio, the full model path, next steps); paths follow the settings."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.helpers import noise
from wakebuilder.audio.io import write_wav
from wakebuilder.cli import train as train_cli
from wakebuilder.cli.main import app
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.layout import DataLayout
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.metrics import (
    FalseAccepts,
    HeldoutFalseAccepts,
    ModelMetrics,
    RejectFigures,
    Rejects,
)
from wakebuilder.pipeline.request import TrainRequest, TrainResult
from wakebuilder.training.progress import ProgressEvent

PHASES = ["Checking recordings", "Preparing negative data", "Synthesizing speech",
          "Extracting features", "Training classifier", "Calibrating threshold",
          "Exporting model"]


def _metrics(heldout_hours: float) -> ModelMetrics:
    def fa(events: int, share: float) -> FalseAccepts:
        return FalseAccepts.measure(events, heldout_hours * share, in_sample=False)

    heldout = HeldoutFalseAccepts.measure(1, heldout_hours, in_sample=False)
    return ModelMetrics(
        accuracy=0.97, precision=0.95, recall=0.93, f1_score=0.94,
        calibration=FalseAccepts.measure(1, 2.0, in_sample=True),
        heldout=heldout.model_copy(update={"by_kind": {"speech": fa(1, 0.5),
                                                       "music": fa(0, 0.25),
                                                       "noise": fa(0, 0.25)}}),
        rejects=RejectFigures(overall=Rejects.measure(9, 150),
                              tts_heldout=Rejects.measure(8, 120),
                              user_heldout=Rejects.measure(1, 30)))


class FakeTraining:
    """Stands in for run_training: a burst of progress and library logging, then a result."""

    def __init__(self, heldout_hours: float = 2.1) -> None:
        self.heldout_hours = heldout_hours
        self.calls: list[tuple[TrainRequest, DataLayout]] = []

    def __call__(self, request: TrainRequest, layout: DataLayout, *, progress: Any,
                 threads: int = 2, **_: Any) -> TrainResult:
        self.calls.append((request, layout))
        lib = logging.getLogger("wakebuilder.synthesis.fake")
        for p, phase in enumerate(PHASES):
            for i in range(300):
                progress(ProgressEvent(phase=phase, progress=p * 14 + i / 30,
                                       message=f"{i + 1}/300 clips"))
                lib.info("synthesised clip %d", i)  # the per-clip noise of today
        for i in range(8):
            lib.warning("skipping voice %d: unreadable", i)
        model_dir = layout.models_dir / "computer"
        manifest = ModelManifest(
            id="computer", wake_word="computer", threshold=0.7312,
            detector=DetectorConfig(threshold=0.7312), target_fa_per_hour=0.5,
            metrics=_metrics(self.heldout_hours),
            files={"onnx": "computer.onnx", "tflite": "computer.tflite",
                   "json": "computer.json"})
        return TrainResult("computer", model_dir, manifest)


@pytest.fixture
def recordings(tmp_path: Path) -> list[Path]:
    out = []
    for i in range(3):
        path = tmp_path / f"r{i}.wav"
        write_wav(path, noise(1.0, seed=i))
        out.append(path)
    return out


def _run(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def test_train_output_is_short_and_says_what_matters(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path,
                                                     recordings: list[Path]) -> None:
    fake = FakeTraining()
    monkeypatch.setattr(train_cli, "run_training", fake)
    data = tmp_path / "data"
    args = ["train", "-w", "computer", *[a for r in recordings for a in ("-r", str(r))]]
    result = _run(args, env={"WAKEBUILDER_DATA_DIR": str(data), "COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    # 2,100 progress events and 2,100 INFO lines became: 7 phase lines, 5 warnings, 1 count
    # of hidden warnings, and the summary.
    assert len(lines) <= 30, "\n".join(lines)
    text = "\n".join(lines)
    assert "synthesised clip" not in text and "/300 clips" not in text
    assert text.count("done ") == len(PHASES)
    assert text.count("skipping voice") == train_cli.WARNINGS_SHOWN
    assert "3 more warnings" in text
    assert "Threshold    0.7312" in text
    assert "0.48 per hour" in text and "2.1 h of held-out speech, music and noise" in text
    assert "6.0 % of 150 held-out clips" in text and "your untouched recording" in text
    model_dir = str((data / "models" / "computer").resolve())
    assert model_dir in text  # the full path, not cut
    assert f"wakebuilder detect some.wav --model {model_dir}" in text
    assert "wakebuilder serve" in text and "Home Assistant" in text
    assert "test audio" not in text
    (request, layout), = fake.calls
    assert layout.data_dir == data.resolve()  # WAKEBUILDER_DATA_DIR reached train
    assert layout.models_dir == data.resolve() / "models"
    assert request.wake_word == "computer" and len(request.recordings) == 3


def test_too_little_heldout_audio_is_said(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          recordings: list[Path]) -> None:
    monkeypatch.setattr(train_cli, "run_training", FakeTraining(heldout_hours=0.2))
    result = _run(["--data-dir", str(tmp_path / "d"), "train", "-w", "computer",
                   "-r", str(recordings[0])])
    assert result.exit_code == 0, result.output
    assert "too little held-out audio to estimate false wakes" in result.output
    assert "per hour (" not in result.output  # no rate quoted


def test_verbose_shows_library_logging(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       recordings: list[Path]) -> None:
    monkeypatch.setattr(train_cli, "run_training", FakeTraining())
    result = _run(["-v", "--data-dir", str(tmp_path / "d"), "train", "-w", "computer",
                   "-r", str(recordings[0])])
    assert result.exit_code == 0, result.output
    assert result.output.count("synthesised clip") == 2100


def test_global_and_own_data_dir_and_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         recordings: list[Path]) -> None:
    fake = FakeTraining()
    monkeypatch.setattr(train_cli, "run_training", fake)
    base = ["train", "-w", "computer", "-r", str(recordings[0])]
    env = {"WAKEBUILDER_DATA_DIR": str(tmp_path / "env")}
    _run(["--data-dir", str(tmp_path / "global"), *base], env=env)
    _run([*base, "--data-dir", str(tmp_path / "own")], env=env)
    _run([*base, "--out", str(tmp_path / "out")], env=env)
    dirs = [(layout.data_dir, layout.models_dir) for _, layout in fake.calls]
    assert dirs == [(tmp_path / "global", tmp_path / "global" / "models"),
                    (tmp_path / "own", tmp_path / "own" / "models"),
                    (tmp_path / "env", tmp_path / "out")]


def test_conflicting_options_exit_2_naming_both(tmp_path: Path,
                                                recordings: list[Path]) -> None:
    result = _run(["--data-dir", str(tmp_path), "train", "-w", "computer",
                   "-r", str(recordings[0]),
                   "--config", '{"model_type": "mlp", "use_tcn": true}'])
    assert result.exit_code == 2
    assert "model_type='mlp'" in result.output and "use_tcn" in result.output

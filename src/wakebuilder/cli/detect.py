"""``wakebuilder detect``: run the streaming detector over an audio file."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from wakebuilder.audio.format import SAMPLE_RATE, seconds
from wakebuilder.audio.io import decode_audio
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import Detection, StreamingDetector
from wakebuilder.detection.model import WakeModel
from wakebuilder.errors import WakeBuilderError
from wakebuilder.modelstore.manifest import ModelManifest


def load_model_dir(model_dir: Path) -> tuple[WakeModel, ModelManifest]:
    """Load the ONNX head and manifest of a model directory."""
    manifests = sorted(model_dir.glob("*.json"))
    if not manifests:
        raise typer.BadParameter(f"no model manifest (*.json) in {model_dir}")
    manifest = ModelManifest.model_validate_json(manifests[0].read_text())
    model = WakeModel(model_dir / f"{manifest.id}.onnx", name=manifest.wake_word)
    return model, manifest


def detect_file(model: WakeModel, config: DetectorConfig, samples: object,
                chunk_samples: int = SAMPLE_RATE // 10) -> list[Detection]:
    """Stream ``samples`` through a fresh detector in small chunks, as a live client would."""
    import numpy as np

    arr = np.asarray(samples, dtype=np.float32)
    detector = StreamingDetector(model, config)
    found: list[Detection] = []
    for i in range(0, len(arr), chunk_samples):
        found.extend(detector.process(arr[i:i + chunk_samples]))
    return found


def register(app: typer.Typer) -> None:
    """Add the ``detect`` command."""

    @app.command("detect")
    def detect_cmd(
        audio: Path = typer.Argument(..., exists=True, dir_okay=False, help="Audio file"),
        model_dir: Path = typer.Option(..., "--model", exists=True, file_okay=False,
                                       help="Model directory (holds {id}.onnx and {id}.json)"),
        threshold: float | None = typer.Option(None, help="Override the calibrated threshold"),
        as_json: bool = typer.Option(False, "--json", help="Print JSON"),
    ) -> None:
        """Print every detection in AUDIO with its time and score."""
        try:
            model, manifest = load_model_dir(model_dir)
            config = manifest.detector
            if threshold is not None:
                config = config.model_copy(update={"threshold": threshold})
            samples = decode_audio(audio)
            found = detect_file(model, config, samples)
        except WakeBuilderError as exc:
            typer.echo(json.dumps(exc.to_dict()), err=True)
            raise typer.Exit(2) from exc
        if as_json:
            typer.echo(json.dumps({"model_id": manifest.id, "threshold": config.threshold,
                                   "duration_s": round(seconds(samples), 3),
                                   "detections": [d.to_dict() for d in found]}, indent=2))
            return
        table = Table(title=f"{len(found)} detection(s) of {manifest.wake_word!r} in {audio.name}")
        table.add_column("time (s)", justify="right")
        table.add_column("score", justify="right")
        for d in found:
            table.add_row(f"{d.time_ms / 1000:.2f}", f"{d.score:.3f}")
        Console().print(table)

"""``wakebuilder detect``: run the streaming detector over an audio file."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from wakebuilder.audio.io import LOCAL_LIMITS, iter_audio
from wakebuilder.cli.context import cli_state
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.file import FileDetections, detect_blocks, detect_stream
from wakebuilder.detection.model import WakeModel
from wakebuilder.errors import WakeBuilderError
from wakebuilder.layout import DataLayout
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.wakeword import is_valid_id


def load_model_dir(model_dir: Path) -> tuple[WakeModel, ModelManifest]:
    """Load the ONNX head and manifest of a model directory."""
    manifests = sorted(model_dir.glob("*.json"))
    if not manifests:
        raise typer.BadParameter(f"no model manifest (*.json) in {model_dir}")
    manifest = ModelManifest.model_validate_json(manifests[0].read_text())
    model = WakeModel(model_dir / f"{manifest.id}.onnx", name=manifest.wake_word)
    return model, manifest


def resolve_model(ref: str, layout: DataLayout) -> Path:
    """A model directory from ``--model``: a directory path, or a model id in the layout's
    models (custom first, then default)."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return path
    if is_valid_id(ref):
        for base in (layout.models_dir, layout.default_models_dir):
            if base is not None and (base / ref / f"{ref}.json").is_file():
                return base / ref
    raise typer.BadParameter(f"{ref!r} is neither a model directory nor the id of a model in "
                             f"{layout.models_dir}", param_hint="--model")


detect_file = detect_stream
"""Live-stream semantics (no warm-up padding); kept for callers that mirror the WebSocket."""


def detect_path(model: WakeModel, config: DetectorConfig, audio: Path) -> FileDetections:
    """Detections in a file, decoded and scored block by block (no length cap: memory stays
    bounded); the same function and warm-up padding as ``POST /api/test/file``."""
    return detect_blocks(model, config, iter_audio(audio, audio.name,
                                                   LOCAL_LIMITS.with_max_seconds(None)))


def register(app: typer.Typer) -> None:
    """Add the ``detect`` command."""

    @app.command("detect")
    def detect_cmd(
        ctx: typer.Context,
        audio: Path = typer.Argument(..., exists=True, dir_okay=False, help="Audio file"),
        model_ref: str = typer.Option(..., "--model", help="Model directory (holds {id}.onnx "
                                      "and {id}.json), or the id of a model in the data "
                                      "directory (--data-dir, WAKEBUILDER_DATA_DIR)"),
        threshold: float | None = typer.Option(None, help="Override the calibrated threshold"),
        as_json: bool = typer.Option(False, "--json", help="Print JSON"),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory whose "
                                             "models/ --model ids name"),
    ) -> None:
        """Print every detection in AUDIO with its time and score."""
        try:
            model_dir = resolve_model(model_ref, cli_state(ctx).layout(data_dir=data_dir))
            model, manifest = load_model_dir(model_dir)
            config = manifest.detector
            if threshold is not None:
                config = config.model_copy(update={"threshold": threshold})
            result = detect_path(model, config, audio)
        except WakeBuilderError as exc:
            typer.echo(json.dumps(exc.to_dict()), err=True)
            raise typer.Exit(2) from exc
        if as_json:
            typer.echo(json.dumps({"model_id": manifest.id, "threshold": config.threshold,
                                   "duration_s": round(result.duration_s, 3),
                                   "confidence": round(result.confidence, 4),
                                   "detections": [d.to_dict() for d in result.detections]},
                                  indent=2))
            return
        found = result.detections
        table = Table(title=f"{len(found)} detection(s) of {manifest.wake_word!r} in {audio.name}")
        table.add_column("time (s)", justify="right")
        table.add_column("score", justify="right")
        for d in found:
            table.add_row(f"{d.time_ms / 1000:.2f}", f"{d.score:.3f}")
        Console().print(table)

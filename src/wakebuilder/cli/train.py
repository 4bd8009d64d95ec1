"""``wakebuilder train``: text + recordings -> a calibrated model directory."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from wakebuilder.errors import WakeBuilderError
from wakebuilder.layout import DataLayout
from wakebuilder.pipeline.request import TrainRequest, load_train_options
from wakebuilder.pipeline.run import run_training
from wakebuilder.training.config import DataPlan, TrainConfig, fast_config
from wakebuilder.training.progress import ProgressEvent


def register(app: typer.Typer) -> None:
    """Add the ``train`` command."""

    @app.command("train")
    def train_cmd(
        wake_word: str = typer.Option(..., "--wake-word", "-w", help="The wake word text"),
        recordings: list[Path] = typer.Option(..., "--recording", "-r", exists=True,
                                              dir_okay=False, help="1 to 5 recordings"),
        out: Path = typer.Option(Path("data/models"), "--out", "-o",
                                 help="Directory that receives the model directory"),
        data_dir: Path = typer.Option(Path("data"), "--data-dir",
                                      help="Negative cache, voices and negative audio"),
        target_fa_per_hour: float | None = typer.Option(
            None, help="False accepts per hour to allow [default: 0.5, or the --config's]"),
        seed: int | None = typer.Option(
            None, help="Random seed (data and weights) [default: 0, or the --config's]"),
        threads: int = typer.Option(2, help="CPU threads"),
        fast: bool = typer.Option(False, help="Small, quick settings (for demos and tests)"),
        config_json: str | None = typer.Option(
            None, "--config", help="Training options: a JSON object, or the path of a JSON "
            "file; a model's manifest (or {\"training_config\": ..., \"recipe\": ...}) "
            "retrains that model exactly (same seed, same recordings: the same weights)"),
        as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON"),
    ) -> None:
        """Train a wake-word model from its text and 1-5 recordings."""
        try:
            options, recipe = load_train_options(config_json) if config_json else ({}, None)
        except WakeBuilderError as exc:
            typer.echo(f"error {exc.code}: {exc.message}", err=True)
            raise typer.Exit(2) from exc
        if target_fa_per_hour is not None:
            options["target_fa_per_hour"] = target_fa_per_hour
        if seed is not None:
            options["seed"] = seed
        config = fast_config(**options) if fast else TrainConfig.model_validate(options)
        paths = DataLayout(data_dir.resolve()).with_models_dir(out.resolve())
        console = Console(stderr=True)
        columns = (TextColumn("{task.description:<28}"), BarColumn(), TextColumn(
            "{task.percentage:>5.1f}%"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn())
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("starting", total=100)

            def on_progress(ev: ProgressEvent) -> None:
                bar.update(task, completed=ev.progress, description=ev.phase[:28])
                if ev.message:
                    bar.console.log(ev.message)

            try:
                result = run_training(TrainRequest(wake_word, list(recordings), config,
                                                   recipe or DataPlan()), paths,
                                      progress=on_progress, threads=threads)
            except WakeBuilderError as exc:
                console.print(f"[red]error[/red] {exc.code}: {exc.message}")
                typer.echo(json.dumps(exc.to_dict()), err=True)
                raise typer.Exit(2) from exc
        m = result.manifest
        if as_json:
            typer.echo(json.dumps(m.model_dump(mode="json"), indent=2))
            return
        table = Table(title=f"Model {m.id!r} for {m.wake_word!r}")
        table.add_column("")
        table.add_column("value", justify="right")
        rows = [("directory", str(result.model_dir)), ("threshold", f"{m.threshold:.4f}"),
                ("target FA/h", f"{m.target_fa_per_hour}")]
        mt = m.metrics
        figures = {"heldout_fa_per_hour": mt.heldout_fa_per_hour if mt.enough_heldout_audio
                   else "too little held-out audio to estimate",
                   "heldout_hours": mt.heldout_hours, "frr": mt.frr,
                   "calibration_fa_per_hour (in-sample)": mt.calibration_fa_per_hour,
                   "train_seconds": mt.train_seconds}
        rows += [(k, str(v)) for k, v in figures.items() if v is not None]
        rows += [(k, str(v)) for k, v in m.data_stats.items() if not isinstance(v, dict)]
        for k, v in rows:
            table.add_row(k, v)
        Console().print(table)
        for note in m.notes:
            console.print(f"[yellow]note[/yellow] {note}")

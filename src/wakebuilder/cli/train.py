"""``wakebuilder train``: text + recordings -> a calibrated model directory.

What a person sees: one live progress line (phase, percent, elapsed, ETA, the latest step),
one line of news per finished phase and per warning, then a summary read in ten seconds
(threshold, held-out false wakes and misses in plain words naming the audio, where the files
are, what to do next). Library logging below WARNING is silenced unless ``-v``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from wakebuilder.cli.context import cli_state
from wakebuilder.errors import WakeBuilderError
from wakebuilder.modelstore.report import describe_fa_rate, heldout_audio_words
from wakebuilder.pipeline.request import TrainRequest, TrainResult, load_train_options
from wakebuilder.pipeline.run import run_training
from wakebuilder.training.config import DataPlan, TrainConfig, fast_config
from wakebuilder.training.progress import ProgressEvent

WARNINGS_SHOWN = 5
"""Warnings printed per logger; the rest are counted (``-v`` shows them all)."""


class TrainDisplay:
    """The live progress line and the news lines above it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description:<24}"), BarColumn(bar_width=24),
            TextColumn("{task.percentage:>5.1f}%"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("[dim]{task.fields[step]}"),
            console=console, transient=True)
        self.task: TaskID | None = None
        self.phase: str | None = None
        self.phase_started = 0.0

    def __enter__(self) -> TrainDisplay:
        self.progress.start()
        self.task = self.progress.add_task("Starting", total=100, step="")
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def news(self, text: str) -> None:
        """One line above the progress bar."""
        self.progress.console.print(text, highlight=False, soft_wrap=True)

    def on_event(self, ev: ProgressEvent) -> None:
        """A pipeline progress event: update the bar; a new phase is news."""
        now = time.monotonic()
        if ev.phase != self.phase:
            if self.phase is not None:
                self.news(f"[green]done[/green] {self.phase} ({now - self.phase_started:.0f} s)")
            self.phase, self.phase_started = ev.phase, now
        assert self.task is not None
        self.progress.update(self.task, completed=ev.progress, description=ev.phase[:24],
                             step=escape(ev.message[:48]))

    def finish(self) -> None:
        """The last phase is done."""
        if self.phase is not None:
            self.news(f"[green]done[/green] {self.phase} "
                      f"({time.monotonic() - self.phase_started:.0f} s)")
            self.phase = None


class _NewsHandler(logging.Handler):
    """Warnings from the libraries as news lines, at most WARNINGS_SHOWN per logger."""

    def __init__(self, display: TrainDisplay, verbose: bool) -> None:
        super().__init__(logging.DEBUG if verbose else logging.WARNING)
        self.display = display
        self.verbose = verbose
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.name] += 1
        if not self.verbose and self.counts[record.name] > WARNINGS_SHOWN:
            return
        style = "yellow" if record.levelno >= logging.WARNING else "dim"
        self.display.news(f"[{style}]{record.levelname.lower()}[/{style}] "
                          f"{escape(record.getMessage())}")

    def hidden(self) -> int:
        """Warnings not printed."""
        return sum(max(0, n - WARNINGS_SHOWN) for n in self.counts.values())


@contextmanager
def news_logging(display: TrainDisplay, verbose: bool) -> Iterator[_NewsHandler]:
    """Route logging to the display while training: WARNING and above (everything with -v);
    per-clip and per-stream INFO lines of the libraries are silenced."""
    root = logging.getLogger()
    saved = (root.level, root.handlers[:])
    handler = _NewsHandler(display, verbose)
    root.handlers = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    try:
        yield handler
    finally:
        root.handlers = saved[1]
        root.setLevel(saved[0])


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def summary_lines(result: TrainResult, seconds: float) -> list[str]:
    """The ten-second summary (rich markup)."""
    m = result.manifest
    mt = m.metrics
    directory = escape(str(result.model_dir.resolve()))
    lines = [f"[bold]Model {escape(repr(m.id))} for {escape(repr(m.wake_word))} is ready"
             f"[/bold] ({_minutes(seconds)})",
             f"  Threshold    {m.threshold:.4f} (chosen for at most {m.target_fa_per_hour} "
             "false wakes per hour on the calibration audio)"]
    h = mt.heldout
    if h is None:
        lines.append("  False wakes  not measured (no held-out audio in the negative store)")
    elif not mt.enough_heldout_audio:
        lines.append(f"  False wakes  too little held-out audio to estimate false wakes "
                     f"({h.hours:.2f} h; add audio: wakebuilder corpus fetch, then "
                     "wakebuilder cache build)")
    else:
        bound = (f", at most {h.upper_95_per_hour:.2f}/h at 95 %"
                 if h.upper_95_per_hour is not None else "")
        lines.append(f"  False wakes  {h.fa_per_hour:.2f} per hour "
                     f"({describe_fa_rate(h.fa_per_hour)}{bound}) on "
                     f"{heldout_audio_words(mt)}")
    r = mt.rejects
    if r.overall.frr is None:
        lines.append("  Misses       not measured (no held-out positives)")
    else:
        what = ["TTS voices held out of training"] if r.tts_heldout.frr is not None else []
        if r.user_heldout.frr is not None:
            what.append("your untouched recording, measured before the model trained on it"
                        if r.user_heldout_is_fold else "your untouched recording")
        count = f" of {r.overall.count} held-out clips" if r.overall.count else ""
        lines.append(f"  Misses       {100 * r.overall.frr:.1f} %{count}"
                     + (f" ({', '.join(what)})" if what else ""))
    names = sorted(v for v in m.files.values() if v != "report.md")
    files = escape(", ".join(names) or f"{m.id}.onnx, {m.id}.json")
    lines += [f"  Files        {directory}",
              f"               ({files}; report.md explains every figure)"]
    lines += ["[bold]Next[/bold]",
              f"  wakebuilder detect some.wav --model {directory}",
              "  wakebuilder serve            (web UI with a live microphone test on "
              "http://127.0.0.1:8000)",
              "  Home Assistant: README, section 'Home Assistant' (wakebuilder wyoming, or "
              f"{m.id}.tflite in the openWakeWord add-on at threshold 0.5)"]
    return lines


def register(app: typer.Typer) -> None:
    """Add the ``train`` command."""

    @app.command("train")
    def train_cmd(
        ctx: typer.Context,
        wake_word: str = typer.Option(..., "--wake-word", "-w", help="The wake word text"),
        recordings: list[Path] = typer.Option(..., "--recording", "-r", exists=True,
                                              dir_okay=False, help="1 to 5 recordings"),
        out: Path | None = typer.Option(None, "--out", "-o", help="Directory that receives "
                                        "the model directory [default: DATA_DIR/models]"),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Negative store, voices "
                                             "and negative audio [default: wakebuilder "
                                             "--data-dir, WAKEBUILDER_DATA_DIR, or data]"),
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
        state = cli_state(ctx)
        console = Console(stderr=True)
        try:
            options, recipe = load_train_options(config_json) if config_json else ({}, None)
            if target_fa_per_hour is not None:
                options["target_fa_per_hour"] = target_fa_per_hour
            if seed is not None:
                options["seed"] = seed
            config = fast_config(**options) if fast else TrainConfig.model_validate(options)
        except WakeBuilderError as exc:
            typer.echo(f"error {exc.code}: {exc.message}", err=True)
            raise typer.Exit(2) from exc
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                typer.echo(f"error: {where + ': ' if where else ''}"
                           f"{err['msg'].removeprefix('Value error, ')}", err=True)
            raise typer.Exit(2) from exc
        layout = state.layout(data_dir=data_dir.resolve() if data_dir else None)
        if out is not None:
            layout = layout.with_models_dir(out.resolve())
        started = time.monotonic()
        with TrainDisplay(console) as display, news_logging(display, state.verbose) as logs:
            try:
                result = run_training(TrainRequest(wake_word, list(recordings), config,
                                                   recipe or DataPlan()), layout,
                                      progress=display.on_event, threads=threads)
            except WakeBuilderError as exc:
                console.print(f"[red]error[/red] {exc.code}: {escape(exc.message)}")
                typer.echo(json.dumps(exc.to_dict()), err=True)
                raise typer.Exit(2) from exc
            display.finish()
            if logs.hidden():
                display.news(f"[dim]{logs.hidden()} more warnings (wakebuilder -v train ... "
                             "shows them)[/dim]")
        if as_json:
            typer.echo(json.dumps(result.manifest.model_dump(mode="json"), indent=2))
            return
        stdout = Console()
        for note in result.manifest.notes:
            stdout.print(f"[yellow]note[/yellow] {escape(note)}", soft_wrap=True)
        for line in summary_lines(result, time.monotonic() - started):
            stdout.print(line, highlight=False, soft_wrap=True)

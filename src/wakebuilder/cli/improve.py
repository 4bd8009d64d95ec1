"""``wakebuilder improve``: fine-tune a model with clips that fooled it (and clips of the wake
word it missed), re-calibrate, and publish a new version next to the old one."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from wakebuilder.cli.context import cli_state
from wakebuilder.cli.train import TrainDisplay, news_logging
from wakebuilder.errors import WakeBuilderError
from wakebuilder.improve.options import ImproveOptions
from wakebuilder.improve.run import ImproveRequest, ImproveResult, list_wavs, run_improve


def summary_lines(result: ImproveResult) -> list[str]:
    """What changed, in a few lines."""
    imp = result.improvement
    b, a = imp["before"], imp["after"]

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f} %"

    def fa(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    return [
        f"[bold]{result.model_id}[/bold] published next to {imp['improved_from']} "
        f"(in {result.model_dir})",
        f"  before: threshold {b['threshold']:.4f}, held-out FA/h {fa(b['fa_per_hour'])}, "
        f"FRR {pct(b['frr'])}",
        f"  after:  threshold {a['threshold']:.4f}, held-out FA/h {fa(a['fa_per_hour'])}, "
        f"FRR {pct(a['frr'])}",
        f"  labelled false wakes still firing: {imp['false_wakes_firing_after']} of "
        f"{imp['false_wakes']} (before: {imp['false_wakes_firing_before']})",
    ]


def register(app: typer.Typer) -> None:
    """Add the ``improve`` command."""

    @app.command("improve")
    def improve_cmd(
        ctx: typer.Context,
        model: Path = typer.Option(..., "--model", "-m", exists=True, file_okay=False,
                                   help="The model directory to improve"),
        negatives: Path | None = typer.Option(
            None, "--negatives", exists=True, file_okay=False,
            help="Folder of clips that falsely woke the model (\"not my wake word\")"),
        positives: Path | None = typer.Option(
            None, "--positives", exists=True, file_okay=False,
            help="Folder of clips of the wake word (detected or missed: \"that was me\")"),
        recordings: list[Path] = typer.Option(
            [], "--recording", "-r", exists=True, dir_okay=False,
            help="The original recordings (keeps the user's voice in the fine-tune)"),
        out: Path | None = typer.Option(None, "--out", "-o", help="Directory that receives "
                                        "the new model [default: beside --model]"),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Negative store and "
                                             "voices [default: wakebuilder --data-dir, "
                                             "WAKEBUILDER_DATA_DIR, or data]"),
        max_frr_increase: float = typer.Option(
            0.01, help="Largest rise of held-out FRR allowed (0.01 = 1 point)"),
        accept_worse_frr: bool = typer.Option(
            False, help="Publish even if FRR rose by more than --max-frr-increase"),
        seed: int = typer.Option(0, help="Random seed"),
        threads: int = typer.Option(2, help="CPU threads"),
        as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON"),
    ) -> None:
        """Fine-tune a model with labelled clips and publish it as a new version."""
        state = cli_state(ctx)
        console = Console(stderr=True)
        layout = state.layout(data_dir=data_dir.resolve() if data_dir else None)
        layout = layout.with_models_dir((out or model.resolve().parent).resolve())
        try:
            request = ImproveRequest(
                model_dir=model.resolve(),
                negatives=list_wavs(negatives) if negatives else [],
                positives=list_wavs(positives) if positives else [],
                recordings=list(recordings),
                options=ImproveOptions(max_frr_increase=max_frr_increase,
                                       accept_worse_frr=accept_worse_frr, seed=seed))
            with TrainDisplay(console) as display, news_logging(display, state.verbose):
                result = run_improve(request, layout, progress=display.on_event,
                                     threads=threads)
                display.finish()
        except WakeBuilderError as exc:
            console.print(f"[red]error[/red] {exc.code}: {escape(exc.message)}")
            typer.echo(json.dumps(exc.to_dict()), err=True)
            raise typer.Exit(2) from exc
        if as_json:
            typer.echo(json.dumps({"model_id": result.model_id,
                                   "model_dir": str(result.model_dir),
                                   "improvement": result.improvement}, indent=2))
            return
        stdout = Console()
        for line in summary_lines(result):
            stdout.print(line, highlight=False, soft_wrap=True)

"""``wakebuilder corpus`` and ``wakebuilder cache``: negative audio and its feature store."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

from wakebuilder.cli.context import cli_state
from wakebuilder.corpus.apt import require_apt
from wakebuilder.corpus.fetch import fetch_corpus
from wakebuilder.corpus.model import KINDS, CorpusProgress
from wakebuilder.corpus.sources import get_sources
from wakebuilder.errors import CancelledError, WakeBuilderError
from wakebuilder.layout import DataLayout
from wakebuilder.negstore.build import cache_info, clear_cache
from wakebuilder.negstore.progressive import build_with_status, prepare_negatives

corpus_app = typer.Typer(help="Real speech, music and effects for negatives, from Debian packages.",
                         no_args_is_help=True)
cache_app = typer.Typer(help="The negative feature store used by every training job.",
                        no_args_is_help=True)
DATA_DIR = typer.Option(None, "--data-dir", help="Data directory (default: wakebuilder "
                        "--data-dir, WAKEBUILDER_DATA_DIR, or data)")


def _layout(ctx: typer.Context, data_dir: Path | None) -> DataLayout:
    return cli_state(ctx).layout(data_dir=data_dir.resolve() if data_dir else None)


@corpus_app.command("list")
def corpus_list() -> None:
    """List the corpus sources (kind, Debian packages, licence)."""
    for s in get_sources():
        typer.echo(f"{s.id:<22} {s.kind:<8} {', '.join(s.packages):<42} {s.licence}")


@corpus_app.command("fetch")
def corpus_fetch(ctx: typer.Context, data_dir: Path | None = DATA_DIR,
                 source: list[str] = typer.Option(None, "--source",
                                                  help="Only these sources (repeatable)"),
                 kind: list[str] = typer.Option(None, "--kind",
                                                help="Only sources of these kinds "
                                                f"({', '.join(KINDS)}; repeatable)"),
                 optional: bool = typer.Option(False, "--optional",
                                               help="Exit 0 with a warning when apt is missing"),
                 ) -> None:
    """Fetch real speech, music and effects with apt-get download into
    DATA_DIR/negative/corpus (licences kept)."""
    console = Console(stderr=True)

    def on_progress(ev: CorpusProgress) -> None:
        console.log(f"{ev.source}: {ev.stage} {ev.message} ({ev.clips} clips)")

    if bad := [k for k in kind or [] if k not in KINDS]:
        raise typer.BadParameter(f"unknown kind(s) {bad}; use {', '.join(KINDS)}",
                                 param_hint="--kind")
    ids = source or ([s.id for s in get_sources(kinds=kind)] if kind else None)
    try:
        manifest = fetch_corpus(_layout(ctx, data_dir).corpus_dir, sources=ids,
                                progress=on_progress)
    except WakeBuilderError as exc:
        if optional:
            console.print(f"[yellow]warning[/yellow] corpus not fetched: {exc.message}")
            return
        typer.echo(json.dumps(exc.to_dict()), err=True)
        raise typer.Exit(2) from exc
    by_kind = ", ".join(f"{k} {h:.2f} h" for k, h in manifest.hours_by_kind().items())
    console.print(f"{manifest.total_clips} clips, {manifest.total_seconds / 3600:.2f} h "
                  f"from {len(manifest.sources)} sources ({by_kind})")
    for sid, reason in manifest.failures.items():
        console.print(f"[red]failed[/red] {sid}: {reason}")
    if manifest.failures and not optional:
        raise typer.Exit(1)


def _percent_logger() -> Callable[[float, str], None]:
    """A progress callback that logs a line to stderr each time the whole percent changes."""
    console = Console(stderr=True)
    last = {"pct": -1}

    def on_progress(fraction: float, message: str) -> None:
        pct = int(fraction * 100)
        if pct != last["pct"]:
            last["pct"] = pct
            console.log(f"{pct:3d}% {message}")

    return on_progress


@cache_app.command("build")
def cache_build(ctx: typer.Context, data_dir: Path | None = DATA_DIR,
                max_workers: int = typer.Option(1, help="Worker processes")) -> None:
    """Embed the generated corpus and every file under DATA_DIR/negative (incremental)."""
    on_progress = _percent_logger()

    report = build_with_status(_layout(ctx, data_dir),
                               max_workers=max_workers, progress=on_progress)
    typer.echo(json.dumps(report, indent=2))


@cache_app.command("prepare")
def cache_prepare(ctx: typer.Context, data_dir: Path | None = DATA_DIR,
                  fetch: bool = typer.Option(True, "--fetch/--no-fetch",
                                             help="Also fetch the corpus from Debian"),
                  source: list[str] = typer.Option(None, "--source",
                                                   help="Only these corpus sources "
                                                   "(repeatable; default all)")) -> None:
    """First run, progressively: the generated corpus, a quick diverse slice of real speech,
    music and effects (usable by training within minutes), then the rest in the background of
    this command. `cache info` shows where it stands."""
    console = Console(stderr=True)
    on_progress = _percent_logger()

    layout = _layout(ctx, data_dir)
    if fetch:
        try:
            require_apt()
        except WakeBuilderError as exc:
            console.print(f"[yellow]warning[/yellow] corpus not fetched: {exc.message}")
            fetch = False
    if source:
        get_sources(list(source))  # unknown ids: KeyError naming the known ones
    stopped = threading.Event()  # SIGTERM: cancel at the next check, stop the fetch process
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    try:
        report = prepare_negatives(layout, layout.corpus_dir, fetch=fetch,
                                   progress=on_progress, should_cancel=stopped.is_set,
                                   source_ids=list(source) if source else None)
    except CancelledError as exc:
        console.print(f"[yellow]stopped[/yellow] {exc.message}: what was committed stays, "
                      "`wakebuilder cache prepare` resumes")
        raise typer.Exit(128 + signal.SIGTERM) from None
    for sid, reason in report.get("missing_sources", {}).items():
        console.print(f"[red]missing[/red] {sid}: {reason} (rerun to retry)")
    typer.echo(json.dumps(report, indent=2, default=str))


@cache_app.command("info")
def cache_info_cmd(ctx: typer.Context, data_dir: Path | None = DATA_DIR) -> None:
    """Print the negative cache statistics as JSON."""
    typer.echo(json.dumps(cache_info(_layout(ctx, data_dir)), indent=2))


@cache_app.command("clear")
def cache_clear(ctx: typer.Context, data_dir: Path | None = DATA_DIR) -> None:
    """Delete every stored negative embedding."""
    clear_cache(_layout(ctx, data_dir))
    typer.echo("cache cleared")


def register(app: typer.Typer) -> None:
    """Add the ``corpus`` and ``cache`` command groups."""
    app.add_typer(corpus_app, name="corpus")
    app.add_typer(cache_app, name="cache")

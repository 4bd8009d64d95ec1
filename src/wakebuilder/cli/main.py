"""``wakebuilder``: serve | wyoming | train | improve | detect | corpus | cache."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from wakebuilder.cli import data, detect, improve, serve, train, wyoming
from wakebuilder.cli.context import CliState, settings_from

app = typer.Typer(help="WakeBuilder: custom wake words, trained offline on a CPU.",
                  no_args_is_help=True, add_completion=False)
train.register(app)
improve.register(app)
detect.register(app)
data.register(app)
serve.register(app)
wyoming.register(app)


@app.callback()
def _main(ctx: typer.Context,
          verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging"),
          data_dir: Path | None = typer.Option(
              None, "--data-dir", help="Data directory of every command (default data, or "
              "WAKEBUILDER_DATA_DIR); a command's own --data-dir wins")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    ctx.obj = CliState(settings_from(**overrides), overrides, verbose)


if __name__ == "__main__":
    app()

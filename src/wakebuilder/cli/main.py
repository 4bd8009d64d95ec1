"""``wakebuilder``: serve | wyoming | train | detect | corpus | cache."""

from __future__ import annotations

import logging

import typer

from wakebuilder.cli import data, detect, serve, train, wyoming

app = typer.Typer(help="WakeBuilder: custom wake words, trained offline on a CPU.",
                  no_args_is_help=True, add_completion=False)
train.register(app)
detect.register(app)
data.register(app)
serve.register(app)
wyoming.register(app)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


if __name__ == "__main__":
    app()

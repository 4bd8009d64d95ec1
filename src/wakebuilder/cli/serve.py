"""``wakebuilder serve``: the REST API and web UI under uvicorn (127.0.0.1:8000 by default),
optionally with the Wyoming server in the same process (``--wyoming URI``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from wakebuilder.settings import Settings

_DEFAULTS = {name: field.default for name, field in Settings.model_fields.items()}


def uvicorn_options() -> dict[str, Any]:
    """uvicorn settings every server of the app uses (CLI, tests, benchmarks).

    ``ws_max_size`` is the largest message the WebSocket protocol needs (uvicorn's default of
    16 MiB let one client make the server parse 15 MiB text frames); no proxy headers (the
    peer address is the client's, for the per-address limit) and no ``Server`` header.
    """
    from wakebuilder.api.realtime.pool import RealtimeLimits

    return {"ws_max_size": RealtimeLimits().max_message_bytes, "proxy_headers": False,
            "server_header": False}


def serve(*, host: str | None = None, port: int | None = None, data_dir: Path | None = None,
          allow_remote: bool | None = None, log_level: str = "info",
          wyoming: str | None = None, wyoming_capture: bool | None = None) -> None:
    """Build settings (environment, then the given overrides) and run uvicorn; with
    ``wyoming`` (a URI), the Wyoming server runs alongside in the same process."""
    import uvicorn

    from wakebuilder.api.app import create_app
    from wakebuilder.cli.context import settings_from
    from wakebuilder.cli.wyoming import run_with_api

    overrides = {k: v for k, v in (("host", host), ("port", port), ("data_dir", data_dir),
                                   ("allow_remote", allow_remote), ("wyoming_uri", wyoming),
                                   ("wyoming_capture", wyoming_capture))
                 if v is not None}
    settings = settings_from(**overrides)
    app = create_app(settings)
    if wyoming is not None:
        run_with_api(app, settings, log_level=log_level, **uvicorn_options())
        return
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level,
                **uvicorn_options())


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command."""

    @app.command("serve")
    def serve_cmd(
        ctx: typer.Context,
        host: str | None = typer.Option(None, "--host", help="Bind address (default "
                                        f"{_DEFAULTS['host']}, or WAKEBUILDER_HOST)"),
        port: int | None = typer.Option(None, "--port", "-p", help="Port (default "
                                        f"{_DEFAULTS['port']}, or WAKEBUILDER_PORT)"),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory (default "
                                             f"{_DEFAULTS['data_dir']}, or "
                                             "WAKEBUILDER_DATA_DIR)"),
        allow_remote: bool | None = typer.Option(None, "--allow-remote/--local-only",
                                                 help="Allow a non-loopback --host"),
        log_level: str = typer.Option("info", "--log-level", help="uvicorn log level"),
        wyoming: str | None = typer.Option(None, "--wyoming", metavar="URI", help="Also run "
                                           "the Wyoming server for Home Assistant (e.g. "
                                           f"{_DEFAULTS['wyoming_uri']}; a non-loopback "
                                           "host needs --allow-remote)"),
        wyoming_capture: bool | None = typer.Option(
            None, "--wyoming-capture/--no-wyoming-capture", help="With --wyoming: keep a clip "
            "of every Wyoming detection for review (off by default)"),
    ) -> None:
        """Serve the REST API, its docs (/docs) and the web UI."""
        from wakebuilder.cli.context import cli_state

        global_dir = cli_state(ctx).overrides.get("data_dir")  # wakebuilder --data-dir
        serve(host=host, port=port, data_dir=data_dir or global_dir, allow_remote=allow_remote,
              log_level=log_level, wyoming=wyoming, wyoming_capture=wyoming_capture)

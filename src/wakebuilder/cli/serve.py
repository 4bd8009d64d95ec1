"""``wakebuilder serve``: the REST API and web UI under uvicorn (127.0.0.1:8000 by default)."""

from __future__ import annotations

from pathlib import Path

import typer

from wakebuilder.settings import Settings

_DEFAULTS = {name: field.default for name, field in Settings.model_fields.items()}


def serve(*, host: str | None = None, port: int | None = None, data_dir: Path | None = None,
          allow_remote: bool | None = None, log_level: str = "info") -> None:
    """Build settings (environment, then the given overrides) and run uvicorn."""
    import uvicorn

    from wakebuilder.api.app import create_app
    from wakebuilder.settings import load_settings

    overrides = {k: v for k, v in (("host", host), ("port", port), ("data_dir", data_dir),
                                   ("allow_remote", allow_remote)) if v is not None}
    settings = load_settings(**overrides)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level,
                proxy_headers=False, server_header=False)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command."""

    @app.command("serve")
    def serve_cmd(
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
    ) -> None:
        """Serve the REST API, its docs (/docs) and the web UI."""
        serve(host=host, port=port, data_dir=data_dir, allow_remote=allow_remote,
              log_level=log_level)

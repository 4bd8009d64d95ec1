"""``wakebuilder wyoming``: the Wyoming wake-word server for Home Assistant (port 10400)."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from pathlib import Path
from typing import Any

import typer

from wakebuilder.cli.context import cli_state
from wakebuilder.errors import WakeBuilderError
from wakebuilder.settings import Settings

_DEFAULTS = {name: field.default for name, field in Settings.model_fields.items()}

REMOTE_HELP = ("Allow a non-loopback bind address (needed for Home Assistant on another "
               "machine, e.g. --uri tcp://0.0.0.0:10400). Anyone who can reach the port can "
               "list and use your models; there is no authentication in the Wyoming protocol")


CAPTURE_HELP = ("Keep a clip (about 2.5 s, WAV) of every detection under DATA_DIR/captures/ "
                "for review and `improve` (off by default: the server listens in a home; or "
                "WAKEBUILDER_WYOMING_CAPTURE)")


def wyoming_config(settings: Settings) -> Any:
    """The server's :class:`~wakebuilder.wyoming_server.server.WyomingConfig` from settings."""
    from wakebuilder.wyoming_server.protocol import WyomingLimits
    from wakebuilder.wyoming_server.server import WyomingConfig

    captures = None
    if settings.wyoming_capture:
        from wakebuilder.capture.store import CaptureStore

        captures = CaptureStore(settings.captures_dir, settings.capture_limits())
    return WyomingConfig(
        uri=settings.wyoming_uri,
        zeroconf_name=settings.wyoming_zeroconf_name if settings.wyoming_zeroconf else None,
        limits=WyomingLimits(max_connections=settings.wyoming_max_connections,
                             threads=settings.wyoming_threads), captures=captures)


def model_store(settings: Settings) -> Any:
    """The model store of the data directory (custom and default models)."""
    from wakebuilder.modelstore.store import ModelStore

    return ModelStore(settings.models_dir, settings.default_models_dir)


def run_with_api(app: Any, settings: Settings, **uvicorn_kwargs: Any) -> None:
    """The REST app under uvicorn and the Wyoming server in one process and one event loop,
    sharing the app's model store and loaded models; Ctrl-C or SIGTERM stops both."""
    import uvicorn

    from wakebuilder.wyoming_server.server import WyomingServer, stop_on_signals

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)  # uvicorn handles the signal too, then shuts itself down
        wyoming = WyomingServer(app.state.models, wyoming_config(settings),
                                cache=app.state.model_cache)
        await wyoming.start()
        api = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port,
                                            **uvicorn_kwargs))
        try:
            api_task = asyncio.create_task(api.serve())
            stop_task = asyncio.create_task(stop.wait())
            await asyncio.wait({api_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            api.should_exit = True
            stop_task.cancel()
            await api_task
        finally:
            await wyoming.stop()

    with suppress(KeyboardInterrupt):
        asyncio.run(main())


def register(app: typer.Typer) -> None:
    """Add the ``wyoming`` command."""

    @app.command("wyoming")
    def wyoming_cmd(
        ctx: typer.Context,
        uri: str | None = typer.Option(None, "--uri", help="tcp://HOST:PORT or unix://PATH "
                                       f"(default {_DEFAULTS['wyoming_uri']}, or "
                                       "WAKEBUILDER_WYOMING_URI)"),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory whose "
                                             "models/ are served (default "
                                             f"{_DEFAULTS['data_dir']}, or "
                                             "WAKEBUILDER_DATA_DIR)"),
        allow_remote: bool | None = typer.Option(None, "--allow-remote/--local-only",
                                                 help=REMOTE_HELP),
        zeroconf: bool | None = typer.Option(None, "--zeroconf/--no-zeroconf",
                                             help="Announce the server as _wyoming._tcp so "
                                             "Home Assistant discovers it (tcp:// only)"),
        zeroconf_name: str | None = typer.Option(None, "--zeroconf-name", help="Name of the "
                                                 "announcement (default "
                                                 f"{_DEFAULTS['wyoming_zeroconf_name']})"),
        threads: int | None = typer.Option(None, "--threads", help="Inference threads shared "
                                           "by all connections (default "
                                           f"{_DEFAULTS['wyoming_threads']})"),
        capture: bool | None = typer.Option(None, "--capture/--no-capture", help=CAPTURE_HELP),
    ) -> None:
        """Serve every model in the store over the Wyoming protocol (Home Assistant).

        Thresholds and refractory periods come from each model's JSON.
        """
        from wakebuilder.wyoming_server.server import run

        settings = cli_state(ctx).settings_with(
            wyoming_uri=uri, data_dir=data_dir, allow_remote=allow_remote,
            wyoming_zeroconf=zeroconf, wyoming_zeroconf_name=zeroconf_name,
            wyoming_threads=threads, wyoming_capture=capture)
        try:
            run(model_store(settings), wyoming_config(settings))
        except WakeBuilderError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(2) from exc
        except OSError as exc:
            typer.echo(f"error: cannot serve on {settings.wyoming_uri}: {exc}", err=True)
            raise typer.Exit(1) from exc

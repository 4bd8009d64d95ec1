"""The CLI's settings: built once in the ``wakebuilder`` callback from the ``WAKEBUILDER_*``
environment and the global options (``--data-dir``); every command reads its paths from
them (a command's own ``--data-dir`` overrides the global one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import typer
from pydantic import ValidationError

from wakebuilder.layout import DataLayout
from wakebuilder.settings import Settings, load_settings


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment plus the given (non-None) options; exit 2 if invalid."""
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            typer.echo(f"error: {where + ': ' if where else ''}{message}", err=True)
        raise typer.Exit(2) from exc


@dataclass
class CliState:
    """What the callback built: the settings, the global overrides they came from, -v."""

    settings: Settings
    overrides: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False

    def settings_with(self, **options: Any) -> Settings:
        """The settings, or (when a command gives its own non-None options) the same
        environment and global options plus those."""
        extra = {k: v for k, v in options.items() if v is not None}
        if not extra:
            return self.settings
        return settings_from(**{**self.overrides, **extra})

    def layout(self, **options: Any) -> DataLayout:
        """The data layout of :meth:`settings_with` (``data_dir=`` a command's own option)."""
        return self.settings_with(**options).layout


def cli_state(ctx: typer.Context | None) -> CliState:
    """The state the callback stored; built from the environment when a command runs without
    it (a sub-app invoked on its own)."""
    root = ctx.find_root() if ctx is not None else None
    if root is not None and isinstance(root.obj, CliState):
        return root.obj
    state = CliState(settings_from())
    if root is not None:
        root.obj = state
    return state

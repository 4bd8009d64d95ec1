"""Progress events a training job reports, and the cancellation hook it polls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ProgressEvent:
    """One progress update. ``progress`` is 0-100 over the whole job."""

    phase: str
    progress: float
    message: str = ""
    current_epoch: int | None = None
    total_epochs: int | None = None
    metrics: dict[str, Any] | None = None
    data_stats: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


def no_progress(_: ProgressEvent) -> None:
    """A progress callback that ignores events."""


def never_cancel() -> bool:
    """A cancel check that never cancels."""
    return False

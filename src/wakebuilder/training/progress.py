"""Progress events a training job reports, the cancellation hook it polls, and the phase
timer both the training and the job worker use."""

from __future__ import annotations

import time
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
    phase_seconds: dict[str, float] | None = None
    """Wall seconds per phase so far (from a :class:`PhaseTimer`), when the sender keeps one."""
    extra: dict[str, Any] = field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


def no_progress(_: ProgressEvent) -> None:
    """A progress callback that ignores events."""


def never_cancel() -> bool:
    """A cancel check that never cancels."""
    return False


class PhaseTimer:
    """Wall time per phase, measured from phase changes.

    A phase starts at its first report and ends when a report names another phase (or at
    :meth:`finish`); repeated reports within a phase change nothing. A phase entered again
    later adds its new span to its total.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._closed: dict[str, float] = {}
        self._phase: str | None = None
        self._start = 0.0

    @property
    def phase(self) -> str | None:
        """The running phase (None before the first report and after :meth:`finish`)."""
        return self._phase

    def mark(self, phase: str) -> None:
        """Note a report of ``phase``: closes the running phase when this is another one."""
        if phase == self._phase:
            return
        now = self._clock()
        self._close(now)
        self._phase, self._start = phase, now

    def _close(self, now: float) -> None:
        if self._phase is not None:
            self._closed[self._phase] = self._closed.get(self._phase, 0.0) + now - self._start
            self._phase = None

    def seconds(self) -> dict[str, float]:
        """Seconds per phase in order of first report, the running phase counted until now."""
        out = dict(self._closed)
        if self._phase is not None:
            out[self._phase] = out.get(self._phase, 0.0) + self._clock() - self._start
        return {k: round(v, 3) for k, v in out.items()}

    def finish(self) -> dict[str, float]:
        """Close the running phase and return the totals."""
        self._close(self._clock())
        return self.seconds()

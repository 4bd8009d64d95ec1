"""The running state every step of a job shares: options, random generator, progress,
cancellation, and what the manifest records (data stats, notes, history, phase times)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from wakebuilder.errors import CancelledError
from wakebuilder.pipeline.request import TrainRequest
from wakebuilder.training.progress import (
    CancelCheck,
    PhaseTimer,
    ProgressCallback,
    ProgressEvent,
)

PHASES = {
    "Checking recordings": (0, 2),
    "Preparing negative data": (2, 8),
    "Synthesizing speech": (8, 25),
    "Extracting features": (25, 55),
    "Training classifier": (55, 84),
    "Measuring the untouched recording": (84, 86),
    "Training on all recordings": (86, 89),
    "Calibrating threshold": (89, 96),
    "Exporting model": (96, 100),
}
"""Share of the job's progress bar per phase (start, end)."""


class JobState:
    """One job's shared state. ``rng`` (seeded by the config) is drawn from in a fixed order
    by the steps, so the same request gives the same model."""

    phases: dict[str, tuple[int, int]] = PHASES
    """The progress bar's share per phase (a subclass may run other phases)."""

    def __init__(self, request: TrainRequest, *, progress: ProgressCallback,
                 should_cancel: CancelCheck, threads: int) -> None:
        self.request = request
        self.cfg = request.config
        self.plan = request.recipe
        self.threads = threads
        self.should_cancel = should_cancel
        self._progress = progress
        self.rng = np.random.default_rng(self.cfg.seed)
        self.stats: dict[str, Any] = {}
        self.notes: list[str] = []
        self.history: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()
        self.timer = PhaseTimer()
        """The one source of phase timings: sent with every event, stored in the manifest."""

    def report(self, phase: str, fraction: float = 0.0, message: str = "", **kw: Any) -> None:
        """Send a progress event; ``fraction`` is the share of ``phase`` done."""
        self.timer.mark(phase)
        seconds = self.timer.seconds()
        self.stats["phase_seconds"] = {k: round(v, 1) for k, v in seconds.items()}
        lo, hi = self.phases[phase]
        self._progress(ProgressEvent(phase=phase, progress=round(lo + (hi - lo) * min(
            max(fraction, 0.0), 1.0), 2), message=message, data_stats=dict(self.stats),
            phase_seconds=seconds, **kw))

    def check_cancel(self) -> None:
        """Raise CancelledError when the job was cancelled."""
        if self.should_cancel():
            raise CancelledError("training was cancelled", {"job_id": self.request.job_id})

    def elapsed(self) -> float:
        """Seconds since the job started."""
        return time.perf_counter() - self.t0

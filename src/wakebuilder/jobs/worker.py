"""The worker process: runs one job, reports progress to the store, polls for cancellation.

Started by :class:`~wakebuilder.jobs.dispatcher.Dispatcher` with the ``spawn`` start method,
so a worker shares no state with the server. A worker exits as soon as its server dies (so a
killed server never leaves an orphan that could publish a model after the restart).
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wakebuilder.errors import CancelledError, WakeBuilderError
from wakebuilder.jobs.store import CANCELLED, COMPLETED, FAILED, JobRecord, JobStore
from wakebuilder.training.progress import PhaseTimer

log = logging.getLogger(__name__)

CANCEL_POLL_S = 0.5
"""How often ``should_cancel`` reads the database (at most)."""
PROGRESS_INTERVAL_S = 0.5
"""Least time between two progress writes of one job, except at a phase or epoch change
(updates in between are merged into the next write; the final state always goes out)."""


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs (picklable)."""

    job_id: str
    db_path: Path
    data_dir: Path
    default_models_dir: Path | None
    runner: str
    """``module:function`` of the task, called as ``fn(JobContext) -> dict``."""
    threads: int = 2
    options: dict[str, Any] = field(default_factory=dict)


class JobContext:
    """What a task sees: the job row, paths, a progress reporter and a cancel check."""

    def __init__(self, spec: WorkerSpec, store: JobStore, job: JobRecord, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.spec = spec
        self.store = store
        self.job = job
        self.data_dir = spec.data_dir
        self.default_models_dir = spec.default_models_dir
        self.threads = spec.threads
        self._last_poll = 0.0
        self._cancel = False
        self._clock = clock
        self._timer = PhaseTimer(clock)
        self._task_timings: dict[str, float] | None = None
        self._task_timings_at = 0.0
        self._written: tuple[str, int | None] | None = None  # (phase, epoch) last written
        self._written_at = 0.0
        self._pending: dict[str, Any] | None = None
        self.writes = 0
        """Progress writes to the store so far."""

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per phase so far: the task's own timer when it sends one, else this one's."""
        if self._task_timings is not None:
            return dict(self._task_timings)
        return self._timer.seconds()

    def report(self, *, phase: str, progress: float, message: str = "",
               current_epoch: int | None = None, total_epochs: int | None = None,
               metrics: dict[str, Any] | None = None,
               data_stats: dict[str, Any] | None = None,
               phase_seconds: dict[str, float] | None = None) -> None:
        """Record one progress update (``phase_seconds``: the task's own phase timings).

        The store is written at once on a phase or epoch change, else at most every
        :data:`PROGRESS_INTERVAL_S`; updates in between are merged (latest phase, progress and
        message; metrics and data stats accumulated) into the next write or :meth:`flush`.
        """
        self._timer.mark(phase)
        now = self._clock()
        if phase_seconds is not None:
            self._task_timings, self._task_timings_at = dict(phase_seconds), now
        news = self._written is None or self._written[0] != phase or (
            current_epoch is not None and self._written[1] != current_epoch)
        if news:
            self.flush()  # what was held back belongs to the previous phase or epoch
        prev = self._pending or {}
        epoch = current_epoch if current_epoch is not None else prev.get("current_epoch")
        self._pending = {
            "phase": phase, "progress": progress, "message": message, "current_epoch": epoch,
            "total_epochs": total_epochs if total_epochs is not None
            else prev.get("total_epochs"),
            "metrics": {**(prev.get("metrics") or {}), **(metrics or {})} or None,
            "data_stats": {**(prev.get("data_stats") or {}), **(data_stats or {})} or None,
        }
        if news or now - self._written_at >= PROGRESS_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """Write the progress held back by the throttle, if any."""
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        epoch = pending["current_epoch"]
        self._written = (pending["phase"], epoch if epoch is not None
                         else self._written[1] if self._written else None)
        self._written_at = self._clock()
        self.writes += 1
        self.store.update_progress(self.job.id, **pending, timings=self.timings)

    def progress_event(self, event: Any) -> None:
        """Adapter for :class:`wakebuilder.training.progress.ProgressEvent` callbacks."""
        self.report(phase=event.phase, progress=event.progress, message=event.message,
                    current_epoch=event.current_epoch, total_epochs=event.total_epochs,
                    metrics=event.metrics, data_stats=event.data_stats,
                    phase_seconds=event.phase_seconds)

    def should_cancel(self) -> bool:
        """True once a cancel was requested (the database is read at most every 0.5 s)."""
        now = time.monotonic()
        if not self._cancel and now - self._last_poll >= CANCEL_POLL_S:
            self._last_poll = now
            self._cancel = self.store.cancel_requested(self.job.id)
        return self._cancel

    def finish_timings(self) -> dict[str, float]:
        """Final seconds per phase: the running phase ends now."""
        phase = self._timer.phase
        own = self._timer.finish()
        if self._task_timings is None:
            return own
        out = dict(self._task_timings)  # exact when sent; its last phase ran on until now
        if phase is not None:
            out[phase] = round(out.get(phase, 0.0) + self._clock() - self._task_timings_at, 3)
        return out


def resolve(ref: str) -> Callable[[JobContext], dict[str, Any] | None]:
    """Import ``module:function``."""
    module, _, name = ref.partition(":")
    fn = getattr(importlib.import_module(module), name)
    if not callable(fn):
        raise TypeError(f"{ref} is not callable")
    return fn  # type: ignore[no-any-return]


def _die_with_parent(parent_pid: int) -> None:
    """Exit this process when the server that started it dies."""
    try:  # Linux: the kernel delivers SIGKILL when the parent exits
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        log.debug("prctl unavailable; relying on the watcher thread")
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_job(spec: WorkerSpec, parent_pid: int | None = None) -> None:
    """Process entry point: run the task, then record the final status."""
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s worker %(name)s: %(message)s")
    store = JobStore(spec.db_path)
    job = store.get(spec.job_id)
    ctx = JobContext(spec, store, job)
    try:
        try:
            if job.inputs.get("wait_for_negatives"):
                from wakebuilder.jobs.negwait import wait_for_negatives

                wait_for_negatives(ctx)
            result = resolve(spec.runner)(ctx) or {}
        finally:
            ctx.flush()  # the last progress held back by the throttle, before the final state
    except CancelledError:
        store.finish(job.id, CANCELLED, timings=ctx.finish_timings(),
                     error={"error": "cancelled", "message": "Cancelled by request",
                            "details": {"reason": "cancelled"}})
        return
    except WakeBuilderError as exc:
        store.finish(job.id, FAILED, error=exc.to_dict(), timings=ctx.finish_timings())
        return
    except Exception as exc:  # the job must record every failure; traceback goes to the log
        log.exception("job %s crashed", job.id)
        store.finish(job.id, FAILED, timings=ctx.finish_timings(), error={
            "error": "internal_error", "message": f"Unexpected error: {type(exc).__name__}",
            "details": {"reason": "crashed", "exception": type(exc).__name__}})
        return
    store.finish(job.id, COMPLETED, result=result, model_id=result.get("model_id"),
                 metrics=result.get("metrics"), timings=ctx.finish_timings())

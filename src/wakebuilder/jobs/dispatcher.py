"""Starts pending jobs in worker processes, up to a concurrency limit, and enforces cancels.

One daemon thread in the server process polls the store: it reaps finished workers, forces
a worker to stop when a cancel was not honoured within the grace period, and starts the
oldest pending jobs while fewer than ``max_concurrent`` run. Jobs beyond the limit stay
``pending``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import shutil
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from wakebuilder.jobs.store import CANCELLED, FAILED, JobStore
from wakebuilder.jobs.tasks import CACHE_RUNNER, IMPROVE_RUNNER, TRAIN_RUNNER
from wakebuilder.jobs.worker import WorkerSpec, run_job
from wakebuilder.layout import DataLayout

log = logging.getLogger(__name__)

DEFAULT_RUNNERS = {"train": TRAIN_RUNNER, "cache": CACHE_RUNNER, "improve": IMPROVE_RUNNER}


@dataclass
class _Running:
    process: BaseProcess
    spec: WorkerSpec
    terminated_at: float | None = None


class Dispatcher:
    """Runs jobs of a :class:`JobStore` in spawned worker processes."""

    def __init__(self, store: JobStore, *, data_dir: Path, default_models_dir: Path | None,
                 max_concurrent: int = 1, threads: int = 2, cancel_grace_s: float = 10.0,
                 runners: dict[str, str] | None = None, poll_s: float = 0.2) -> None:
        self.store = store
        self.data_dir = data_dir
        self.default_models_dir = default_models_dir
        self.max_concurrent = max_concurrent
        self.threads = threads
        self.cancel_grace_s = cancel_grace_s
        self.runners = {**DEFAULT_RUNNERS, **(runners or {})}
        self.poll_s = poll_s
        self._ctx = mp.get_context("spawn")
        self._running: dict[str, _Running] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the polling thread."""
        self._thread = threading.Thread(target=self._loop, name="job-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop polling and terminate running workers (their jobs become interrupted)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        with self._lock:
            for job_id, run in list(self._running.items()):
                run.process.terminate()
                run.process.join(timeout=timeout_s)
                if run.process.is_alive():
                    run.process.kill()
                    run.process.join(timeout=timeout_s)
                self._cleanup(run)
                self.store.finish(job_id, FAILED, error={
                    "error": "internal_error", "message": "The server stopped while the job "
                    "was running (reason: interrupted)", "details": {"reason": "interrupted"}})
            self._running.clear()

    def wake(self) -> None:
        """Poll now (called after a job is created or a cancel requested)."""
        self._wake.set()

    @property
    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # -- the loop ----------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # keep dispatching; a broken tick must not kill the thread
                log.exception("dispatcher tick failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def tick(self) -> None:
        """One pass: reap, enforce cancels, start pending jobs."""
        with self._lock:
            self._reap()
            self._enforce_cancels()
            self._start_pending()

    def _reap(self) -> None:
        for job_id, run in list(self._running.items()):
            if run.process.is_alive():
                continue
            run.process.join()
            self._cleanup(run)
            del self._running[job_id]
            job = self.store.get(job_id)
            if not job.active:
                continue
            if run.terminated_at is not None or job.cancel_requested is not None:
                self.store.finish(job_id, CANCELLED, error={
                    "error": "cancelled", "message": "Cancelled by request (worker stopped)",
                    "details": {"reason": "cancelled", "forced": True}})
            else:
                code = run.process.exitcode
                self.store.finish(job_id, FAILED, error={
                    "error": "internal_error",
                    "message": f"The worker process exited unexpectedly (code {code})",
                    "details": {"reason": "worker_died", "exit_code": code}})

    def _enforce_cancels(self) -> None:
        now = time.time()
        for job_id, run in self._running.items():
            job = self.store.get(job_id)
            if job.cancel_requested is None or not run.process.is_alive():
                continue
            if run.terminated_at is None and now - job.cancel_requested >= self.cancel_grace_s:
                log.warning("job %s ignored its cancel for %.0f s; terminating", job_id,
                            self.cancel_grace_s)
                run.process.terminate()
                run.terminated_at = now
            elif run.terminated_at is not None and now - run.terminated_at >= 3.0:
                run.process.kill()

    def _start_pending(self) -> None:
        for job in self.store.pending():
            if len(self._running) >= self.max_concurrent:
                return
            runner = self.runners.get(job.kind)
            if runner is None:
                self.store.claim(job.id)
                self.store.finish(job.id, FAILED, error={
                    "error": "internal_error", "message": f"Unknown job kind {job.kind!r}",
                    "details": {"reason": "unknown_kind"}})
                continue
            if not self.store.claim(job.id):
                continue
            spec = WorkerSpec(job_id=job.id, db_path=self.store.path, data_dir=self.data_dir,
                              default_models_dir=self.default_models_dir, runner=runner,
                              threads=self.threads)
            process = self._ctx.Process(target=run_job, args=(spec, os.getpid()),
                                        name=f"wakebuilder-job-{job.id}")
            process.start()
            self.store.set_pid(job.id, process.pid)
            self._running[job.id] = _Running(process, spec)
            log.info("job %s (%s) started in process %s", job.id, job.kind, process.pid)

    def _cleanup(self, run: _Running) -> None:
        """Remove the staging directories a killed worker may have left behind."""
        pid = run.process.pid
        models = DataLayout(self.data_dir).models_dir
        if pid is None or not models.is_dir():
            return
        for tmp in models.glob(f".tmp-*.{pid}"):
            shutil.rmtree(tmp, ignore_errors=True)

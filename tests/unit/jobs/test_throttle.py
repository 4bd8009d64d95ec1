"""Progress reaches the job store throttled: at most ~2 writes a second per job, plus every
phase and epoch change, and the final state always."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wakebuilder.jobs.store import COMPLETED, JobStore
from wakebuilder.jobs.worker import PROGRESS_INTERVAL_S, JobContext, WorkerSpec, run_job


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _ctx(tmp_path: Path, clock: FakeClock | None = None) -> JobContext:
    store = JobStore(tmp_path / "jobs.db")
    record = store.create(kind="train", wake_word="computer")
    store.claim(record.id)
    spec = WorkerSpec(job_id=record.id, db_path=store.path, data_dir=tmp_path,
                      default_models_dir=None, runner="")
    if clock is None:
        return JobContext(spec, store, store.get(record.id))
    return JobContext(spec, store, store.get(record.id), clock=clock)


def _sqlite_writes(store: JobStore, job_id: str) -> int:
    """Rows of the job's event log in SQLite (every progress write inserts one)."""
    return len(store.events(job_id, limit=100_000))


def test_a_burst_of_progress_is_throttled(tmp_path: Path) -> None:
    clock = FakeClock()
    ctx = _ctx(tmp_path, clock)
    before = _sqlite_writes(ctx.store, ctx.job.id)  # created, claimed
    n = 0
    for i in range(1200):  # 6 s of synthesis at 200 clips a second
        ctx.report(phase="Synthesising speech", progress=i / 12, message=f"{i + 1}/1200 clips")
        clock.now += 0.005
        n += 1
    for epoch in range(1, 5):  # 4 epochs of 1 s, 100 batches each, metrics at the end
        for b in range(100):
            last = b == 99
            ctx.report(phase="Training classifier", progress=50 + epoch * 10 + b / 10,
                       current_epoch=epoch, total_epochs=4,
                       metrics={"val_loss": 1.0 / epoch} if last else None)
            clock.now += 0.01
            n += 1
    ctx.report(phase="Exporting model", progress=99.0, message="almost done",
               data_stats={"clips": 1200})
    ctx.flush()
    seconds = clock.now - 1000.0
    writes = _sqlite_writes(ctx.store, ctx.job.id) - before
    assert writes == ctx.writes
    # 2 a second, plus the held-back state and the new one at each phase change (3) and
    # epoch change (4), plus the final flush.
    assert writes <= seconds / PROGRESS_INTERVAL_S + 2 * (3 + 4) + 1, writes
    assert writes < n / 50
    job = ctx.store.get(ctx.job.id)
    assert (job.phase, job.progress, job.message) == ("Exporting model", 99.0, "almost done")
    assert job.data_stats["clips"] == 1200
    assert [h["epoch"] for h in job.history] == [1, 2, 3, 4]  # no epoch's metrics lost
    assert job.history[-1]["val_loss"] == 0.25


def test_held_back_metrics_reach_the_next_write(tmp_path: Path) -> None:
    clock = FakeClock()
    ctx = _ctx(tmp_path, clock)
    ctx.report(phase="A", progress=1)
    ctx.report(phase="A", progress=2, metrics={"x": 1.0}, data_stats={"a": 1})
    ctx.report(phase="A", progress=3, data_stats={"b": 2})
    assert ctx.store.get(ctx.job.id).progress == 1  # held back
    clock.now += PROGRESS_INTERVAL_S
    ctx.report(phase="A", progress=4)
    job = ctx.store.get(ctx.job.id)
    assert job.progress == 4 and job.metrics["x"] == 1.0
    assert job.data_stats["a"] == 1 and job.data_stats["b"] == 2
    assert ctx.writes == 2


def burst_task(ctx: JobContext) -> dict[str, Any]:
    """A task reporting 2,000 times as fast as it can (the worker's real clock)."""
    for i in range(2000):
        ctx.report(phase="Synthesising speech", progress=i / 20, message=f"{i + 1}/2000")
    return {"done": True}


def test_the_worker_writes_the_last_progress_before_the_final_state(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    record = store.create(kind="train", wake_word="computer")
    store.claim(record.id)
    spec = WorkerSpec(job_id=record.id, db_path=store.path, data_dir=tmp_path,
                      default_models_dir=None,
                      runner="tests.unit.jobs.test_throttle:burst_task")
    run_job(spec)
    job = store.get(record.id)
    assert job.status == COMPLETED
    events = store.events(record.id, limit=100_000)
    assert events[-2]["message"] == "2000/2000"  # flushed before the final state
    assert events[-1]["phase"] == "Completed"
    assert len(events) < 200

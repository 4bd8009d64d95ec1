"""Phase timings: one timer, spans from phase change to phase change, never accumulated."""

from __future__ import annotations

from pathlib import Path

from wakebuilder.jobs.store import JobStore
from wakebuilder.jobs.worker import JobContext, WorkerSpec
from wakebuilder.pipeline.request import TrainRequest
from wakebuilder.pipeline.state import JobState
from wakebuilder.training.config import TrainConfig
from wakebuilder.training.progress import PhaseTimer, ProgressEvent


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_phase_timer_spans_from_change_to_change() -> None:
    clock = FakeClock()
    timer = PhaseTimer(clock)
    timer.mark("A")
    for _ in range(10):  # repeated reports within a phase do not accumulate
        clock.now += 1.5
        timer.mark("A")
    assert timer.seconds() == {"A": 15.0}
    timer.mark("B")
    clock.now += 2.25
    assert timer.seconds() == {"A": 15.0, "B": 2.25}  # the running phase counts until now
    timer.mark("A")  # entered again: its new span adds to its total
    clock.now += 1.0
    assert timer.finish() == {"A": 16.0, "B": 2.25}
    clock.now += 50.0
    assert timer.seconds() == {"A": 16.0, "B": 2.25}  # finished: nothing runs on


def test_training_counts_a_phase_until_the_next_begins() -> None:
    clock = FakeClock()
    events: list[ProgressEvent] = []
    job = JobState(TrainRequest("hey computer", [], TrainConfig()), progress=events.append,
                   should_cancel=lambda: False, threads=1)
    job.timer = PhaseTimer(clock)
    job.report("Calibrating threshold", 0.0)
    clock.now += 0.2
    job.report("Calibrating threshold", 0.5)
    clock.now += 13.0  # scoring with no report, as in the real calibration
    job.report("Exporting model", 0.0)
    assert events[-1].phase_seconds == {"Calibrating threshold": 13.2, "Exporting model": 0.0}
    assert job.stats["phase_seconds"]["Calibrating threshold"] == 13.2  # goes to the manifest


def _ctx(tmp_path: Path, clock: FakeClock) -> JobContext:
    store = JobStore(tmp_path / "jobs.db")
    record = store.create(kind="train", wake_word="computer")
    store.claim(record.id)
    spec = WorkerSpec(job_id=record.id, db_path=store.path, data_dir=tmp_path,
                      default_models_dir=None, runner="")
    return JobContext(spec, store, store.get(record.id), clock=clock)


def test_worker_persists_exact_timings(tmp_path: Path) -> None:
    clock = FakeClock()
    ctx = _ctx(tmp_path, clock)
    for _ in range(20):
        ctx.report(phase="Preparing data", progress=5)
        clock.now += 0.5
    ctx.report(phase="Training classifier", progress=50)
    clock.now += 3.0
    ctx.report(phase="Training classifier", progress=60)
    assert ctx.store.get(ctx.job.id).timings == {"Preparing data": 10.0,
                                                 "Training classifier": 3.0}
    clock.now += 1.0
    assert ctx.finish_timings() == {"Preparing data": 10.0, "Training classifier": 4.0}


def test_worker_adopts_the_task_timer(tmp_path: Path) -> None:
    clock = FakeClock()
    ctx = _ctx(tmp_path, clock)
    ctx.progress_event(ProgressEvent(phase="Extracting features", progress=30,
                                     phase_seconds={"Checking recordings": 1.0,
                                                    "Extracting features": 4.0}))
    assert ctx.store.get(ctx.job.id).timings == {"Checking recordings": 1.0,
                                                 "Extracting features": 4.0}
    clock.now += 2.0  # the job fails two seconds after its last report
    assert ctx.finish_timings() == {"Checking recordings": 1.0, "Extracting features": 6.0}

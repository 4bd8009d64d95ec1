"""JobStore: transitions, progress history, cancel flags, restart recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from wakebuilder.errors import InvalidInputError, JobNotFoundError
from wakebuilder.jobs.store import JobStore


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "jobs.db")


def test_lifecycle_and_history(store: JobStore) -> None:
    job = store.create(kind="train", wake_word="computer", config={"batch_size": 32},
                       inputs={"recordings": ["uploads/x/rec1.wav"]})
    assert job.status == "pending" and job.config == {"batch_size": 32}
    assert store.queue_position(job.id) == 1
    assert store.claim(job.id) and not store.claim(job.id)
    assert store.get(job.id).status == "training"
    for epoch in (1, 2, 2):
        store.update_progress(job.id, phase="Training classifier", progress=50 + epoch,
                              current_epoch=epoch, total_epochs=2,
                              metrics={"train_loss": 1 / epoch}, data_stats={"recordings": 1})
    job = store.get(job.id)
    assert [h["epoch"] for h in job.history] == [1, 2]
    assert job.metrics == {"train_loss": 0.5} and job.data_stats == {"recordings": 1}
    assert store.finish(job.id, "completed", model_id="computer", result={"model_id": "x"})
    assert not store.finish(job.id, "failed")  # already final
    job = store.get(job.id)
    assert job.status == "completed" and job.progress == 100 and job.model_id == "computer"
    assert job.elapsed_s() >= 0
    store.update_progress(job.id, phase="late", progress=1)  # ignored once finished
    assert store.get(job.id).phase == "Completed"
    messages = [e["message"] for e in store.events(job.id)]
    assert messages[0] == "Job created" and messages[-1] == "Completed"


def test_cancel_pending_and_running(store: JobStore) -> None:
    a = store.create(kind="train")
    b = store.create(kind="train")
    assert [j.id for j in store.pending()] == [a.id, b.id]
    assert store.request_cancel(a.id).status == "cancelled"
    store.claim(b.id)
    assert not store.cancel_requested(b.id)
    job = store.request_cancel(b.id)
    assert job.status == "training" and job.cancel_requested is not None
    assert store.cancel_requested(b.id)


def test_recover_interrupted(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    running = store.create(kind="train")
    store.claim(running.id)
    queued = store.create(kind="train")
    done = store.create(kind="train")
    store.claim(done.id)
    store.finish(done.id, "completed")
    reopened = JobStore(tmp_path / "jobs.db")  # a restart
    assert reopened.recover_interrupted() == [running.id]
    job = reopened.get(running.id)
    assert job.status == "failed" and job.error is not None
    assert job.error["details"]["reason"] == "interrupted"
    assert reopened.get(queued.id).status == "pending"
    assert reopened.get(done.id).status == "completed"


def test_ids(store: JobStore) -> None:
    with pytest.raises(InvalidInputError):
        store.get("../x")
    with pytest.raises(JobNotFoundError):
        store.get("abc")
    store.delete(store.create(kind="train", job_id="abc").id)
    with pytest.raises(JobNotFoundError):
        store.get("abc")

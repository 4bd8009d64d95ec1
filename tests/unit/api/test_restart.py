"""Restart recovery and dead workers, through the app's lifespan."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from .conftest import ClientFactory, start_job, wait_status


def test_restart_marks_running_jobs_interrupted(make_client: ClientFactory,
                                                wavs: list[Path]) -> None:
    first = make_client()
    done = start_job(first, wavs[:1])
    wait_status(first, done, ("completed",))
    jobs = first.app.state.jobs  # type: ignore[attr-defined]
    running = jobs.create(kind="train", wake_word="computer")
    jobs.claim(running.id)  # as if a worker ran it when the server died
    queued = jobs.create(kind="train", wake_word="computer",
                         inputs=jobs.get(done).inputs)

    second = make_client()  # same data directory: a restart
    body = second.get(f"/api/train/status/{running.id}").json()
    assert body["status"] == "failed" and body["reason"] == "interrupted"
    assert second.get("/api/models/computer").status_code == 200
    assert wait_status(second, queued.id, ("completed",))["model_id"] == "computer_v2"


def test_killed_worker_fails_the_job(make_client: ClientFactory, wavs: list[Path]) -> None:
    client = make_client(train="slow_train")
    job_id = start_job(client, wavs[:1])
    wait_status(client, job_id, ("training",))
    jobs = client.app.state.jobs  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while jobs.get(job_id).pid is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(jobs.get(job_id).pid, signal.SIGKILL)
    body = wait_status(client, job_id, ("failed",))
    assert body["reason"] == "worker_died"

"""Two workers (max_concurrent_jobs=2) publishing the same wake word at the same instant."""

from __future__ import annotations

import time
from pathlib import Path

from . import stub_jobs
from .conftest import ClientFactory, start_job, wait_status


def test_simultaneous_publishers_get_distinct_versions(make_client: ClientFactory,
                                                       wavs: list[Path]) -> None:
    client = make_client(train="race_train", max_concurrent_jobs=2)
    data = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    (data / stub_jobs.RACE_FILE).write_text(str(time.time() + 4.0))  # both workers are up
    jobs = [start_job(client, wavs[:1]) for _ in range(2)]
    for job in jobs:  # the old per-process lock: "model 'computer_v2' already exists"
        body = wait_status(client, job, ("completed", "failed"), timeout_s=60)
        assert body["status"] == "completed", body["error"]
    models = client.get("/api/models").json()["models"]
    n = 2 * stub_jobs.RACE_ROUNDS
    assert sorted(m["id"] for m in models) == sorted(
        ["computer"] + [f"computer_v{k}" for k in range(2, n + 1)])
    per_job = [sum(1 for m in models if m.get("job_id") == job) for job in jobs]
    assert per_job == [stub_jobs.RACE_ROUNDS] * 2  # none overwritten by the other job

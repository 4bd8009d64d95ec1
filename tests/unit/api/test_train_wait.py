"""POST /api/train/start while the negative store is being prepared: the warning, the
default queue-until-ready, wait_for_negatives=false, cancel while waiting; and the build's
state in GET /api/cache/info."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi.testclient import TestClient

from wakebuilder.layout import DataLayout
from wakebuilder.negstore.status import StatusWriter

from .conftest import upload, wait_status


def _building(client: TestClient) -> StatusWriter:
    """A build in this (live) process, at its first-slice stage."""
    root = DataLayout(client.app.state.settings.data_dir).negative_store_dir  # type: ignore[attr-defined]
    writer = StatusWriter(root)
    writer.stage("fetching the first slice", 0.1)
    writer.update(eta_s=90.0, pid=os.getpid())
    return writer


def _start(client: TestClient, wavs: list[Path], **fields: str) -> dict:
    resp = client.post("/api/train/start", data={"wake_word": "computer", **fields},
                       files=upload(wavs[:1]))
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_no_build_trains_at_once_and_warns_about_thin_negatives(
        client: TestClient, wavs: list[Path]) -> None:
    created = _start(client, wavs)
    assert created["waiting_for_negatives"] is False
    assert "natural speech" in created["warning"] and "false-wakes" in created["warning"]
    assert created["negatives"]["thin"] is True and created["negatives"]["building"] is False
    wait_status(client, created["job_id"], ("completed",))


def test_default_waits_for_the_first_slice(client: TestClient, wavs: list[Path]) -> None:
    writer = _building(client)
    info = client.get("/api/cache/info").json()
    assert info["building"] is True and info["state"] == "building"
    assert info["stage"] == "fetching the first slice" and info["eta_seconds"] == 90.0
    assert info["slice_ready"] is False and "still being prepared" in info["warning"]

    created = _start(client, wavs)
    assert created["waiting_for_negatives"] is True
    assert "still being prepared" in created["warning"] and "wait_for_negatives" in \
        created["warning"]
    job_id = created["job_id"]
    body = wait_status(client, job_id, ("training", "running"))
    deadline = time.monotonic() + 20
    while body["phase"] != "Waiting for negatives" and time.monotonic() < deadline:
        time.sleep(0.1)
        body = client.get(f"/api/train/status/{job_id}").json()
    assert body["phase"] == "Waiting for negatives" and "first slice" in body["message"]
    time.sleep(2.5)
    assert client.get(f"/api/train/status/{job_id}").json()["phase"] == "Waiting for negatives"
    writer.update(slice_ready=True)  # the slice is committed: the job goes on
    done = wait_status(client, job_id, ("completed",))
    assert any("negatives ready after" in e["message"] for e in done["logs"])
    assert done["timings"]["Waiting for negatives"] >= 2.5
    assert client.get("/api/cache/info").json()["slice_ready"] is True


def test_wait_false_trains_at_once_even_while_building(client: TestClient,
                                                       wavs: list[Path]) -> None:
    _building(client)
    created = _start(client, wavs, wait_for_negatives="false")
    assert created["waiting_for_negatives"] is False and created["warning"]
    body = wait_status(client, created["job_id"], ("completed",))
    assert body["phase"] != "Waiting for negatives"


def test_a_waiting_job_can_be_cancelled(client: TestClient, wavs: list[Path]) -> None:
    _building(client)
    job_id = _start(client, wavs, wait_for_negatives="true")["job_id"]
    wait_status(client, job_id, ("training", "running"))
    assert client.post(f"/api/train/cancel/{job_id}").status_code == 200
    assert wait_status(client, job_id, ("cancelled",))["status"] == "cancelled"


def test_a_finished_build_does_not_hold_jobs(client: TestClient, wavs: list[Path]) -> None:
    writer = _building(client)
    writer.finish("ready", "negative store ready")
    created = _start(client, wavs)
    assert created["waiting_for_negatives"] is False
    assert client.get("/api/cache/info").json()["state"] == "ready"

"""Cache endpoints: info and clear go to the negative store; build runs as a job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from wakebuilder.negstore import build as negatives


@pytest.fixture
def fake_store(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    state: dict[str, Any] = {"cleared": 0}

    def info(paths: Any) -> dict[str, Any]:
        state["paths"] = paths
        return {"available": state["cleared"] == 0, "chunk_count": 47438, "size_mb": 12.5,
                "last_built": "2026-01-05T10:00:00Z", "hours": 3.2, "entries": 10,
                "hours_by_split": {"train": 2.0, "validation": 0.2, "calibration": 0.5,
                                   "heldout": 0.5},
                "hours_by_split_kind": {"heldout": {"speech": 0.4, "music": 0.1}},
                "heldout_sources": ["corpus/bass"]}

    def clear(paths: Any) -> None:
        state["cleared"] += 1

    monkeypatch.setattr(negatives, "cache_info", info)
    monkeypatch.setattr(negatives, "clear_cache", clear)
    return state


def test_info_and_clear(client: TestClient, fake_store: dict[str, Any]) -> None:
    body = client.get("/api/cache/info").json()
    assert body["available"] is True and body["chunk_count"] == 47438
    assert body["size_mb"] == 12.5 and body["last_built"] == "2026-01-05T10:00:00Z"
    assert body["building"] is False
    assert body["hours_by_split"]["heldout"] == 0.5
    assert body["hours_by_split_kind"] == {"heldout": {"speech": 0.4, "music": 0.1}}
    assert body["heldout_sources"] == ["corpus/bass"]
    data_dir = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    assert fake_store["paths"].cache_dir == data_dir / "cache"
    assert client.delete("/api/cache").json() == {"message": "Cache cleared successfully"}
    assert fake_store["cleared"] == 1
    assert client.get("/api/cache/info").json()["available"] is False


def test_build_runs_in_background(client: TestClient, fake_store: dict[str, Any]) -> None:
    resp = client.post("/api/cache/build?max_workers=2")
    assert resp.status_code == 200
    body = resp.json()
    assert body["message"] == "Cache build started" and body["estimated_time"]
    assert client.post("/api/cache/build").status_code == 409  # one build at a time
    assert client.delete("/api/cache").status_code == 409
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = client.get("/api/cache/info").json()
        if not info["building"]:
            break
        time.sleep(0.1)
    assert info["build_job"]["status"] == "completed"
    # cache builds are not training jobs
    assert client.get("/api/train/jobs").json()["total"] == 0
    assert client.get(f"/api/train/status/{body['job_id']}").status_code == 404


def test_build_parameters_validated(client: TestClient) -> None:
    assert client.post("/api/cache/build?max_workers=0").status_code == 400
    assert client.post("/api/cache/build?max_workers=abc").status_code == 400


def test_real_cache_info_on_empty_store(client: TestClient, tmp_path: Path) -> None:
    body = client.get("/api/cache/info").json()
    assert body["available"] is False and body["chunk_count"] == 0
    assert body["hours_by_split"] == {"train": 0.0, "validation": 0.0, "calibration": 0.0,
                                      "heldout": 0.0}
    assert body["heldout_sources"] == []



def _wait_idle(client: TestClient) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = client.get("/api/cache/info").json()
        if not info["building"]:
            return info
        time.sleep(0.1)
    raise AssertionError(f"cache build still running: {info}")


def test_cache_builds_can_be_cancelled(make_client: Any, fake_store: dict[str, Any]) -> None:
    client = make_client(cache="slow_cache")
    assert client.post("/api/cache/cancel").status_code == 409  # nothing to cancel
    job_id = client.post("/api/cache/build").json()["job_id"]
    refused = client.delete("/api/cache").json()
    assert "POST /api/cache/cancel" in refused["message"] and job_id in refused["message"]
    resp = client.post(f"/api/train/cancel/{job_id}")  # the training route takes cache jobs
    assert resp.status_code == 200 and resp.json()["job_id"] == job_id
    assert _wait_idle(client)["build_job"]["status"] == "cancelled"

    job_id = client.post("/api/cache/build").json()["job_id"]
    resp = client.post("/api/cache/cancel")
    assert resp.status_code == 200 and resp.json()["job_id"] == job_id
    info = _wait_idle(client)
    assert info["build_job"]["job_id"] == job_id
    assert info["build_job"]["status"] == "cancelled"
    assert client.delete("/api/cache").status_code == 200  # idle again: clearing works

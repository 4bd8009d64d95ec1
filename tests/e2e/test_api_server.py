"""Contract test against a real server: ``wakebuilder serve`` in a subprocess, driven by httpx.

One data directory for the module, in order: cache build, a full small training job from
upload to download, every model/test/cache endpoint, a cancel, and finally kill -9 during a
training job and a restart (the job reads failed/interrupted, earlier models are intact).
"""

from __future__ import annotations

import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from wakebuilder.training.config import fast_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEV_WAVS = sorted((ROOT.parent / "shared" / "dev-data" / "precise" / "computer").glob("*.wav"))
FAST_FIELDS = {k: str(v).lower() if isinstance(v, bool) else str(v)
               for k, v in fast_config().model_dump().items() if not isinstance(v, list)}


class Server:
    """``python -m wakebuilder.cli.main serve`` on a free port."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        env.pop("WAKEBUILDER_API_TOKEN", None)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wakebuilder.cli.main", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--data-dir", str(self.data_dir)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("server did not start:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown hooks run
        self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if len(DEV_WAVS) < 5:
        pytest.skip("shared dev recordings are missing")
    base = tmp_path_factory.mktemp("api-e2e")
    srv = Server(base / "data", base / "server.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    """Values shared by the ordered tests of this module."""
    return {}


def _files(paths: list[Path]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("audio_files", (p.name, p.read_bytes(), "audio/wav")) for p in paths]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def _wait(http: httpx.Client, job_id: str, statuses: tuple[str, ...], timeout_s: float
          ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = http.get(f"/api/train/status/{job_id}").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.5)
    raise AssertionError(f"{job_id} never reached {statuses}: {body}")


def test_health_info_docs(http: httpx.Client) -> None:
    assert http.get("/health").json()["status"] == "healthy"
    info = http.get("/api/info").json()
    assert info["system"]["torch_version"] and info["docs_url"] == "/docs"
    assert http.get("/docs").status_code == 200
    assert "/api/train/start" in http.get("/openapi.json").json()["paths"]


def test_cache_build_and_info(http: httpx.Client) -> None:
    assert http.get("/api/cache/info").json()["available"] is False
    resp = http.post("/api/cache/build", params={"max_workers": 2})
    assert resp.status_code == 200 and resp.json()["message"] == "Cache build started"
    assert http.post("/api/cache/build").status_code == 409
    deadline = time.monotonic() + 600
    info: dict[str, Any] = {}
    while time.monotonic() < deadline:
        info = http.get("/api/cache/info").json()
        if not info["building"]:
            break
        time.sleep(1)
    assert info["build_job"]["status"] == "completed", info
    assert info["available"] is True and info["chunk_count"] > 0 and info["size_mb"] > 0
    assert info["last_built"]


def test_full_training_job(http: httpx.Client, state: dict[str, Any]) -> None:
    started = time.monotonic()
    resp = http.post("/api/train/start", data={"wake_word": "computer", **FAST_FIELDS},
                     files=_files(DEV_WAVS[:3]))
    assert resp.status_code == 200, resp.text
    created = resp.json()
    assert created["status"] == "pending" and created["message"] == "Training job created"
    job_id = created["job_id"]
    seen_phases: set[str] = set()
    deadline = time.monotonic() + 600
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = http.get(f"/api/train/status/{job_id}").json()
        seen_phases.add(body["phase"])
        if body["status"] in ("completed", "failed", "cancelled"):
            break
        assert body["status"] in ("pending", "training")
        time.sleep(0.5)
    assert body["status"] == "completed", body.get("error")
    assert body["progress"] == 100 and body["model_id"] == "computer"
    assert body["total_epochs"] and body["current_epoch"]
    assert body["data_stats"] and body["metrics"]
    assert body["fa_per_hour"] is not None and body["frr"] is not None
    assert body["history"] and body["elapsed_time"].endswith("s")
    assert len(seen_phases) >= 3
    state.update(job_id=job_id, model_id=body["model_id"],
                 train_s=round(time.monotonic() - started, 1))

    resp = http.get(f"/api/train/download/{job_id}")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(resp.content)).namelist()
    assert {"computer.onnx", "computer.json"} <= set(names)
    jobs = http.get("/api/train/jobs").json()["jobs"]
    assert jobs[0]["job_id"] == job_id and jobs[0]["status"] == "completed"


def test_models_endpoints(http: httpx.Client, state: dict[str, Any]) -> None:
    model_id = state["model_id"]
    listed = http.get("/api/models", params={"type": "custom"}).json()
    assert listed["total"] == 1 and listed["models"][0]["id"] == model_id
    item = listed["models"][0]
    for key in ("id", "wake_word", "type", "created_at", "accuracy", "f1_score", "threshold"):
        assert key in item
    detail = http.get(f"/api/models/{model_id}").json()
    assert detail["has_onnx"] is True and detail["trainable_params"] > 0
    assert detail["training_config"]["batch_size"] == fast_config().batch_size
    assert detail["history"] and 0 < detail["threshold"] < 1
    resp = http.get(f"/api/models/{model_id}/download")
    assert resp.status_code == 200 and len(resp.content) > 1000
    assert http.get("/api/models", params={"type": "default"}).json()["total"] == 0
    assert http.delete("/api/models/%2E%2E").status_code == 400
    assert http.get("/api/models/nope").status_code == 404


def test_file_and_device_endpoints(http: httpx.Client, state: dict[str, Any]) -> None:
    model_id = state["model_id"]
    wav = DEV_WAVS[10]
    resp = http.post("/api/test/file", data={"model_id": model_id},
                     files={"audio": (wav.name, wav.read_bytes(), "audio/wav")})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    for key in ("detected", "confidence", "threshold", "model_id", "processing_time_ms",
                "detections"):
        assert key in body
    assert body["detected"] == bool(body["detections"])
    assert 0.0 <= body["confidence"] <= 1.0
    resp = http.post("/api/test/file", data={"model_id": model_id, "threshold": "1.0"},
                     files={"audio": (wav.name, wav.read_bytes(), "audio/wav")})
    assert resp.json()["threshold"] == 1.0
    device = http.get("/api/test/device").json()
    assert device["device"] == "cpu" and "cuda_available" in device
    assert http.post("/api/test/device", json={"device": "cpu"}).json()["device"] == "cpu"


def test_cancel_leaves_no_model(http: httpx.Client) -> None:
    job_id = http.post("/api/train/start", data={"wake_word": "computer", **FAST_FIELDS},
                       files=_files(DEV_WAVS[3:5])).json()["job_id"]
    _wait(http, job_id, ("training",), 60)
    time.sleep(2)
    asked = time.monotonic()
    assert http.post(f"/api/train/cancel/{job_id}").status_code == 200
    body = _wait(http, job_id, ("cancelled",), 30)
    assert time.monotonic() - asked < 30
    assert body["model_id"] is None
    assert [m["id"] for m in http.get("/api/models").json()["models"]] == ["computer"]
    assert http.delete(f"/api/train/{job_id}").json()["message"] == "Job deleted successfully"


def test_kill_during_training_then_restart(server: Server, http: httpx.Client,
                                           state: dict[str, Any]) -> None:
    before = http.get("/api/models").json()
    job_id = http.post("/api/train/start", data={"wake_word": "computer", **FAST_FIELDS},
                       files=_files(DEV_WAVS[:2])).json()["job_id"]
    body = _wait(http, job_id, ("training",), 60)
    deadline = time.monotonic() + 120
    while body["progress"] < 10 and time.monotonic() < deadline:
        time.sleep(0.5)
        body = http.get(f"/api/train/status/{job_id}").json()
    assert body["status"] == "training", body
    with sqlite3.connect(server.data_dir / "jobs.db") as db:
        (worker_pid,) = db.execute("SELECT pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert worker_pid
    server.kill()
    deadline = time.monotonic() + 10  # the worker dies with its server (PR_SET_PDEATHSIG)
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker_pid)
    server.start()
    with httpx.Client(base_url=server.url, timeout=60) as fresh:
        body = fresh.get(f"/api/train/status/{job_id}").json()
        assert body["status"] == "failed" and body["reason"] == "interrupted", body
        assert fresh.get("/api/models").json() == before
        model_id = state["model_id"]
        assert fresh.get(f"/api/models/{model_id}/download").status_code == 200
        assert fresh.get(f"/api/train/status/{state['job_id']}").json()["status"] == "completed"
        time.sleep(3)
        assert fresh.get(f"/api/train/status/{job_id}").json()["status"] == "failed"
    models_dir = server.data_dir / "models"
    assert not list(models_dir.glob(".tmp-*"))
    assert sorted(p.name for p in models_dir.iterdir()) == [state["model_id"]]


def test_delete_model_and_clear_cache(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        assert http.delete("/api/models/computer").json() == {
            "message": "Model deleted successfully"}
        assert http.get("/api/models").json()["total"] == 0
        assert http.delete("/api/cache").json() == {"message": "Cache cleared successfully"}
        assert http.get("/api/cache/info").json()["available"] is False

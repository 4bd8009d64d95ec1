"""Training endpoints with stub tasks in real worker processes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from .conftest import ClientFactory, start_job, upload, wait_status


def test_start_status_download_delete(client: TestClient, wavs: list[Path]) -> None:
    resp = client.post("/api/train/start", data={"wake_word": "Computer"},
                       files=upload(wavs[:3]))
    assert resp.status_code == 200
    created = resp.json()
    assert created["status"] == "pending" and created["message"] == "Training job created"
    assert [r["file"] for r in created["recordings"]] == [p.name for p in wavs[:3]]
    job_id = created["job_id"]

    body = wait_status(client, job_id, ("completed",))
    for key in ("job_id", "status", "phase", "progress", "current_epoch", "total_epochs",
                "metrics", "data_stats", "elapsed_time"):
        assert key in body
    assert body["progress"] == 100
    assert body["current_epoch"] == 2 and body["total_epochs"] == 2
    assert body["data_stats"]["recordings"] == 3
    assert body["fa_per_hour"] == 0.5 and body["frr"] == 0.06  # held-out figures
    assert body["heldout_hours"] == 2.0 and body["calibration_fa_per_hour"] == 0.4
    assert [h["epoch"] for h in body["history"]] == [1, 2]
    assert body["model_id"] == "computer" and body["wake_word"] == "computer"
    assert body["config"]["batch_size"] == 32 and body["config"]["model_type"] == "ast"
    assert any("Job started" in e["message"] for e in body["logs"])
    assert body["elapsed_time"].endswith("s")

    resp = client.get(f"/api/train/download/{job_id}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(resp.content)).namelist()
    assert {"computer.json", "computer.onnx"} <= set(names)

    jobs = client.get("/api/train/jobs").json()
    assert jobs["jobs"][0]["job_id"] == job_id and jobs["jobs"][0]["status"] == "completed"
    assert {"job_id", "wake_word", "status", "created_at"} <= set(jobs["jobs"][0])

    assert client.delete(f"/api/train/{job_id}").json() == {
        "message": "Job deleted successfully"}
    assert client.get(f"/api/train/status/{job_id}").status_code == 404
    assert client.get("/api/models/computer").status_code == 200  # the model stays


def test_form_fields_are_validated_and_stored(client: TestClient, wavs: list[Path]) -> None:
    job_id = start_job(client, wavs[:1], batch_size="64", learning_rate="0.001",
                       use_focal_loss="true", model_type="tcn", negative_ratio="3.5")
    config = client.get(f"/api/train/status/{job_id}").json()["config"]
    assert config["batch_size"] == 64 and config["use_focal_loss"] is True
    assert config["model_type"] == "tcn" and config["negative_ratio"] == 3.5

    for field, value in (("batch_size", "2"), ("learning_rate", "-1"), ("dropout", "1.5"),
                         ("model_type", "gpt"), ("num_epochs", "abc")):
        resp = client.post("/api/train/start", data={"wake_word": "computer", field: value},
                           files=upload(wavs[:1]))
        assert resp.status_code == 400, (field, resp.text)
        assert resp.json()["error"] == "validation_error"
        assert resp.json()["details"]["fields"][0]["field"] == field


def test_bad_wake_word_and_file_count(client: TestClient, wavs: list[Path]) -> None:
    resp = client.post("/api/train/start", data={"wake_word": "hey <script>"},
                       files=upload(wavs[:1]))
    assert resp.status_code == 400 and resp.json()["details"]["wake_word"] == "hey <script>"
    resp = client.post("/api/train/start", data={"wake_word": "computer"})
    assert resp.status_code == 400
    resp = client.post("/api/train/start", data={"wake_word": "computer"},
                       files=upload(wavs[:5] + wavs[:1]))
    assert resp.status_code == 400
    assert resp.json()["details"]["count"] == 6
    assert client.get("/api/train/jobs").json()["total"] == 0


def test_corrupt_and_silent_audio_are_named(client: TestClient, wavs: list[Path],
                                            tmp_path: Path) -> None:
    files = upload(wavs[:1]) + [("audio_files", ("broken.wav", b"RIFF1234garbage",
                                                 "audio/wav"))]
    resp = client.post("/api/train/start", data={"wake_word": "computer"}, files=files)
    assert resp.status_code == 400
    body = resp.json()
    assert body["details"]["file"] == "broken.wav" and "broken.wav" in body["message"]

    import numpy as np

    from wakebuilder.audio.io import wav_bytes
    silent = wav_bytes(np.zeros(16000, np.float32))
    resp = client.post("/api/train/start", data={"wake_word": "computer"},
                       files=[("audio_files", ("quiet.wav", silent, "audio/wav"))])
    assert resp.status_code == 400
    assert resp.json()["details"] == {**resp.json()["details"], "file": "quiet.wav",
                                      "reason": "silent"}
    uploads = list((tmp_path / "data" / "uploads").iterdir())
    assert uploads == []  # nothing left behind by refused requests


def test_jobs_queue_beyond_the_concurrency_limit(make_client: ClientFactory,
                                                 wavs: list[Path]) -> None:
    client = make_client(train="slow_train")
    first = start_job(client, wavs[:1])
    wait_status(client, first, ("training",))
    second = start_job(client, wavs[:1])
    body = client.get(f"/api/train/status/{second}").json()
    assert body["status"] == "pending" and body["queue_position"] == 1
    # cancel the running job; the queued one starts
    resp = client.post(f"/api/train/cancel/{first}")
    assert resp.status_code == 200 and resp.json()["message"] == "Cancellation requested"
    body = wait_status(client, first, ("cancelled",), timeout_s=15)
    assert body["reason"] == "cancelled" and body["model_id"] is None
    wait_status(client, second, ("training",))
    resp = client.post(f"/api/train/cancel/{second}")
    wait_status(client, second, ("cancelled",), timeout_s=15)
    assert client.get("/api/models").json()["total"] == 0


def test_cancel_pending_and_finished(make_client: ClientFactory, wavs: list[Path]) -> None:
    client = make_client(train="slow_train")
    running = start_job(client, wavs[:1])
    wait_status(client, running, ("training",))
    queued = start_job(client, wavs[:1])
    resp = client.post(f"/api/train/cancel/{queued}")
    assert resp.json() == {"job_id": queued, "status": "cancelled", "message": "Job cancelled"}
    assert client.post(f"/api/train/cancel/{queued}").status_code == 409
    assert client.delete(f"/api/train/{running}").status_code == 409  # still active
    assert client.get(f"/api/train/download/{running}").status_code == 409
    client.post(f"/api/train/cancel/{running}")
    wait_status(client, running, ("cancelled",), timeout_s=15)
    assert client.delete(f"/api/train/{running}").status_code == 200


def test_stubborn_job_is_terminated_and_leaves_no_model(make_client: ClientFactory,
                                                        wavs: list[Path],
                                                        tmp_path: Path) -> None:
    client = make_client(train="stubborn_train", cancel_grace_s=1.0)
    job_id = start_job(client, wavs[:1])
    body = wait_status(client, job_id, ("training",))
    models = tmp_path / "data" / "models"
    for _ in range(50):
        if client.get(f"/api/train/status/{job_id}").json()["phase"] == "Exporting":
            break
        __import__("time").sleep(0.1)
    assert list(models.glob(".tmp-*"))  # the stub holds a staging directory
    client.post(f"/api/train/cancel/{job_id}")
    body = wait_status(client, job_id, ("cancelled",), timeout_s=20)
    assert body["error"]["details"]["forced"] is True
    assert list(models.iterdir()) == []
    assert client.get("/api/models").json()["total"] == 0


def test_failures_are_recorded(make_client: ClientFactory, wavs: list[Path]) -> None:
    client = make_client(train="failing_train")
    body = wait_status(client, start_job(client, wavs[:1]), ("failed",))
    assert body["error"]["error"] == "internal_error"
    assert body["error"]["details"]["stage"] == "training"
    assert body["error"]["message"] == "no usable positives"

    client = make_client(train="crashing_train")
    body = wait_status(client, start_job(client, wavs[:1]), ("failed",))
    assert body["reason"] == "crashed" and "/secret" not in str(body["error"])


def test_same_wake_word_twice_gets_two_models(make_client: ClientFactory,
                                              wavs: list[Path]) -> None:
    client = make_client(max_concurrent_jobs=2)
    a = start_job(client, wavs[:1], seed="500")  # the stub holds staging for 0.5 s
    b = start_job(client, wavs[:1], seed="500")
    ids = {wait_status(client, j, ("completed",))["model_id"] for j in (a, b)}
    assert ids == {"computer", "computer_v2"}
    listed = client.get("/api/models").json()
    assert listed["total"] == 2


def test_unknown_and_invalid_job_ids(client: TestClient) -> None:
    assert client.get("/api/train/status/abc123").status_code == 404
    assert client.get("/api/train/status/abc123").json()["error"] == "not_found"
    assert client.get("/api/train/status/BAD-ID").status_code == 400
    assert client.delete("/api/train/%2E%2E").status_code == 400
    assert client.post("/api/train/cancel/nope").status_code == 404
    assert client.get("/api/train/download/nope").status_code == 404

"""POST /api/test/file (the shared streaming detector) and the device endpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from wakebuilder.audio.io import wav_bytes

from . import stub_jobs


def _model(client: TestClient) -> str:
    data_dir = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    return stub_jobs.publish(data_dir, "computer")[0]


def test_file_test_returns_detections(client: TestClient, wavs: list[Path]) -> None:
    model_id = _model(client)
    resp = client.post("/api/test/file", data={"model_id": model_id},
                       files={"audio": (wavs[0].name, wavs[0].read_bytes(), "audio/wav")})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["detected"] is True and body["model_id"] == model_id
    assert body["threshold"] == 0.5
    assert abs(body["confidence"] - 0.9) < 1e-3
    assert body["processing_time_ms"] > 0 and body["duration_s"] == 2.0
    # the stub scores 0.9 everywhere: a detection every 2 s (the refractory period),
    # counted from the file's start; the 1 s of tail padding may hold the last one
    assert [d["time_ms"] for d in body["detections"]] == [80, 2080]
    assert body["detections"][0]["score"] > 0.89


def test_threshold_override_and_long_file(client: TestClient) -> None:
    model_id = _model(client)
    audio = wav_bytes(0.1 * np.random.default_rng(0).standard_normal(16000 * 5)
                      .astype(np.float32))
    resp = client.post("/api/test/file", data={"model_id": model_id, "threshold": "0.95"},
                       files={"audio": ("noise.wav", audio, "audio/wav")})
    body = resp.json()
    assert body["detected"] is False and body["detections"] == [] and body["threshold"] == 0.95
    resp = client.post("/api/test/file", data={"model_id": model_id, "threshold": "0.2"},
                       files={"audio": ("noise.wav", audio, "audio/wav")})
    times = [d["time_ms"] for d in resp.json()["detections"]]
    assert len(times) == 3 and all(b - a >= 2000 for a, b in zip(times, times[1:], strict=False))


def test_file_test_errors(client: TestClient) -> None:
    model_id = _model(client)
    good = wav_bytes(np.zeros(16000, np.float32))
    resp = client.post("/api/test/file", data={"model_id": "missing"},
                       files={"audio": ("a.wav", good, "audio/wav")})
    assert resp.status_code == 404
    resp = client.post("/api/test/file", data={"model_id": "../etc"},
                       files={"audio": ("a.wav", good, "audio/wav")})
    assert resp.status_code == 400
    resp = client.post("/api/test/file", data={"model_id": model_id},
                       files={"audio": ("notes.txt", b"hello world", "text/plain")})
    assert resp.status_code == 400 and resp.json()["details"]["file"] == "notes.txt"
    resp = client.post("/api/test/file", data={"model_id": model_id, "threshold": "2"},
                       files={"audio": ("a.wav", good, "audio/wav")})
    assert resp.status_code == 400


def test_device_reports_what_inference_uses(client: TestClient) -> None:
    import onnxruntime as ort

    body = client.get("/api/test/device").json()
    offered = ort.get_available_providers()
    assert body["device"] == "cpu" and body["providers"] == ["CPUExecutionProvider"]
    assert body["cuda_available"] is ("CUDAExecutionProvider" in offered)  # not torch's
    assert body["available_providers"] == offered and body["runtime"] == "onnxruntime"
    assert "gpu_name" in body
    resp = client.post("/api/test/device", json={"device": "cpu"})
    assert resp.status_code == 200 and resp.json()["device"] == "cpu"
    resp = client.post("/api/test/device", json={"device": "tpu"})
    assert resp.status_code == 400
    resp = client.post("/api/test/device", json={"device": "cuda"})  # never used: say so
    assert resp.status_code == 400 and resp.json()["error"] == "validation_error"
    assert "CPU only" in resp.json()["message"]
    assert resp.json()["details"]["inference_device"] == "cpu"
    auto = client.post("/api/test/device", json={"device": "auto"})
    assert auto.status_code == 200 and auto.json()["device"] == "cpu"
    assert "CPU" in auto.json()["message"]
    assert client.get("/api/test/device").json()["device"] == "cpu"
    info = client.get("/api/info").json()["system"]
    assert info["device"] == "cpu" and info["cuda_available"] is body["cuda_available"]

"""GET /health and GET /api/info."""

from __future__ import annotations

import platform

from fastapi.testclient import TestClient

from wakebuilder import __version__


def test_health(client: TestClient) -> None:
    resp = client.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "healthy"
    assert body["version"] == __version__
    assert body["timestamp"].endswith("Z")


def test_info_reports_real_versions(client: TestClient) -> None:
    body = client.get("/api/info").json()
    assert body["name"] == "WakeBuilder API"
    assert body["docs_url"] == "/docs"
    system = body["system"]
    assert system["python_version"] == platform.python_version()
    assert system["torch_version"]
    assert isinstance(system["cuda_available"], bool)
    assert system["device"] == "cpu"  # inference runs on onnxruntime's CPU provider


def test_docs_and_openapi(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    for path in ("/api/train/start", "/api/train/status/{job_id}", "/api/models",
                 "/api/test/file", "/api/cache/build", "/api/train/cancel/{job_id}"):
        assert path in schema["paths"]
    start = schema["paths"]["/api/train/start"]["post"]
    assert "422" not in start["responses"] and "400" in start["responses"]

"""Path traversal, upload limits, CORS and the optional API token."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from . import stub_jobs
from .conftest import ClientFactory, upload

TRAVERSALS = ["%2E%2E", "..%2F..", "..%2F..%2Fcanary", "%2E%2E%2F%2E%2E%2Fcanary",
              "%2Ftmp%2Fcanary", "..", "%2e%2e%5c%2e%2e", "models%00", "CANARY",
              "a" * 65, "..%252F..", "%2F%2Fetc"]


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A file and a model-like directory outside the data directory."""
    path = tmp_path / "canary"
    path.mkdir()
    (path / "canary.json").write_text("{}")
    (tmp_path / "canary.txt").write_text("alive")
    return path


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_model_traversal_is_refused(client: TestClient, canary: Path, bad: str) -> None:
    data_dir = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    model_id, _ = stub_jobs.publish(data_dir, "computer")
    for method, url in (("DELETE", f"/api/models/{bad}"), ("GET", f"/api/models/{bad}"),
                        ("GET", f"/api/models/{bad}/download"),
                        ("DELETE", f"/api/train/{bad}"),
                        ("GET", f"/api/train/download/{bad}")):
        resp = client.request(method, url)
        assert 400 <= resp.status_code < 500, (method, url, resp.status_code)
        assert set(resp.json()) == {"error", "message", "details"}
    assert (canary / "canary.json").is_file()
    assert (canary.parent / "canary.txt").read_text() == "alive"
    assert (data_dir / "models" / model_id / f"{model_id}.json").is_file()
    assert data_dir.is_dir() and (data_dir / "jobs.db").is_file()


def test_absolute_path_in_form_field_is_refused(client: TestClient, canary: Path) -> None:
    resp = client.post("/api/test/file", data={"model_id": str(canary)},
                       files={"audio": ("a.wav", b"x", "audio/wav")})
    assert resp.status_code == 400
    assert (canary / "canary.json").is_file()


def test_upload_file_names_cannot_escape(client: TestClient, wavs: list[Path],
                                         tmp_path: Path) -> None:
    data = wavs[0].read_bytes()
    resp = client.post("/api/train/start", data={"wake_word": "computer"},
                       files=[("audio_files", ("../../../escape.wav", data, "audio/wav"))])
    assert resp.status_code == 200
    assert not list(tmp_path.glob("**/escape.wav")) or all(
        (tmp_path / "data" / "uploads") in p.parents for p in tmp_path.glob("**/escape.wav"))
    assert not (tmp_path / "escape.wav").exists()


def test_file_over_the_per_file_limit(make_client: ClientFactory, wavs: list[Path]) -> None:
    client = make_client(max_upload_file_mb=0.05)  # 50 kB; each dev file is 64 kB
    resp = client.post("/api/train/start", data={"wake_word": "computer"},
                       files=upload(wavs[:1]))
    assert resp.status_code == 400
    body = resp.json()
    assert body["details"]["reason"] == "too_large"
    assert body["details"]["file"] == wavs[0].name


def test_request_over_the_limit_is_refused_before_parsing(make_client: ClientFactory,
                                                         tmp_path: Path) -> None:
    client = make_client(max_upload_request_mb=0.5)
    big = b"\0" * 2_000_000
    resp = client.post("/api/train/start", data={"wake_word": "computer"},
                       files=[("audio_files", ("big.wav", big, "audio/wav"))])
    assert resp.status_code == 400
    assert resp.json()["details"]["reason"] == "request_too_large"

    def chunks() -> object:  # no Content-Length: the limit applies while streaming
        for _ in range(40):
            yield b"x" * 100_000

    resp = client.post("/api/train/start", content=chunks(),  # type: ignore[arg-type]
                       headers={"content-type": "multipart/form-data; boundary=zzz"})
    assert resp.status_code == 400
    assert resp.json()["details"]["reason"] == "request_too_large"
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


def test_six_files_refused(client: TestClient, wavs: list[Path]) -> None:
    resp = client.post("/api/train/start", data={"wake_word": "computer"},
                       files=upload(wavs + wavs[:1]))
    assert resp.status_code == 400 and resp.json()["details"]["max"] == 5


def test_cors_allows_only_own_origin(make_client: ClientFactory) -> None:
    client = make_client(cors_origins=["https://ui.example"])
    own = client.get("/health", headers={"Origin": "http://127.0.0.1:8000"})
    assert own.headers.get("access-control-allow-origin") == "http://127.0.0.1:8000"
    extra = client.get("/health", headers={"Origin": "https://ui.example"})
    assert extra.headers.get("access-control-allow-origin") == "https://ui.example"
    evil = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers
    pre = client.options("/api/train/start", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 400
    assert "access-control-allow-origin" not in pre.headers


def test_api_token_protects_every_route(make_client: ClientFactory) -> None:
    client = make_client(api_token="s3cret")
    schema = client.get("/openapi.json", headers={"X-API-Key": "s3cret"}).json()
    for path in list(schema["paths"]) + ["/openapi.json", "/docs", "/api/nope"]:
        url = path.replace("{job_id}", "abc").replace("{model_id}", "abc")
        resp = client.get(url)
        assert resp.status_code == 401, url
        assert resp.json()["error"] == "unauthorized"
    assert client.post("/api/train/start").status_code == 401
    assert client.delete("/api/cache").status_code == 401
    assert client.get("/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/health", headers={"X-API-Key": "s3cret"}).status_code == 200


def test_token_leaves_the_static_page_public(make_client: ClientFactory) -> None:
    client = make_client(api_token="s3cret")
    page = client.get("/")
    assert page.status_code in (200, 404)  # 404 only when the UI is not packaged
    assert page.status_code != 401
    assert client.get("/api/models").status_code == 401
    assert client.post("/").status_code == 401
    assert client.get("/health/x").status_code == 401


def test_no_token_by_default(client: TestClient) -> None:
    assert client.get("/health").status_code == 200


def test_remote_bind_needs_opt_in(make_settings: object) -> None:
    from pydantic import ValidationError

    from wakebuilder.settings import load_settings

    with pytest.raises(ValidationError):
        load_settings(host="0.0.0.0")
    assert load_settings(host="0.0.0.0", allow_remote=True).host == "0.0.0.0"
    assert load_settings().host == "127.0.0.1"


def test_web_ui_does_not_shadow_the_api(client: TestClient) -> None:
    from wakebuilder.api.app import STATIC_DIR

    if not (STATIC_DIR / "index.html").is_file():
        pytest.skip("the web UI is not built into this tree")
    assert client.get("/").headers["content-type"].startswith("text/html")
    for url in ("/api/models/..%2F..", "/api/nope", "/docs/..%2F..", "/..%2F..%2Fetc"):
        resp = client.get(url)
        assert resp.status_code == 404 and resp.json()["error"] == "not_found", url
    assert client.get("/health").json()["status"] == "healthy"

"""Fixtures: an app on a temporary data directory with stub job runners."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2, not installed here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from wakebuilder.api.app import create_app
from wakebuilder.settings import Settings, load_settings

from . import stub_jobs

SHARED = Path(__file__).resolve().parents[4] / "shared"
DEV_WAVS = sorted((SHARED / "dev-data" / "precise" / "computer").glob("*.wav"))

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def wavs() -> list[Path]:
    """Real recordings of "computer" (the shared dev data)."""
    if len(DEV_WAVS) < 5:
        pytest.skip("shared dev recordings are missing")
    return DEV_WAVS[:5]


def upload(paths: list[Path]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("audio_files", (p.name, p.read_bytes(), "audio/wav")) for p in paths]


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        settings = load_settings(data_dir=tmp_path / "data", **overrides)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        stub_jobs.write_head(settings.data_dir / stub_jobs.FIXTURE_HEAD)
        return settings
    return factory


@pytest.fixture
def make_client(make_settings: Callable[..., Settings],
                monkeypatch: pytest.MonkeyPatch) -> Iterator[ClientFactory]:
    # Spawned workers import the stubs as ``api.stub_jobs``: put their root on sys.path.
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    clients: list[TestClient] = []

    def factory(train: str = "fake_train", cache: str = "fake_cache",
                cancel_grace_s: float = 10.0, raise_errors: bool = True,
                **overrides: Any) -> TestClient:
        settings = make_settings(**overrides)
        app = create_app(settings, runners={"train": stub_jobs.runner(train),
                                            "cache": stub_jobs.runner(cache)},
                         cancel_grace_s=cancel_grace_s)
        client = TestClient(app, base_url="http://127.0.0.1:8000",
                            raise_server_exceptions=raise_errors)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


def wait_status(client: TestClient, job_id: str, statuses: tuple[str, ...], *,
                timeout_s: float = 30.0) -> dict[str, Any]:
    """Poll the status endpoint until the job reaches one of ``statuses``."""
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/train/status/{job_id}").json()
        if body.get("status") in statuses:
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {statuses}: {body}")


def start_job(client: TestClient, paths: list[Path], wake_word: str = "computer",
              **fields: Any) -> str:
    resp = client.post("/api/train/start", data={"wake_word": wake_word, **fields},
                       files=upload(paths))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["job_id"])

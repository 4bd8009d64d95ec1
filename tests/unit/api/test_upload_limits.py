"""Upload hardening in-process: the bounded file-test pool, config bounds, strict form text."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from wakebuilder.api.workpool import BoundedWorkPool
from wakebuilder.errors import EngineUnavailableError
from wakebuilder.training.config import (
    MAX_EXCLUDED_SOURCES,
    MAX_SOURCE_CHARS,
    MAX_SOURCES_BYTES,
    TrainConfig,
)

from .conftest import upload


def test_pool_runs_workers_queues_then_refuses() -> None:
    gate = threading.Event()
    seen: list[int] = []

    def work(i: int) -> int:
        gate.wait(5)
        seen.append(i)
        return i

    async def scenario() -> tuple[list[object], int, int]:
        pool = BoundedWorkPool(workers=2, queue=1)
        tasks = [asyncio.create_task(pool.run(work, i)) for i in range(4)]
        await asyncio.sleep(0.2)
        running, waiting = pool.running, pool.waiting
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        pool.shutdown()
        return results, running, waiting

    results, running, waiting = asyncio.run(scenario())
    assert (running, waiting) == (2, 1)
    assert results[:3] == [0, 1, 2]
    assert isinstance(results[3], EngineUnavailableError)
    assert results[3].http_status == 503 and results[3].details["reason"] == "busy"


def test_pool_slot_is_held_until_the_work_ends() -> None:
    gate = threading.Event()

    async def scenario() -> tuple[int, int]:
        pool = BoundedWorkPool(workers=1, queue=0)
        task = asyncio.create_task(pool.run(gate.wait, 5))
        await asyncio.sleep(0.1)
        task.cancel()  # the client went away; the thread still runs
        await asyncio.sleep(0.1)
        held = pool.running
        with pytest.raises(EngineUnavailableError):
            await pool.run(int, "1")
        gate.set()
        await asyncio.sleep(0.2)
        after = await pool.run(int, "7")
        pool.shutdown()
        return held, after

    assert asyncio.run(scenario()) == (1, 7)


@pytest.mark.parametrize("sources,accepted", [
    ([f"s{i}".ljust(MAX_SOURCES_BYTES // MAX_EXCLUDED_SOURCES, "x")
      for i in range(MAX_EXCLUDED_SOURCES)], True),
    (["a"] * (MAX_EXCLUDED_SOURCES + 1), False),
    (["b" * (MAX_SOURCE_CHARS + 1)], False),
    (["c" * MAX_SOURCE_CHARS] * (MAX_SOURCES_BYTES // MAX_SOURCE_CHARS + 1), False),
    (["é" * 100] * (MAX_SOURCES_BYTES // 200 + 1), False),  # bytes, not characters
    (["tab\there"], False),
    ([""], False),
])
def test_exclude_negative_sources_bounds(sources: list[str], accepted: bool) -> None:
    if accepted:
        assert TrainConfig(exclude_negative_sources=sources).exclude_negative_sources == sources
    else:
        with pytest.raises(ValueError, match="exclude_negative_sources"):
            TrainConfig(exclude_negative_sources=sources)


def _multipart(fields: list[tuple[str, bytes]], files: list[tuple[str, str, bytes]]
               ) -> tuple[bytes, str]:
    boundary = "wbboundary"
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + value + b"\r\n")
    for name, filename, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: audio/wav\r\n\r\n'.encode()
                     + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def test_non_utf8_form_text_is_refused(client: TestClient, wavs: list[Path]) -> None:
    audio = upload(wavs[:1])[0][1]
    body, boundary = _multipart([("wake_word", b"\xff\xfecomputer")],
                                [("audio_files", audio[0], audio[1])])
    resp = client.post("/api/train/start", content=body,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"] == "validation_error" and "wake_word" in resp.json()["message"]
    assert client.get("/api/train/jobs").json()["total"] == 0
    good, boundary = _multipart([("wake_word", "café".encode())],
                                [("audio_files", audio[0], audio[1])])
    resp = client.post("/api/train/start", content=good,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert resp.status_code == 200, resp.text

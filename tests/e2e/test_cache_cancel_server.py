"""Cancelling a cache build on a real server (``wakebuilder serve`` in a subprocess): the build
stops, the index lists only complete entries, and the next build resumes from them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from wakebuilder.negstore.index import load_index
from wakebuilder.negstore.store import ROW_BYTES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FILES = 100  # two batches of 48 files and a few (the embedder checks cancel per file)
SECONDS = 20


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "data"
    folder = data / "negative" / "noises"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(FILES):
        # 20 s: a batch of 48 files takes seconds to embed (the sliding embedding passes run
        # at about 230x real time on 2 cores, so 2 s files were done before a cancel arrived)
        t = np.arange(SECONDS * 16000) / 16000
        x = 0.05 * rng.standard_normal(len(t)) + 0.1 * np.sin(2 * np.pi * (200 + 7 * i) * t)
        sf.write(folder / f"n{i:03d}.wav", x.astype(np.float32), 16000)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("WAKEBUILDER_API_TOKEN", None)
    log = (tmp_path / "server.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wakebuilder.cli.main", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, data
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_build(url: str, until: Any, timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = httpx.get(f"{url}/api/cache/info").json()
        if until(info):
            return info
        time.sleep(0.1)
    raise AssertionError(f"cache build did not get there: {info}")


def _index(data: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """Entries of the index, checked for consistency with the data file."""
    root = data / "cache" / "negatives"
    state = load_index(root / "index.json")
    assert (root / state.data_file).stat().st_size == state.frames * ROW_BYTES
    spans = sorted((e.offset, e.offset + e.frames) for e in state.entries)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # no overlap
    assert all(end <= state.frames and end > start for start, end in spans)
    return {e.key: (e.offset, e.frames) for e in state.entries}


def test_cancel_a_cache_build_then_resume(server: tuple[str, Path]) -> None:
    url, data = server
    job_id = httpx.post(f"{url}/api/cache/build", params={"generated": "false",
                                                           "max_workers": 1}).json()["job_id"]
    _wait_build(url, lambda i: (i["build_job"] or {}).get("progress", 0) > 20)
    refused = httpx.delete(f"{url}/api/cache")
    assert refused.status_code == 409 and "POST /api/cache/cancel" in refused.json()["message"]
    resp = httpx.post(f"{url}/api/cache/cancel")
    assert resp.status_code == 200, resp.text
    assert resp.json()["job_id"] == job_id and resp.json()["status"] == "running"
    info = _wait_build(url, lambda i: not i["building"], timeout_s=30)
    assert info["build_job"]["status"] == "cancelled"
    assert info["build_job"]["error"]["details"].get("forced") is None  # stopped by itself
    assert httpx.post(f"{url}/api/cache/cancel").status_code == 409  # nothing running
    assert httpx.post(f"{url}/api/train/cancel/{job_id}").status_code == 409  # finished
    before = _index(data)
    assert 0 < len(before) < FILES and info["entries"] == len(before)

    httpx.post(f"{url}/api/cache/build", params={"generated": "false", "max_workers": 1})
    info = _wait_build(url, lambda i: not i["building"])
    assert info["build_job"]["status"] == "completed" and info["entries"] == FILES
    after = _index(data)
    assert len(after) == FILES
    assert all(after[k] == v for k, v in before.items())  # kept, not embedded again

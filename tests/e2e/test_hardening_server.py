"""Hostile clients against a real server (``wakebuilder serve`` in a subprocess, loopback only).

WebSocket slot exhaustion (idle timeout, per-address cap), huge text frames and control-message
floods, the API token kept out of URLs and logs, DNS-rebinding ``Host`` and cross-site
``Origin`` refusals, and the security headers. Idle sockets come from other loopback addresses
(127.0.0.2 ...: the whole 127/8 is loopback on Linux), so the per-address cap does not lock
out the test's own client on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import noise, random_model
from wakebuilder.audio.format import to_int16

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MODEL = "test_word"
IDLE_S = 4.0  # the idle timeout; a full server evicts sockets idle for 2 s (min(2, IDLE_S))
TOKEN = "s3cr3t-Tok_en+/xyz"
WS_ARGS: dict[str, Any] = {"proxy": None, "open_timeout": 10, "close_timeout": 2}


@dataclass
class Server:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/test/ws/{MODEL}"


def _start(base: Path, env_extra: dict[str, str], log_level: str = "warning") -> Server:
    data = base / "data"
    random_model(data / "models" / MODEL, MODEL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1",
           **env_extra}
    if "WAKEBUILDER_API_TOKEN" not in env_extra:
        env.pop("WAKEBUILDER_API_TOKEN", None)
    log = base / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wakebuilder.cli.main", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data), "--log-level", log_level],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return Server(port, proc, log)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start:\n" + log.read_text()[-3000:])


def _stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No token (the default mode), a short idle timeout, one extra allowed host name."""
    srv = _start(tmp_path_factory.mktemp("hardening"), {
        "WAKEBUILDER_WS_IDLE_TIMEOUT_S": str(IDLE_S),
        "WAKEBUILDER_ALLOWED_HOSTS": '["wake.test"]'})
    yield srv
    _stop(srv)


def pcm(seconds: float, seed: int = 0) -> bytes:
    return to_int16(noise(seconds, 0.05, seed)).tobytes()


async def _ready(ws: Any) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return msg


async def _served(url: str, **kwargs: Any) -> bool:
    """Connect, stream 0.5 s of audio, get a score: True when served, False when refused."""
    try:
        async with websockets.connect(url, **WS_ARGS, **kwargs) as ws:
            msg = await _ready(ws)
            if msg["type"] != "ready":
                return False
            await ws.send(json.dumps({"type": "config", "score_interval_ms": 0}))
            for _ in range(5):
                await ws.send(pcm(0.1))
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if msg["type"] == "score":
                    return True
    except ConnectionClosed:
        return False


async def _idle(url: str, address: str,
                opened: list[int] | None = None) -> tuple[str, int | None, dict[str, Any] | None]:
    """Open a socket from ``address`` and send nothing; return how it ended."""
    async with websockets.connect(url, local_addr=(address, 0), **WS_ARGS) as ws:
        first = await _ready(ws)
        if opened is not None:
            opened.append(1)
        if first["type"] != "ready":
            return first["details"]["reason"], None, first
        error = None
        try:
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if msg["type"] == "error":
                    error = msg
        except ConnectionClosed as exc:
            return "closed", exc.rcvd.code if exc.rcvd else None, error


def test_idle_sockets_time_out_and_a_real_client_gets_in(server: Server) -> None:
    async def scenario() -> None:
        addresses = [f"127.0.0.{2 + i // 8}" for i in range(64)]  # 8 per address, 64 in all
        ready: list[int] = []
        idle = [asyncio.create_task(_idle(server.ws, a, ready)) for a in addresses]
        while len(ready) < 64:  # every slot taken
            await asyncio.sleep(0.05)
        opened = time.monotonic()
        while not await _served(server.ws):  # refused (1013) until an idle one is evicted
            assert time.monotonic() - opened < IDLE_S + 4, "the real client never got a slot"
            await asyncio.sleep(0.2)
        waited = time.monotonic() - opened
        results = await asyncio.gather(*idle)
        assert all(r[0] == "closed" for r in results), results[:3]
        ends = Counter((code, err["details"]["reason"] if err else None)
                       for _, code, err in results)
        assert ends == {(1013, "evicted_idle"): 1, (1008, "idle_timeout"): 63}, ends
        assert waited < IDLE_S - 0.5  # served by eviction, before the idle timeout freed any

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_per_address_cap(server: Server) -> None:
    async def scenario() -> None:
        socks = [await websockets.connect(server.ws, local_addr=("127.0.0.20", 0), **WS_ARGS)
                 for _ in range(9)]
        try:
            firsts = [(await _ready(ws)) for ws in socks]
            assert [m["type"] for m in firsts[:8]] == ["ready"] * 8
            assert firsts[8]["type"] == "error"
            assert firsts[8]["details"]["reason"] == "too_many_from_address"
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(socks[8].recv(), 5)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1013
            assert await _served(server.ws)  # another address is still served
        finally:
            for ws in socks:
                await ws.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("inf")


async def _victim(url: str, seconds: float) -> list[float]:
    """Stream ``seconds`` of audio in real time (100 ms chunks); per-frame reply latency (s)."""
    sent: dict[int, float] = {}
    latencies: list[float] = []
    async with websockets.connect(url, **WS_ARGS) as ws:
        assert (await _ready(ws))["type"] == "ready"
        await ws.send(json.dumps({"type": "config", "score_interval_ms": 0}))

        async def read() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] == "score":
                    chunk = max(0, -(-msg["time_ms"] // 100) - 1)
                    if chunk in sent:
                        latencies.append(time.monotonic() - sent[chunk])

        reader = asyncio.create_task(read())
        start = time.monotonic()
        for k in range(int(seconds * 10)):
            await asyncio.sleep(max(0.0, start + (k + 1) * 0.1 - time.monotonic()))
            sent[k] = time.monotonic()
            await ws.send(pcm(0.1, k))
        await asyncio.sleep(0.5)
        reader.cancel()
    return latencies


async def _health(url: str, until: float) -> list[float]:
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as http:
        while time.monotonic() < until:
            t = time.monotonic()
            assert (await http.get("/health")).status_code == 200
            out.append(time.monotonic() - t)
            await asyncio.sleep(0.05)
    return out


def test_huge_text_frames_are_cut_off_and_others_stay_fast(server: Server) -> None:
    pad = "x" * (15 * 1024 * 1024)
    big = json.dumps({"type": "ping", "pad": pad})

    async def attacker(until: float) -> list[float]:
        cut_after = []
        while time.monotonic() < until:
            async with websockets.connect(server.ws, local_addr=("127.0.0.30", 0),
                                          compression=None, **WS_ARGS) as ws:
                await _ready(ws)
                t = time.monotonic()
                try:
                    for _ in range(20):
                        await ws.send(big)
                    await asyncio.wait_for(ws.recv(), 5)
                    await asyncio.wait_for(ws.recv(), 5)
                except ConnectionClosed:
                    pass
                cut_after.append(time.monotonic() - t)
        return cut_after

    async def scenario() -> None:
        until = time.monotonic() + 5
        cut, health, victim = await asyncio.gather(
            attacker(until), _health(server.url, until), _victim(server.ws, 5))
        assert cut and max(cut) < 2.0, cut  # the connection dies on the first big frame
        assert _percentile(health, 95) < 0.3, sorted(health)[-5:]
        assert len(victim) > 20 and _percentile(victim, 95) < 0.3, sorted(victim)[-5:]

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_control_message_flood_is_closed(server: Server) -> None:
    async def scenario() -> tuple[int, dict[str, Any] | None]:
        async with websockets.connect(server.ws, **WS_ARGS) as ws:
            await _ready(ws)
            error = None
            try:
                for i in range(400):
                    await ws.send(json.dumps({"type": "ping", "id": i}))
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if msg["type"] == "error":
                        error = msg
            except ConnectionClosed as exc:
                return (exc.rcvd.code if exc.rcvd else 0), error
        return 0, None

    code, error = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert code == 1008
    assert error is not None and error["details"]["reason"] == "control_rate"


# -- Host, Origin, headers ----------------------------------------------------------------------
def _wav() -> bytes:
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, noise(1.0, 0.1), 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_rebinding_host_is_refused(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as http:
        evil = http.get("/api/models", headers={"Host": f"evil.example:{server.port}"})
        assert evil.status_code == 400
        assert evil.json()["details"]["reason"] == "host_not_allowed"
        assert evil.headers["x-content-type-options"] == "nosniff"
        for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}",
                     f"[::1]:{server.port}", f"wake.test:{server.port}"):
            assert http.get("/api/models", headers={"Host": host}).status_code == 200, host


def test_cross_site_post_is_refused_and_creates_no_job(server: Server) -> None:
    wav = _wav()
    files = [("audio_files", (f"{i}.wav", wav, "audio/wav")) for i in range(3)]
    with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as http:
        before = http.get("/api/train/jobs").json()
        resp = http.post("/api/train/start", data={"wake_word": "hello there"}, files=files,
                         headers={"Origin": "http://evil.example"})
        assert resp.status_code == 403
        assert resp.json()["error"] == "forbidden"
        assert resp.json()["details"]["reason"] == "origin_not_allowed"
        assert http.get("/api/train/jobs").json() == before
        # The UI's own origins, and clients that send no Origin, work.
        for origin, host in ((server.url, None), (f"http://localhost:{server.port}",
                                                  f"localhost:{server.port}"),
                             (f"http://wake.test:{server.port}", f"wake.test:{server.port}"),
                             (None, None)):
            headers = {k: v for k, v in (("Origin", origin), ("Host", host)) if v}
            ok = http.post("/api/train/check", files={"audio": ("a.wav", wav, "audio/wav")},
                           headers=headers)
            assert ok.status_code == 200, (origin, ok.text)
        pre = http.options("/api/train/start", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 400 and pre.json()["details"]["reason"] == "cors_refused"


def test_websocket_with_a_foreign_origin_is_refused(server: Server) -> None:
    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as info:
            async with websockets.connect(server.ws, origin="http://evil.example", **WS_ARGS):
                pass
        assert info.value.response.status_code == 403
        assert json.loads(info.value.response.body)["details"]["reason"] == "origin_not_allowed"
        async with websockets.connect(server.ws, origin=server.url, **WS_ARGS) as ws:
            assert (await _ready(ws))["type"] == "ready"

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_security_headers(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as http:
        page = http.get("/")
        csp = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        for path in ("/health", "/api/models", "/api/nope", "/js/app.js"):
            resp = http.get(path)
            assert resp.headers["x-content-type-options"] == "nosniff", path
            assert "frame-ancestors 'none'" in resp.headers["content-security-policy"], path


# -- the API token ------------------------------------------------------------------------------
def test_token_in_a_subprotocol_and_never_in_the_log(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    srv = _start(tmp_path_factory.mktemp("token"), {"WAKEBUILDER_API_TOKEN": TOKEN}, "info")
    encoded = base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("=")

    async def scenario() -> None:
        protocols: Any = ["wakebuilder", f"wakebuilder.token.{encoded}"]
        async with websockets.connect(srv.ws, subprotocols=protocols, **WS_ARGS) as ws:
            assert ws.subprotocol == "wakebuilder"
            assert (await _ready(ws))["type"] == "ready"
        async with websockets.connect(srv.ws, additional_headers={
                "Authorization": f"Bearer {TOKEN}"}, **WS_ARGS) as ws:
            assert (await _ready(ws))["type"] == "ready"
        for url in (srv.ws, f"{srv.ws}?token={TOKEN}"):
            with pytest.raises(InvalidStatus) as info:
                async with websockets.connect(url, **WS_ARGS):
                    pass
            assert info.value.response.status_code == 401

    try:
        asyncio.run(asyncio.wait_for(scenario(), 30))
        with httpx.Client(base_url=srv.url, timeout=10, trust_env=False) as http:
            assert http.get(f"/?token={TOKEN}").status_code == 200
            assert http.get(f"/health?x=1&token={TOKEN}").status_code == 401
            assert http.get("/health", headers={"X-API-Key": TOKEN}).status_code == 200
    finally:
        _stop(srv)
    log = srv.log.read_text()
    assert "GET /?token=[redacted]" in log, log[-2000:]  # the access log is on
    assert TOKEN not in log and encoded not in log


def test_websocket_to_an_unknown_path_gets_a_json_404(server: Server) -> None:
    async def scenario() -> None:
        for path in ("/nope", "/api/nope"):
            with pytest.raises(InvalidStatus) as info:
                async with websockets.connect(f"ws://127.0.0.1:{server.port}{path}", **WS_ARGS):
                    pass
            assert info.value.response.status_code == 404, path
            assert json.loads(info.value.response.body)["error"] == "not_found"

    asyncio.run(asyncio.wait_for(scenario(), 30))

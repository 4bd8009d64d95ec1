"""Hostile load: the attacks of issue 12 (items 1-4) at once, while a real-time client streams.

Starts ``wakebuilder serve`` (the real CLI, so the real uvicorn options) on 127.0.0.1 with a
temporary data directory and one model, then for ``--seconds`` runs, concurrently and bounded:

1. compressed-audio bombs: an 8-channel 48 kHz OGG of ``--bomb-s`` seconds of zeros (made here)
   posted to ``POST /api/train/check`` by ``--bombs`` clients in a loop;
2. long files: a mono 16 kHz FLAC of ``--flac-s`` seconds of low noise posted to
   ``POST /api/test/file`` by ``--flacs`` clients in a loop;
3. idle WebSockets: up to ``--idle`` connections that send nothing, 8 per loopback address
   (127.0.0.2, 127.0.0.3, ...), reopened when the server closes them;
4. huge text frames: ``--huge`` clients sending ``{"type": "ping", "pad": 15 MiB}`` in a loop,
   reconnecting when cut off.

The attackers run in a child process (their own event loop and CPU time); the victim, in this
process, streams a held-out "computer" recording with quiet gaps on loop at real-time pace
(100 ms binary chunks, every frame's score requested). Reported: the victim's response latency
(a frame's score received minus the moment the chunk completing that frame was sent) and its
detection latency (same, for detection messages), ``/health`` latency, the server's peak RSS
(VmRSS sampled every 50 ms from /proc, and VmHWM at the end) and what the attackers got back.
Targets: victim p95 < 300 ms, server RSS < 1.5 GB throughout.

Usage::

    python benchmarks/hostile_load.py [--model-dir DIR] [--seconds 40] [--json out.json]

Without ``--model-dir`` the tests' cached tiny model (``.pytest_cache``) is used when present,
else a random (untrained) head: response latency is measured either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from wakebuilder.audio.format import SAMPLE_RATE, to_int16  # noqa: E402

DEV = ROOT.parent / "shared" / "dev-data" / "precise" / "computer"
CACHED_MODEL = ROOT / ".pytest_cache" / "d" / "wakebuilder-trained-model-v2" / "models"
HUGE_PAD = 15 * 1024 * 1024
CHUNK_MS = 100
WS_ARGS: dict[str, Any] = {"proxy": None, "open_timeout": 10, "close_timeout": 2}


# -- inputs -------------------------------------------------------------------------------------
def make_bomb(path: Path, seconds: float, channels: int = 8, rate: int = 48_000) -> Path:
    """An OGG Vorbis of ``seconds`` of zeros, written block by block (a few hundred kB)."""
    import soundfile as sf

    block = np.zeros((rate, channels), np.float32)
    with sf.SoundFile(str(path), "w", rate, channels, format="OGG", subtype="VORBIS") as f:
        for _ in range(int(seconds)):
            f.write(block)
    return path


def make_flac(path: Path, seconds: float) -> Path:
    """A mono 16 kHz FLAC of low noise (so that it does not compress to nothing; about 8 MB
    for 600 s, under the 10 MB per-file upload limit)."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", SAMPLE_RATE, 1, format="FLAC", subtype="PCM_16") as f:
        for _ in range(int(seconds)):
            f.write(rng.normal(0, 0.001, SAMPLE_RATE).astype(np.float32))
    return path


def victim_audio() -> bytes:
    """One loop: 1 s quiet, a held-out "computer" recording, 2 s quiet (PCM16 at 16 kHz)."""
    from wakebuilder.audio.io import decode_audio

    rng = np.random.default_rng(1)
    quiet = [rng.normal(0, 5e-4, int(s * SAMPLE_RATE)).astype(np.float32) for s in (1.0, 2.0)]
    clips = sorted(DEV.glob("*.wav"))
    word = decode_audio(clips[-1]) if clips else rng.normal(0, 0.05, SAMPLE_RATE).astype(
        np.float32)
    return to_int16(np.concatenate([quiet[0], word, quiet[1]])).tobytes()


def find_model(model_dir: Path | None, tmp: Path) -> Path:
    if model_dir is not None:
        return model_dir
    cached = sorted(CACHED_MODEL.glob("*/*.onnx"))
    if cached:
        return cached[0].parent
    from tests.helpers import random_model

    random_model(tmp / "random" / "test_word", "test_word")
    return tmp / "random" / "test_word"


# -- the server ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data: Path, port: int, log: Path, src: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(src), "WAKEBUILDER_DATA_DIR": str(data)}
    env.pop("WAKEBUILDER_API_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wakebuilder.cli.main", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--data-dir", str(data), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited:\n" + log.read_text()[-2000:])
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


# -- attackers (child process) ------------------------------------------------------------------
async def _post_loop(url: str, path: str, files: dict[str, Any], data: dict[str, str],
                     until: float, stats: Counter[str], times: list[float]) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=120, trust_env=False) as http:
        while time.monotonic() < until:
            t = time.monotonic()
            try:
                resp = await http.post(path, files=files, data=data)
                reason = ""
                if resp.status_code >= 400:
                    reason = " " + str(resp.json().get("details", {}).get("reason", ""))
                elif path == "/api/train/check":
                    body = resp.json()
                    reason = " ok" if body.get("ok") else f" {body.get('reason')}"
                stats[f"{path} {resp.status_code}{reason}"] += 1
            except httpx.HTTPError as exc:
                stats[f"{path} {type(exc).__name__}"] += 1
            times.append(time.monotonic() - t)


async def _idle_loop(ws_url: str, address: str, until: float, stats: Counter[str]) -> None:
    import websockets

    while time.monotonic() < until:
        try:
            async with websockets.connect(ws_url, local_addr=(address, 0), **WS_ARGS) as ws:
                first = json.loads(await ws.recv())
                stats["idle " + (first["type"] if first["type"] == "ready"
                                 else first["details"].get("reason", "error"))] += 1
                while time.monotonic() < until:
                    await asyncio.wait_for(ws.recv(), max(0.1, until - time.monotonic()))
        except (OSError, TimeoutError, websockets.ConnectionClosed,
                websockets.InvalidHandshake) as exc:
            stats[f"idle ended {type(exc).__name__}"] += 1
            await asyncio.sleep(0.2)


async def _huge_loop(ws_url: str, address: str, until: float, stats: Counter[str],
                     cut_s: list[float]) -> None:
    import websockets

    frame = json.dumps({"type": "ping", "pad": "x" * HUGE_PAD})
    while time.monotonic() < until:
        try:
            async with websockets.connect(ws_url, local_addr=(address, 0), compression=None,
                                          **WS_ARGS) as ws:
                await ws.recv()
                t = time.monotonic()
                try:
                    while time.monotonic() < until:
                        await ws.send(frame)
                        stats["huge sent"] += 1
                    await ws.close()
                except websockets.ConnectionClosed as exc:
                    cut_s.append(time.monotonic() - t)
                    stats[f"huge closed {exc.rcvd.code if exc.rcvd else None}"] += 1
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            stats[f"huge ended {type(exc).__name__}"] += 1
        await asyncio.sleep(0.05)


async def _attack(args: dict[str, Any]) -> dict[str, Any]:
    url, ws_url, until = args["url"], args["ws_url"], args["until"]
    stats: Counter[str] = Counter()
    bomb_t: list[float] = []
    flac_t: list[float] = []
    cut_s: list[float] = []
    bomb = Path(args["bomb"]).read_bytes()
    flac = Path(args["flac"]).read_bytes()
    tasks = [_post_loop(url, "/api/train/check", {"audio": ("bomb.ogg", bomb, "audio/ogg")},
                        {}, until, stats, bomb_t) for _ in range(args["bombs"])]
    tasks += [_post_loop(url, "/api/test/file", {"audio": ("long.flac", flac, "audio/flac")},
                         {"model_id": args["model_id"]}, until, stats, flac_t)
              for _ in range(args["flacs"])]
    tasks += [_idle_loop(ws_url, f"127.0.0.{2 + i // 8}", until, stats)
              for i in range(args["idle"])]
    tasks += [_huge_loop(ws_url, f"127.0.1.{1 + i}", until, stats, cut_s)
              for i in range(args["huge"])]
    await asyncio.gather(*tasks)
    return {"stats": dict(sorted(stats.items())),
            "bomb_request_s_max": round(max(bomb_t, default=0.0), 2),
            "flac_request_s_max": round(max(flac_t, default=0.0), 2),
            "huge_cut_after_s_max": round(max(cut_s, default=0.0), 3)}


def _attack_process(args: dict[str, Any], out: Any) -> None:
    out.put(asyncio.run(_attack(args)))


# -- the victim and the samplers (this process) -------------------------------------------------
async def connect_victim(ws_url: str, until: float) -> tuple[Any, float]:
    """Connect, retrying while the server is full; the socket and the seconds it took.
    Raises TimeoutError when no slot came before ``until``."""
    import websockets

    started = time.monotonic()
    while time.monotonic() < until:
        ws = await websockets.connect(ws_url, max_size=2**22, **WS_ARGS)
        first = json.loads(await ws.recv())
        if first["type"] == "ready":
            return ws, time.monotonic() - started
        await ws.close()
        await asyncio.sleep(0.2)
    raise TimeoutError("the victim never got a slot")


async def victim(ws_url: str, audio: bytes, until: float) -> dict[str, Any]:
    step = SAMPLE_RATE * CHUNK_MS // 1000 * 2
    sent: dict[int, float] = {}
    response: list[float] = []
    detection: list[float] = []
    try:
        ws, admitted_s = await connect_victim(ws_url, until)
    except TimeoutError:
        return {"response": [], "detection": [], "admitted_s": None}
    async with ws:
        await ws.send(json.dumps({"type": "config", "score_interval_ms": 0}))

        async def read() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] in ("score", "detection"):
                    chunk = max(0, -(-msg["time_ms"] // CHUNK_MS) - 1)
                    if chunk in sent:
                        lat = time.monotonic() - sent[chunk]
                        (response if msg["type"] == "score" else detection).append(lat)
                elif msg["type"] in ("error", "warning"):
                    print("victim got", msg, flush=True)

        reader = asyncio.create_task(read())
        start, k = time.monotonic(), 0
        while time.monotonic() < until:
            await asyncio.sleep(max(0.0, start + (k + 1) * CHUNK_MS / 1000 - time.monotonic()))
            offset = (k * step) % (len(audio) - len(audio) % step)
            sent[k] = time.monotonic()
            await ws.send(audio[offset:offset + step])
            k += 1
        await asyncio.sleep(1.0)
        reader.cancel()
    return {"response": response, "detection": detection, "admitted_s": admitted_s}


async def sample_memory(pid: int, until: float, peaks: dict[str, int]) -> None:
    while time.monotonic() < until:
        for key, value in memory_kb(pid).items():
            peaks[key] = max(peaks.get(key, 0), value)
        await asyncio.sleep(0.05)


async def sample_health(url: str, until: float) -> list[float]:
    import httpx

    out = []
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as http:
        while time.monotonic() < until:
            t = time.monotonic()
            await http.get("/health")
            out.append(time.monotonic() - t)
            await asyncio.sleep(0.1)
    return out


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else float("nan")


async def measure(url: str, ws_url: str, pid: int, audio: bytes,
                  until: float) -> dict[str, Any]:
    peaks: dict[str, int] = {}
    lat, health, _ = await asyncio.gather(victim(ws_url, audio, until),
                                          sample_health(url, until),
                                          sample_memory(pid, until + 1.0, peaks))
    admitted = lat["admitted_s"]
    return {"victim_admitted_after_s": None if admitted is None else round(admitted, 2),
            "victim_frames": len(lat["response"]),
            "victim_response_p50_ms": pct(lat["response"], 50),
            "victim_response_p95_ms": pct(lat["response"], 95),
            "victim_response_max_ms": pct(lat["response"], 100),
            "victim_detections": len(lat["detection"]),
            "victim_detection_p95_ms": pct(lat["detection"], 95),
            "health_p50_ms": pct(health, 50), "health_p95_ms": pct(health, 95),
            "health_max_ms": pct(health, 100),
            "server_peak_rss_mb": round(peaks.get("VmRSS", 0) / 1024),
            "server_vmhwm_mb": round(memory_kb(pid).get("VmHWM", 0) / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, help="model directory ({id}.onnx, {id}.json)")
    parser.add_argument("--seconds", type=float, default=40.0, help="length of the attack")
    parser.add_argument("--bombs", type=int, default=2, help="clients posting the OGG bomb")
    parser.add_argument("--bomb-s", type=float, default=600.0, help="bomb duration (s)")
    parser.add_argument("--flacs", type=int, default=2, help="clients posting the long FLAC")
    parser.add_argument("--flac-s", type=float, default=600.0, help="FLAC duration (s)")
    parser.add_argument("--idle", type=int, default=64, help="idle WebSockets (at most 64)")
    parser.add_argument("--huge", type=int, default=2, help="clients sending 15 MiB frames")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="the server's source tree (another checkout's src/ to compare)")
    args = parser.parse_args()
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]), flush=True)
    with tempfile.TemporaryDirectory(prefix="wb-hostile-") as tmp_name:
        tmp = Path(tmp_name)
        model_dir = find_model(args.model_dir, tmp)
        shutil.copytree(model_dir, tmp / "data" / "models" / model_dir.name)
        t = time.monotonic()
        bomb = make_bomb(tmp / "bomb.ogg", args.bomb_s)
        flac = make_flac(tmp / "long.flac", args.flac_s)
        print(f"inputs made in {time.monotonic() - t:.1f} s: bomb {bomb.stat().st_size} B, "
              f"flac {flac.stat().st_size} B; model {model_dir}", flush=True)
        port = free_port()
        proc = start_server(tmp / "data", port, tmp / "server.log", args.src)
        url, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/api/test/ws/"
        ws_url += model_dir.name
        try:
            baseline = memory_kb(proc.pid)
            until = time.monotonic() + args.seconds
            queue: Any = mp.get_context("spawn").Queue()
            attackers = mp.get_context("spawn").Process(target=_attack_process, args=({
                "url": url, "ws_url": ws_url, "until": until,
                "bomb": str(bomb), "flac": str(flac), "model_id": model_dir.name,
                "bombs": args.bombs, "flacs": args.flacs, "idle": min(args.idle, 64),
                "huge": args.huge}, queue))
            attackers.start()
            time.sleep(1.0)  # let the attack begin before the victim connects
            result = asyncio.run(measure(url, ws_url, proc.pid, victim_audio(), until))
            attack = queue.get(timeout=args.seconds + 180)
            attackers.join(30)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        errors = [line for line in (tmp / "server.log").read_text().splitlines()
                  if "Traceback" in line or "ERROR" in line]
    result.update(baseline_rss_mb=round(baseline.get("VmRSS", 0) / 1024), **attack,
                  server_errors=errors[:5])
    result["targets_met"] = bool(result["victim_frames"]
                                 and result["victim_response_p95_ms"] < 300
                                 and result["server_vmhwm_mb"] < 1536)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

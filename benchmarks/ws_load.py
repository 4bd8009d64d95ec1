"""Load test of ``WS /api/test/ws/{model_id}``: K concurrent real-time streams.

Starts the real app under uvicorn in a subprocess, then for each K opens K connections that
stream real recordings from ``../shared/dev-data`` at real-time pace (each chunk is sent once
its audio has "happened"). Every stream repeats: quiet, a held-out "computer" recording
trimmed to its speech (so the end of the inserted clip is the end of the wake word), quiet,
a recording of other speech, quiet. Reported per K:

- keeps up: no audio dropped, server lag p95 < 0.5 s (lag = arrival of a frame's score minus
  the moment that frame's audio ended, so it includes waiting for the chunk) and client send
  lag p95 < 50 ms;
- server CPU per stream: server process CPU time / wall time / K (percent of one core);
- latency p50/p95: detection message received minus the moment the wake word ended (the end
  of the inserted clip, trimmed by the speech detector; negative when the model fires before
  the word's quiet tail is over);
- delay after frame p50/p95: detection message received minus the moment the audio of the
  frame that fired ended (what the server and chunking add);
- hits/words and false detections.

Usage::

    python benchmarks/ws_load.py --model-dir data/models/computer --ks 1,5,10,20,30,40

Without ``--model-dir`` a tiny "computer" model is trained first (fast config, 2-3 min) into
``data/bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from loadkit import (
    Plan,
    cpu_seconds,
    ensure_model,
    free_port,
    make_plan,
    other_speech,
    paced_chunks,
    pct,
    print_command,
    usable_words,
    wait_listening,
)

from wakebuilder.audio.format import SAMPLE_RATE, Samples


def detected_words(model_dir: Path) -> list[Samples]:
    """Held-out recordings trimmed to speech that the library itself detects (latency needs a
    detection; recall is measured elsewhere)."""
    from wakebuilder.cli.detect import detect_file, load_model_dir

    model, manifest = load_model_dir(model_dir)
    return usable_words(lambda x: len(detect_file(model, manifest.detector, x)))


# -- one connection -----------------------------------------------------------------------------
@dataclass
class Outcome:
    send_lag_s: list[float] = field(default_factory=list)
    server_lag_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    detect_delay_s: list[float] = field(default_factory=list)
    words: int = 0
    false_detections: int = 0
    dropped_ms: int = 0
    errors: list[str] = field(default_factory=list)


async def run_stream(url: str, plan: Plan, chunk_ms: int, binary: bool, delay_s: float) -> Outcome:
    import websockets

    out = Outcome(words=len(plan.words))
    await asyncio.sleep(delay_s)
    detected: list[tuple[int, float]] = []
    async with websockets.connect(url, max_size=2**22) as ws:
        if json.loads(await ws.recv())["type"] != "ready":
            out.errors.append("no ready")
            return out
        t0 = time.monotonic()

        async def read() -> None:
            async for raw in ws:
                now = time.monotonic()
                msg: dict[str, Any] = json.loads(raw)
                kind = msg["type"]
                if kind in ("score", "detection"):
                    out.server_lag_s.append(now - t0 - msg["time_ms"] / 1000)
                if kind == "detection":
                    detected.append((msg["time_ms"], now))
                    out.detect_delay_s.append(now - t0 - msg["time_ms"] / 1000)
                elif kind == "warning":
                    out.dropped_ms += int(msg["details"].get("dropped_ms", 0))
                elif kind == "error":
                    out.errors.append(msg["message"])
                elif kind == "config_ack" and "end" in msg.get("ignored", []):
                    return

        reader = asyncio.create_task(read())
        async for chunk in paced_chunks(plan.pcm, chunk_ms, t0, out.send_lag_s):
            await ws.send(chunk if binary else json.dumps(
                {"type": "audio", "data": base64.b64encode(chunk).decode(),
                 "sample_rate": SAMPLE_RATE}))
        await ws.send(json.dumps({"type": "config", "end": True}))
        await asyncio.wait_for(reader, 60)
    used = set()
    for start_ms, end_ms in plan.words:
        for j, (time_ms, at) in enumerate(detected):
            if j not in used and start_ms <= time_ms <= end_ms + 1500:
                used.add(j)
                out.latency_s.append(at - (t0 + end_ms / 1000))
                break
    out.false_detections = len(detected) - len(used)
    return out


# -- the server ---------------------------------------------------------------------------------
def serve(data_dir: Path, port: int) -> None:
    """Run the app (no job dispatcher) until killed."""
    import uvicorn

    from wakebuilder.api.app import create_app
    from wakebuilder.cli.serve import uvicorn_options
    from wakebuilder.settings import load_settings

    # Every stream comes from 127.0.0.1: lift the per-address cap to the global one.
    app = create_app(load_settings(data_dir=data_dir, port=port, ws_max_per_client=64),
                     start_dispatcher=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options())


# -- the run ------------------------------------------------------------------------------------
async def run_k(url: str, k: int, plans: list[Plan], chunk_ms: int, binary: bool,
                rng: np.random.Generator) -> list[Outcome]:
    delays = rng.uniform(0, chunk_ms / 1000, k)
    return list(await asyncio.gather(*(run_stream(url, plans[i], chunk_ms, binary, delays[i])
                                       for i in range(k))))


def summarise(k: int, outcomes: list[Outcome], cpu_s: float, wall_s: float,
              client_cpu_s: float) -> dict[str, Any]:
    send = [x for o in outcomes for x in o.send_lag_s]
    lag = [x for o in outcomes for x in o.server_lag_s]
    lat = [x for o in outcomes for x in o.latency_s]
    delay = [x for o in outcomes for x in o.detect_delay_s]
    dropped = sum(o.dropped_ms for o in outcomes)
    errors = [e for o in outcomes for e in o.errors]
    keeps_up = (dropped == 0 and not errors and pct(lag, 95) < 0.5 and pct(send, 95) < 0.05)
    return {"k": k, "keeps_up": keeps_up, "server_lag_p95_ms": round(pct(lag, 95) * 1000),
            "server_lag_max_ms": round(max(lag, default=float("nan")) * 1000),
            "send_lag_p95_ms": round(pct(send, 95) * 1000, 1), "dropped_ms": dropped,
            "cpu_per_stream_pct": round(100 * cpu_s / wall_s / k, 2),
            "server_cpu_pct": round(100 * cpu_s / wall_s, 1),
            "client_cpu_pct": round(100 * client_cpu_s / wall_s, 1),
            "latency_p50_ms": round(pct(lat, 50) * 1000), "latency_p95_ms":
            round(pct(lat, 95) * 1000), "delay_p50_ms": round(pct(delay, 50) * 1000),
            "delay_p95_ms": round(pct(delay, 95) * 1000), "hits": len(lat),
            "words": sum(o.words for o in outcomes),
            "false_detections": sum(o.false_detections for o in outcomes), "errors": errors[:3]}


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| K | keeps up | server lag p95 / max (ms) | dropped (ms) | CPU per stream "
            "(% of a core) | server CPU (%) | client CPU (%) | latency p50 / p95 (ms) | "
            "delay after frame p50 / p95 (ms) | detected words | false detections |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(f"| {r['k']} | {'yes' if r['keeps_up'] else 'NO'} | "
                     f"{r['server_lag_p95_ms']} / {r['server_lag_max_ms']} | {r['dropped_ms']} | "
                     f"{r['cpu_per_stream_pct']} | {r['server_cpu_pct']} | {r['client_cpu_pct']} | "
                     f"{r['latency_p50_ms']} / {r['latency_p95_ms']} | "
                     f"{r['delay_p50_ms']} / {r['delay_p95_ms']} | {r['hits']}/{r['words']} | "
                     f"{r['false_detections']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, help="model directory ({id}.onnx, {id}.json)")
    parser.add_argument("--ks", default="1,5,10,20,30,40", help="connection counts")
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per stream")
    parser.add_argument("--chunk-ms", type=int, default=100, help="audio per message")
    parser.add_argument("--binary", action="store_true", help="binary PCM frames, not JSON")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    print_command()
    model_dir = ensure_model(args.model_dir)
    words = detected_words(model_dir)
    others = other_speech()
    print(f"model {model_dir}; {len(words)} held-out words detected by the library are used",
          flush=True)
    ks = [int(k) for k in args.ks.split(",")]
    rng = np.random.default_rng(0)
    plans = [make_plan(words, others, args.seconds, rng) for _ in range(max(ks))]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(model_dir, Path(tmp) / "models" / model_dir.name)
        port = free_port()
        proc = subprocess.Popen([sys.executable, __file__, "--serve", tmp, "--port", str(port)])
        try:
            wait_listening(port, proc)
            url = f"ws://127.0.0.1:{port}/api/test/ws/{model_dir.name}"
            asyncio.run(run_k(url, 1, plans, args.chunk_ms, args.binary, rng))  # warm-up
            rows = []
            for k in ks:
                cpu0, wall0, own0 = cpu_seconds(proc.pid), time.monotonic(), time.process_time()
                outcomes = asyncio.run(run_k(url, k, plans, args.chunk_ms, args.binary, rng))
                row = summarise(k, outcomes, cpu_seconds(proc.pid) - cpu0,
                                time.monotonic() - wall0, time.process_time() - own0)
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

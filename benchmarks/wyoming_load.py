"""Load test of ``wakebuilder wyoming``: N concurrent real-time streams over TCP.

Starts the real server (``python -m wakebuilder.cli.main wyoming``) in a subprocess on a free
loopback port, then opens N connections with the ``wyoming`` package's ``AsyncTcpClient``.
Each sends ``detect``, ``audio-start``, then real recordings from ``../shared/dev-data`` at
real-time pace (each chunk once its audio has "happened"), then ``audio-stop``. Every stream
repeats: quiet, a held-out "computer" recording trimmed to its speech, quiet, a recording of
other speech, quiet. With ``--heads K`` the store holds K copies of the model and every stream
asks for all of them (one front end feeds K heads). Reported per round:

- server CPU per stream: CPU time of the server process (``/proc/<pid>/stat``) / wall time /
  N, in percent of one core;
- latency p50/p95: ``detection`` received minus the moment the wake word ended;
- delay after frame p50/p95: ``detection`` received minus the moment the audio of the frame
  that fired ended (what the server and chunking add);
- peak RSS of the server (``VmHWM``), hits/words (words x heads: each head should detect
  each word), false detections, send lag p95.

Usage::

    python benchmarks/wyoming_load.py --model-dir data/models/computer --streams 20

Without ``--model-dir`` the tests' cached tiny model (``.pytest_cache``) or ``data/bench`` is
used, or a tiny "computer" model is trained first (fast config, 2-3 min) into ``data/bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
    ROOT,
    Plan,
    cpu_seconds,
    ensure_model,
    free_port,
    make_plan,
    other_speech,
    paced_chunks,
    pct,
    peak_rss_mb,
    print_command,
    usable_words,
    wait_listening,
)

from wakebuilder.audio.format import SAMPLE_RATE, Samples

MAX_STREAMS, MAX_SECONDS = 200, 600
# The tests' cached tiny model (the newest first), then data/bench.
MODEL_GLOBS = (".pytest_cache/d/wakebuilder-trained-model-v*/models/*/*.onnx",
               "data/bench/models/*/*.onnx")


def detected_words(model_dir: Path) -> list[Samples]:
    """Held-out recordings trimmed to speech that the library itself detects once."""
    from wakebuilder.detection.detector import StreamingDetector
    from wakebuilder.modelstore.loader import ModelCache
    from wakebuilder.modelstore.store import ModelStore

    _, model, config = ModelCache().open(ModelStore(model_dir.parent), model_dir.name)
    return usable_words(lambda x: len(StreamingDetector(model, config).process(x)))


# -- one connection -----------------------------------------------------------------------------
@dataclass
class Outcome:
    send_lag_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    detect_delay_s: list[float] = field(default_factory=list)
    words: int = 0
    false_detections: int = 0
    errors: list[str] = field(default_factory=list)
    finished: bool = False


async def run_stream(port: int, plan: Plan, names: list[str], chunk_ms: int,
                     delay_s: float) -> Outcome:
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient
    from wyoming.wake import Detect, Detection

    out = Outcome(words=len(plan.words) * len(names))
    await asyncio.sleep(delay_s)
    detected: list[tuple[str, int, float]] = []
    async with AsyncTcpClient("127.0.0.1", port) as c:
        await c.write_event(Detect(names=names).event())
        await c.write_event(AudioStart(SAMPLE_RATE, 2, 1).event())
        t0 = time.monotonic()
        stopped = asyncio.Event()

        async def read() -> None:
            while (event := await c.read_event()) is not None:
                now = time.monotonic()
                if Detection.is_type(event.type):
                    det = Detection.from_event(event)
                    detected.append((det.name or "", det.timestamp or 0, now))
                    out.detect_delay_s.append(now - t0 - (det.timestamp or 0) / 1000)
                elif event.type == "error":
                    out.errors.append(str(event.data.get("text")))
                elif event.type in ("not-detected", "pong") and stopped.is_set():
                    out.finished = True
                    return

        reader = asyncio.create_task(read())
        async for chunk in paced_chunks(plan.pcm, chunk_ms, t0, out.send_lag_s):
            await c.write_event(AudioChunk(SAMPLE_RATE, 2, 1, chunk).event())
        stopped.set()
        await c.write_event(AudioStop().event())
        from wyoming.ping import Ping

        await c.write_event(Ping(text="end").event())  # answered after every chunk is scored
        await asyncio.wait_for(reader, 60)
    used = set()
    for name in names:  # each head should detect each word once
        for start_ms, end_ms in plan.words:
            for j, (head, time_ms, at) in enumerate(detected):
                if j not in used and head == name and start_ms <= time_ms <= end_ms + 1500:
                    used.add(j)
                    out.latency_s.append(at - (t0 + end_ms / 1000))
                    break
    out.false_detections = len(detected) - len(used)
    return out


# -- the server ---------------------------------------------------------------------------------
def copy_model(src: Path, models: Path, model_id: str) -> None:
    """``src`` as model ``model_id`` (files renamed to the new id)."""
    dest = models / model_id
    dest.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file():
            shutil.copy(f, dest / f.name.replace(src.name, model_id, 1))


# -- the run ------------------------------------------------------------------------------------
def summarise(n: int, heads: int, outcomes: list[Outcome], cpu_s: float, wall_s: float,
              rss_mb: float) -> dict[str, Any]:
    send = [x for o in outcomes for x in o.send_lag_s]
    lat = [x for o in outcomes for x in o.latency_s]
    delay = [x for o in outcomes for x in o.detect_delay_s]
    errors = [e for o in outcomes for e in o.errors]
    return {"streams": n, "heads": heads, "finished": sum(o.finished for o in outcomes),
            "cpu_per_stream_pct": round(100 * cpu_s / wall_s / n, 2),
            "server_cpu_pct": round(100 * cpu_s / wall_s, 1),
            "latency_p50_ms": round(pct(lat, 50) * 1000),
            "latency_p95_ms": round(pct(lat, 95) * 1000),
            "delay_p50_ms": round(pct(delay, 50) * 1000),
            "delay_p95_ms": round(pct(delay, 95) * 1000),
            "send_lag_p95_ms": round(pct(send, 95) * 1000, 1),
            "peak_rss_mb": round(rss_mb), "hits": len(lat),
            "words": sum(o.words for o in outcomes),
            "false_detections": sum(o.false_detections for o in outcomes),
            "errors": errors[:3]}


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| streams | heads | finished | CPU per stream (% of a core) | server CPU (%) | "
            "latency p50 / p95 (ms) | delay after frame p50 / p95 (ms) | send lag p95 (ms) | "
            "peak RSS (MB) | detected words | false detections |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(f"| {r['streams']} | {r['heads']} | {r['finished']}/{r['streams']} | "
                     f"{r['cpu_per_stream_pct']} | {r['server_cpu_pct']} | "
                     f"{r['latency_p50_ms']} / {r['latency_p95_ms']} | "
                     f"{r['delay_p50_ms']} / {r['delay_p95_ms']} | {r['send_lag_p95_ms']} | "
                     f"{r['peak_rss_mb']} | {r['hits']}/{r['words']} | "
                     f"{r['false_detections']} |")
    return "\n".join(lines)


async def run_round(port: int, n: int, names: list[str], plans: list[Plan], chunk_ms: int,
                    rng: np.random.Generator, timeout_s: float) -> list[Outcome]:
    delays = rng.uniform(0, chunk_ms / 1000, n)
    return list(await asyncio.wait_for(asyncio.gather(*(
        run_stream(port, plans[i], names, chunk_ms, delays[i]) for i in range(n))), timeout_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, help="model directory ({id}.onnx, {id}.json)")
    parser.add_argument("--streams", type=int, default=20, help="concurrent connections")
    parser.add_argument("--heads", default="1", help="models per stream, one round each "
                        "(e.g. 1,4)")
    parser.add_argument("--seconds", type=float, default=30.0, help="audio per stream")
    parser.add_argument("--chunk-ms", type=int, default=20, help="audio per audio-chunk")
    parser.add_argument("--threads", type=int, default=2, help="server inference threads")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    if not 1 <= args.streams <= MAX_STREAMS or not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--streams must be 1-{MAX_STREAMS} and --seconds 1-{MAX_SECONDS}")
    print_command()
    model_dir = ensure_model(args.model_dir, MODEL_GLOBS, newest_first=True)
    words = detected_words(model_dir)
    others = other_speech()
    print(f"model {model_dir}; {len(words)} held-out words detected by the library are used",
          flush=True)
    head_counts = [int(h) for h in args.heads.split(",")]
    rng = np.random.default_rng(0)
    plans = [make_plan(words, others, args.seconds, rng) for _ in range(args.streams)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        ids = [model_dir.name] + [f"{model_dir.name}_h{i}" for i in range(1, max(head_counts))]
        copy_model(model_dir, models, ids[0])
        for model_id in ids[1:]:
            copy_model(model_dir, models, model_id)
        port = free_port()
        cmd = [sys.executable, "-m", "wakebuilder.cli.main", "wyoming", "--uri",
               f"tcp://127.0.0.1:{port}", "--data-dir", tmp, "--threads", str(args.threads)]
        proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                                stderr=subprocess.DEVNULL)
        try:
            wait_listening(port, proc, 90)
            for heads in head_counts:
                names = ids[:heads]
                asyncio.run(run_round(port, 1, names, plans, args.chunk_ms, rng, 60))  # warm-up
                cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
                outcomes = asyncio.run(run_round(port, args.streams, names, plans,
                                                 args.chunk_ms, rng, args.seconds * 3 + 60))
                row = summarise(args.streams, heads, outcomes, cpu_seconds(proc.pid) - cpu0,
                                time.monotonic() - wall0, peak_rss_mb(proc.pid))
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            proc.terminate()
            proc.wait(20)
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

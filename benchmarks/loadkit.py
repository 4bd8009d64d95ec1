"""Shared pieces of the real-time load benchmarks (``ws_load.py``, ``wyoming_load.py``).

The dev recordings, one stream's audio plan, real-time pacing, the server process (free
loopback port, waiting until it listens, CPU time and peak RSS from ``/proc``), the model to
use and percentiles.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wakebuilder.audio.checks import speech_bounds  # noqa: E402
from wakebuilder.audio.format import SAMPLE_RATE, Samples, to_int16  # noqa: E402
from wakebuilder.audio.io import decode_audio  # noqa: E402

DEV = ROOT.parent / "shared" / "dev-data" / "precise"
WORDS = sorted((DEV / "computer").glob("*.wav"))
OTHER = sorted((DEV / "not-wake-words" / "en").glob("*.wav"))
TRAIN = WORDS[:3]


def print_command() -> None:
    """Print the command line this benchmark was started with."""
    print("command:", shlex.join([Path(sys.executable).name, *sys.argv]), flush=True)


# -- audio --------------------------------------------------------------------------------------
@dataclass
class Plan:
    """One connection's audio and where its wake words are (ms of audio time)."""

    pcm: bytes
    words: list[tuple[int, int]] = field(default_factory=list)


def usable_words(count_detections: Callable[[Samples], int]) -> list[Samples]:
    """Held-out recordings trimmed to speech that the library itself detects once
    (``count_detections`` of the word padded with 1 s of silence each side is 1)."""
    out = []
    for path in WORDS[3:]:
        x = decode_audio(path)
        bounds = speech_bounds(x)
        if bounds is None:
            continue
        word = x[bounds[0]:bounds[1]]
        padded = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), word,
                                 np.zeros(SAMPLE_RATE, np.float32)])
        if count_detections(padded) == 1:
            out.append(word)
    return out


def other_speech() -> list[Samples]:
    """The recordings of other speech that fill the gaps between wake words."""
    return [decode_audio(p) for p in OTHER[:20]]


def make_plan(words: list[Samples], others: list[Samples], seconds: float,
              rng: np.random.Generator) -> Plan:
    """At least ``seconds`` of: quiet, a wake word, quiet, other speech, quiet, ..."""
    parts: list[Samples] = []
    plan = Plan(b"")
    n = 0

    def add(x: Samples) -> None:
        nonlocal n
        parts.append(x.astype(np.float32))
        n += len(x)

    def quiet(s: float) -> Samples:
        return rng.normal(0, 3e-4, int(s * SAMPLE_RATE)).astype(np.float32)

    add(quiet(rng.uniform(1.3, 2.0)))
    while n < seconds * SAMPLE_RATE:
        word = words[rng.integers(len(words))]
        start = n
        add(word)
        plan.words.append((start * 1000 // SAMPLE_RATE, n * 1000 // SAMPLE_RATE))
        add(quiet(1.0))
        add(others[rng.integers(len(others))])
        add(quiet(rng.uniform(0.8, 1.2)))
    plan.pcm = to_int16(np.concatenate(parts)).tobytes()
    return plan


async def paced_chunks(pcm: bytes, chunk_ms: int, t0: float,
                       send_lag_s: list[float]) -> AsyncIterator[bytes]:
    """``pcm`` (16-bit mono) in ``chunk_ms`` chunks, each once its audio has "happened" since
    ``t0`` (monotonic); how late each one is goes to ``send_lag_s``."""
    step = SAMPLE_RATE * chunk_ms // 1000 * 2
    for i in range(0, len(pcm), step):
        due = t0 + (i + step) / 2 / SAMPLE_RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        send_lag_s.append(time.monotonic() - due)
        yield pcm[i:i + step]


# -- the server ---------------------------------------------------------------------------------
def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (``VmHWM``) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """Return once 127.0.0.1:``port`` accepts connections; raise if ``proc`` exits first or
    ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def ensure_model(model_dir: Path | None, patterns: Sequence[str] = ("data/bench/models/*/*.onnx",),
                 newest_first: bool = False) -> Path:
    """``model_dir``, else the first model found by ``patterns`` (globs under the repository,
    tried in order; sorted by path, reversed when ``newest_first``), else a tiny "computer"
    model trained now (fast config, 2-3 min) into ``data/bench``."""
    if model_dir is not None:
        return model_dir
    for pattern in patterns:
        found = sorted(ROOT.glob(pattern), reverse=newest_first)
        if found:
            return found[0].parent
    from wakebuilder.layout import DataLayout
    from wakebuilder.pipeline.request import TrainRequest
    from wakebuilder.pipeline.run import run_training
    from wakebuilder.training.config import fast_config

    out = ROOT / "data" / "bench"
    print("training a tiny 'computer' model into", out, flush=True)
    result = run_training(TrainRequest("computer", list(TRAIN), fast_config(seed=0)),
                          DataLayout(out))
    return result.model_dir


# -- figures ------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` (NaN when empty)."""
    return float(np.percentile(values, q)) if values else float("nan")

"""One file, four ways in, the same detections (slow).

A WAV of real speech with held-out recordings of "computer" in it goes through

1. ``wakebuilder detect --json`` (the CLI in a subprocess, the model named by id in the data
   directory given by ``WAKEBUILDER_DATA_DIR``),
2. ``POST /api/test/file`` on a real uvicorn server,
3. the WebSocket live test on that server (a real client sending 100 ms chunks at twice real
   time),
4. the benchmark's scoring path (``benchmarks/dev_benchmark.py``: whole-stream embeddings,
   ``stream_scores``, ``smoothed_scores``, then ``count_events`` and the detection logic's
   fire frames),

and every way reports the same number of detections at the same times (within one frame).
The file starts with 2.5 s of quiet audio: a live stream cannot fire in its first frames
(warm-up) while the file paths feed warm-up silence first, so only audio after the first
two seconds can be compared.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import websockets

from tests.conftest import DEV_DATA, HELDOUT_WAVS
from tests.servers import app_in_thread, data_with_model
from wakebuilder.audio.format import FRAME_MS, SAMPLE_RATE, Samples, to_int16
from wakebuilder.audio.io import decode_audio, write_wav
from wakebuilder.cli.detect import detect_path, load_model_dir
from wakebuilder.detection.evaluate import count_events, fa_per_hour, smoothed_scores
from wakebuilder.detection.logic import DetectionLogic
from wakebuilder.features.frontend import get_frontend

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    base: str
    data_dir: Path
    model_id: str
    model_dir: Path


@pytest.fixture(scope="module")
def server(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    data = data_with_model(trained_model_dir, tmp_path_factory, "same-data")
    with app_in_thread(data) as port:
        model_dir = data / "models" / trained_model_dir.name
        yield Server(f"127.0.0.1:{port}", data, trained_model_dir.name, model_dir)


def _quiet(seconds: float, seed: int) -> Samples:
    return np.random.default_rng(seed).normal(0, 5e-4, int(seconds * SAMPLE_RATE)).astype(
        np.float32)


@pytest.fixture(scope="module")
def words(server: Server, tmp_path_factory: pytest.TempPathFactory) -> list[Samples]:
    """Two held-out recordings of "computer" the model finds (each once, in quiet)."""
    model, manifest = load_model_dir(server.model_dir)
    found = []
    for path in HELDOUT_WAVS[:16]:
        word = decode_audio(path)
        probe = tmp_path_factory.mktemp("probe") / "probe.wav"
        write_wav(probe, np.concatenate([_quiet(2.5, 0), word, _quiet(1.5, 1)]))
        if len(detect_path(model, manifest.detector, probe).detections) == 1:
            found.append(word)
        if len(found) == 2:
            return found
    pytest.fail("the tiny model detects fewer than two held-out recordings")


def _speech() -> list[Samples]:
    return [decode_audio(p) for p in
            sorted((DEV_DATA / "precise" / "not-wake-words" / "en").glob("*.wav"))[:6]]


@pytest.fixture(scope="module")
def audio_file(words: list[Samples], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Quiet lead, then real speech with the two held-out "computer" clips in it."""
    speech = _speech()
    parts = [_quiet(2.5, 2), speech[0], speech[1], words[0], speech[2], speech[3], words[1],
             speech[4], _quiet(0.3, 3), speech[5], _quiet(1.5, 4)]
    path = tmp_path_factory.mktemp("same") / "speech_with_computer.wav"
    write_wav(path, np.concatenate(parts))
    return path


def _times(detections: list[dict[str, object]]) -> list[int]:
    return [int(d["time_ms"]) for d in detections]  # type: ignore[call-overload]


def via_cli(server: Server, audio: Path) -> list[int]:
    env = {**os.environ, "WAKEBUILDER_DATA_DIR": str(server.data_dir)}
    out = subprocess.run([sys.executable, "-m", "wakebuilder.cli.main", "detect", str(audio),
                          "--model", server.model_id, "--json"], capture_output=True,
                         text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return _times(json.loads(out.stdout)["detections"])


def via_api(server: Server, audio: Path) -> list[int]:
    import httpx

    resp = httpx.post(f"http://{server.base}/api/test/file",
                      data={"model_id": server.model_id},
                      files={"audio": (audio.name, audio.read_bytes(), "audio/wav")},
                      timeout=120)
    assert resp.status_code == 200, resp.text
    return _times(resp.json()["detections"])


async def _ws(server: Server, samples: Samples, chunk_ms: int = 100,
              pace: float = 2.0) -> list[int]:
    pcm = to_int16(samples).tobytes()
    step = SAMPLE_RATE * chunk_ms // 1000 * 2
    found: list[dict[str, object]] = []
    url = f"ws://{server.base}/api/test/ws/{server.model_id}?sample_rate={SAMPLE_RATE}"
    async with websockets.connect(url, max_size=2**22) as ws:
        assert json.loads(await ws.recv())["type"] == "ready"

        async def read() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                assert msg["type"] not in ("error", "warning"), msg
                if msg["type"] == "detection":
                    found.append(msg)
                if msg["type"] == "config_ack" and msg.get("ignored") == ["end"]:
                    return

        reader = asyncio.create_task(read())
        started = time.monotonic()
        for i in range(0, len(pcm), step):
            await asyncio.sleep(max(0.0, started + (i + step) / 2 / SAMPLE_RATE / pace
                                    - time.monotonic()))
            await ws.send(pcm[i:i + step])
        await ws.send(json.dumps({"type": "config", "end": True}))  # acked after all audio
        await asyncio.wait_for(reader, 60)
    return _times(found)


def via_websocket(server: Server, audio: Path) -> list[int]:
    return asyncio.run(_ws(server, decode_audio(audio)))


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_benchmark",
                                                  REPO / "benchmarks" / "dev_benchmark.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def via_benchmark(server: Server, audio: Path) -> list[int]:
    bench = _benchmark()
    model, manifest = load_model_dir(server.model_dir)
    det = manifest.detector
    scores = bench.stream_scores(model, get_frontend().embed_stream(decode_audio(audio)))
    smoothed = smoothed_scores(scores, det)
    frames = DetectionLogic(det).fire_frames(smoothed)
    count = count_events(smoothed, det.threshold, det.refractory_ms)
    assert count == len(frames)
    hours = (len(scores) - det.warmup_frames) * FRAME_MS / 3_600_000  # listening time
    assert fa_per_hour([smoothed], det.threshold, det) == pytest.approx(count / hours)
    return [(int(f) + 1) * FRAME_MS for f in frames]


def test_one_file_gives_the_same_detections_four_ways(server: Server,
                                                      audio_file: Path) -> None:
    results = {"cli": via_cli(server, audio_file), "api": via_api(server, audio_file),
               "websocket": via_websocket(server, audio_file),
               "benchmark": via_benchmark(server, audio_file)}
    reference = results["benchmark"]
    assert len(reference) >= 2, results  # both wake words found: the agreement means something
    for way, times in results.items():
        assert len(times) == len(reference), (way, results)
        assert all(abs(a - b) <= FRAME_MS for a, b in zip(times, reference, strict=True)), (
            way, results)


def test_a_wake_word_at_the_very_start_of_a_file(server: Server, words: list[Samples],
                                                 tmp_path: Path) -> None:
    """Both file paths feed warm-up silence first, so a wake word in the first second is
    found, by the CLI and the API alike (a live stream is still warming up there)."""
    path = tmp_path / "starts_with_computer.wav"
    write_wav(path, np.concatenate([words[0], *_speech()[:2], _quiet(1.5, 5)]))
    cli, api = via_cli(server, path), via_api(server, path)
    assert cli == api
    assert cli and cli[0] < len(words[0]) * 1000 // SAMPLE_RATE + 1000

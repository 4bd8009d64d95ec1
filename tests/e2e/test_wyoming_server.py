"""``wakebuilder wyoming`` as a subprocess, driven over TCP by the ``wyoming`` package's own
``AsyncTcpClient`` (slow).

The model is the shared tiny "computer" model (``trained_model_dir``), copied into a fresh
data directory; the audio is held-out recordings of "computer" and generated noise.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event
from wyoming.info import Describe, Info
from wyoming.wake import Detect, Detection

from tests.clips import Clip, first_detected_once
from tests.servers import data_with_model, free_port, wait_listening
from wakebuilder.audio.format import SAMPLE_RATE, Samples, to_int16
from wakebuilder.audio.io import resample
from wakebuilder.detection.detector import StreamingDetector
from wakebuilder.modelstore.loader import ModelCache
from wakebuilder.modelstore.store import ModelStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "wakebuilder.cli.main", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


@dataclass
class Server:
    port: int
    data: Path
    model_id: str
    proc: subprocess.Popen[bytes]

    def client(self) -> AsyncTcpClient:
        return AsyncTcpClient("127.0.0.1", self.port)


@pytest.fixture(scope="module")
def server(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    """``wakebuilder wyoming`` on a free loopback port, serving a copy of the trained model."""
    data = data_with_model(trained_model_dir, tmp_path_factory, "wyoming-data")
    port = free_port()
    proc = subprocess.Popen(cli("wyoming", "--uri", f"tcp://127.0.0.1:{port}", "--data-dir",
                                str(data)), env=env())
    try:
        wait_listening(port, proc)
        yield Server(port, data, trained_model_dir.name, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0  # a clean shutdown


@pytest.fixture(scope="module")
def clip(server: Server) -> Clip:
    """The first held-out recording the library detects exactly once."""
    _, model, config = ModelCache().open(ModelStore(server.data / "models"), server.model_id)
    return first_detected_once(lambda x: StreamingDetector(model, config).process(x))


def pcm(samples: Samples, rate: int = SAMPLE_RATE, channels: int = 1) -> bytes:
    x = samples if rate == SAMPLE_RATE else resample(samples, SAMPLE_RATE, rate)
    return to_int16(np.repeat(x, channels)).tobytes()


async def read(c: AsyncTcpClient, timeout: float = 30.0) -> Event:
    event = await asyncio.wait_for(c.read_event(), timeout)
    assert event is not None, "the server closed the connection"
    return event


@dataclass
class Outcome:
    events: list[Event]
    received_at: list[float]
    """Seconds after the first chunk was sent."""


async def stream(server: Server, audio: bytes, *, rate: int = SAMPLE_RATE, channels: int = 1,
                 names: list[str] | None = None, chunk_ms: int = 20, pace: float | None = None
                 ) -> Outcome:
    """detect -> audio-start -> chunks (``pace`` x real time, or as fast as possible) ->
    audio-stop, collecting events until ``not-detected`` or a detection after the stop."""
    out = Outcome([], [])
    async with server.client() as c:
        await c.write_event(Detect(names=names).event())
        await c.write_event(AudioStart(rate, 2, channels).event())
        stopped = asyncio.Event()
        started = time.monotonic()

        async def reader() -> None:
            while True:
                event = await read(c)
                out.events.append(event)
                out.received_at.append(time.monotonic() - started)
                if not Detection.is_type(event.type) or stopped.is_set():
                    return

        task = asyncio.create_task(reader())
        step = rate * chunk_ms // 1000 * 2 * channels
        for i in range(0, len(audio), step):
            if pace:
                due = started + (i + step) / (2 * channels * rate) / pace
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            await c.write_event(AudioChunk(rate, 2, channels, audio[i:i + step]).event())
        stopped.set()
        await c.write_event(AudioStop().event())
        try:
            await asyncio.wait_for(asyncio.shield(task), 3 if out.events else 30)
        except TimeoutError:
            task.cancel()  # detections only: no not-detected follows them
    return out


def detections(outcome: Outcome) -> list[tuple[str, int]]:
    return [(d.name or "", d.timestamp or 0) for d in
            (Detection.from_event(e) for e in outcome.events if Detection.is_type(e.type))]


async def describe(server: Server) -> tuple[Info, float]:
    async with server.client() as c:
        start = time.monotonic()
        await c.write_event(Describe().event())
        event = await read(c)
        return Info.from_event(event), time.monotonic() - start


def test_describe_lists_the_trained_model(server: Server) -> None:
    info, took = asyncio.run(describe(server))
    assert took < 1.0
    (program,) = info.wake
    (model,) = program.models
    assert model.name == server.model_id
    assert model.phrase == model.description == "computer"
    assert model.installed and model.languages == ["en"]


def test_wake_word_at_16k_is_detected_at_the_library_time(server: Server, clip: Clip) -> None:
    outcome = asyncio.run(stream(server, pcm(clip.samples), names=[server.model_id]))
    assert detections(outcome) == [(server.model_id, d.time_ms) for d in clip.expected]
    assert clip.word_start_ms <= clip.expected[0].time_ms <= clip.word_end_ms + 600


def test_wake_word_at_48k_stereo_is_detected_near_the_same_time(server: Server,
                                                               clip: Clip) -> None:
    outcome = asyncio.run(stream(server, pcm(clip.samples, 48000, 2), rate=48000, channels=2))
    ((name, time_ms),) = detections(outcome)
    assert name == server.model_id
    assert abs(time_ms - clip.expected[0].time_ms) <= 160


def test_noise_gives_not_detected(server: Server) -> None:
    noise = np.random.default_rng(3).normal(0, 0.05, 8 * SAMPLE_RATE).astype(np.float32)
    _, model, config = ModelCache().open(ModelStore(server.data / "models"), server.model_id)
    assert StreamingDetector(model, config).process(noise) == []
    outcome = asyncio.run(stream(server, pcm(noise)))
    assert [e.type for e in outcome.events] == ["not-detected"]


def test_a_model_copied_on_disk_shows_up_and_goes_away(server: Server, clip: Clip) -> None:
    src = server.data / "models" / server.model_id
    new_id = f"{server.model_id}_copy"
    tmp = server.data / "models" / f".tmp-{new_id}"
    tmp.mkdir()
    for f in src.iterdir():
        shutil.copy(f, tmp / f.name.replace(server.model_id, new_id, 1))
    tmp.rename(server.data / "models" / new_id)  # appear at once, as the store publishes
    info, _ = asyncio.run(describe(server))
    assert {m.name for m in info.wake[0].models} == {server.model_id, new_id}
    outcome = asyncio.run(stream(server, pcm(clip.samples), names=[new_id]))
    assert [name for name, _ in detections(outcome)] == [new_id]
    shutil.rmtree(server.data / "models" / new_id)
    info, _ = asyncio.run(describe(server))
    assert [m.name for m in info.wake[0].models] == [server.model_id]


def test_malformed_event_gets_an_error_and_the_server_goes_on(server: Server) -> None:
    async def go() -> list[Event]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b'{"type": "audio-chunk", "data": {"rate": \n')
        await writer.drain()
        events = []
        while (event := await asyncio.wait_for(async_read_event(reader), 10)) is not None:
            events.append(event)
        writer.close()
        return events

    events = asyncio.run(go())
    assert [e.type for e in events] == ["error"]
    assert "JSON" in Error.from_event(events[0]).text
    info, _ = asyncio.run(describe(server))
    assert info.wake[0].models


def test_unknown_model_name_gets_an_error(server: Server) -> None:
    async def go() -> Event:
        async with server.client() as c:
            await c.write_event(Detect(names=["nobody"]).event())
            return await read(c)

    error = Error.from_event(asyncio.run(go()))
    assert error.code == "not_found" and "nobody" in error.text


def test_20_concurrent_real_time_streams_each_get_their_result(server: Server,
                                                               clip: Clip) -> None:
    noise = np.random.default_rng(5).normal(0, 0.05, len(clip.samples)).astype(np.float32)
    audios = [pcm(clip.samples) if i % 2 == 0 else pcm(noise) for i in range(20)]

    async def go() -> list[Outcome]:
        return list(await asyncio.gather(*(stream(server, a, chunk_ms=40, pace=1.0)
                                           for a in audios)))

    outcomes = asyncio.run(go())
    expected = [(server.model_id, d.time_ms) for d in clip.expected]
    delays = []
    for i, outcome in enumerate(outcomes):
        if i % 2 == 0:
            assert detections(outcome) == expected, i
            delays.append(outcome.received_at[0] - expected[0][1] / 1000)
        else:
            assert [e.type for e in outcome.events] == ["not-detected"], i
    # Sent within seconds of its audio, not held back. The bound is loose because test machines
    # are small and shared; benchmarks/wyoming_load.py measures the latency.
    assert max(delays) < 4.0, delays


def test_serve_runs_rest_and_wyoming_in_one_process(server: Server) -> None:
    import httpx

    api_port, wyoming_port = free_port(), free_port()
    proc = subprocess.Popen(cli("serve", "--port", str(api_port), "--data-dir",
                                str(server.data), "--wyoming",
                                f"tcp://127.0.0.1:{wyoming_port}", "--log-level", "warning"),
                            env=env())
    try:
        wait_listening(wyoming_port, proc)
        wait_listening(api_port, proc)
        rest = httpx.get(f"http://127.0.0.1:{api_port}/api/models", timeout=10).json()
        other = Server(wyoming_port, server.data, server.model_id, proc)
        info, _ = asyncio.run(describe(other))
        assert [m.name for m in info.wake[0].models] == [server.model_id]
        assert server.model_id in str(rest)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0

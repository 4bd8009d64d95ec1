"""The Wyoming handler over a real Unix socket, with wyoming's own client and stub models."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient, AsyncUnixClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.wake import Detect, Detection, NotDetected

from tests.unit.wyoming_server.conftest import (
    ALWAYS,
    FIRST_FIRE_MS,
    NEVER,
    ServerFactory,
    add_model,
)
from wakebuilder.audio.format import to_int16
from wakebuilder.modelstore.store import ModelStore


def pcm(seconds: float, rate: int = 16000, channels: int = 1, seed: int = 0) -> bytes:
    x = np.random.default_rng(seed).normal(0, 0.05, int(seconds * rate)).astype(np.float32)
    return to_int16(np.repeat(x, channels)).tobytes()


def client(uri: str) -> AsyncUnixClient:
    return AsyncUnixClient(uri.removeprefix("unix://"))


async def read(c: AsyncClient, timeout: float = 10.0) -> Event:
    event = await asyncio.wait_for(c.read_event(), timeout)
    assert event is not None, "the server closed the connection"
    return event


async def stream(c: AsyncClient, audio: bytes, *, rate: int = 16000, width: int = 2,
                 channels: int = 1, names: list[str] | None = None, chunk_ms: int = 30,
                 ) -> list[Event]:
    """detect -> audio-start -> chunks -> audio-stop; every event until the final answer."""
    await c.write_event(Detect(names=names).event())
    await c.write_event(AudioStart(rate, width, channels).event())
    step = rate * chunk_ms // 1000 * width * channels
    for i in range(0, len(audio), step):
        await c.write_event(AudioChunk(rate, width, channels, audio[i:i + step]).event())
    await c.write_event(AudioStop().event())
    events = [await read(c)]
    while Detection.is_type(events[-1].type):
        # after detections, a ping marks the end (no not-detected follows a detection)
        await c.write_event(Ping(text="end").event())
        events.append(await read(c))
        if Pong.is_type(events[-1].type):
            events.pop()
            break
    return events


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_describe_lists_custom_and_default_models_fast(wyoming_server: ServerFactory) -> None:
    async def go() -> tuple[Info, float]:
        async with wyoming_server() as uri, client(uri) as c:
            loop = asyncio.get_running_loop()
            start = loop.time()
            await c.write_event(Describe().event())
            info = Info.from_event(await read(c))
            return info, loop.time() - start

    info, took = run(go())  # type: ignore[misc]
    assert took < 0.5
    (program,) = info.wake
    assert program.name == "wakebuilder" and program.installed and program.version
    by_name = {m.name: m for m in program.models}
    assert set(by_name) == {ALWAYS, NEVER}
    assert by_name[ALWAYS].phrase == by_name[ALWAYS].description == "always on"
    assert by_name[NEVER].phrase == "never on"
    assert all(m.languages == ["en"] and m.installed for m in program.models)
    assert program.attribution.name.startswith("WakeBuilder")


@pytest.mark.parametrize(("rate", "width", "channels"),
                         [(16000, 2, 1), (48000, 2, 2), (22050, 1, 1), (8000, 4, 3)])
def test_detection_in_audio_time_at_any_format(wyoming_server: ServerFactory, rate: int,
                                               width: int, channels: int) -> None:
    x = np.random.default_rng(1).normal(0, 0.05, int(2.5 * rate)).astype(np.float32)
    if width == 1:
        audio = (np.clip(x * 128, -128, 127) + 128).astype(np.uint8)
    elif width == 2:
        audio = to_int16(x)
    else:
        audio = (x * 2**31).astype("<i4")
    audio_bytes = np.repeat(audio, channels).tobytes()

    async def go() -> list[Event]:
        async with wyoming_server() as uri, client(uri) as c:
            return await stream(c, audio_bytes, rate=rate, width=width, channels=channels)

    events = run(go())
    assert [e.type for e in events] == ["detection"]  # type: ignore[union-attr]
    det = Detection.from_event(events[0])  # type: ignore[index]
    assert det.name == ALWAYS and det.timestamp == FIRST_FIRE_MS


def test_detect_names_subset_and_not_detected(wyoming_server: ServerFactory) -> None:
    async def go() -> tuple[list[Event], list[Event], list[Event]]:
        async with wyoming_server() as uri, client(uri) as c:
            never = await stream(c, pcm(2.5), names=[NEVER])
            both = await stream(c, pcm(2.5), names=[NEVER, ALWAYS])
            short = await stream(c, pcm(0.5))  # all models, but shorter than the warm-up
            return never, both, short

    never, both, short = run(go())  # type: ignore[misc]
    assert [e.type for e in never] == ["not-detected"]
    assert [Detection.from_event(e).name for e in both] == [ALWAYS]
    assert [e.type for e in short] == ["not-detected"]


def test_models_added_and_deleted_on_disk_show_up(wyoming_server: ServerFactory,
                                                  store: ModelStore) -> None:
    async def names(c: AsyncClient) -> set[str]:
        await c.write_event(Describe().event())
        return {m.name for m in Info.from_event(await read(c)).wake[0].models}

    async def go() -> list[set[str] | list[Event]]:
        async with wyoming_server() as uri, client(uri) as c:
            before = await names(c)
            add_model(store.root, "fresh", "fresh word", bias=-10.0)
            added = await names(c)
            fresh = await stream(c, pcm(2.0), names=["fresh"])
            shutil.rmtree(store.root / ALWAYS)
            return [before, added, fresh, await names(c)]

    before, added, fresh, after = run(go())  # type: ignore[misc]
    assert before == {ALWAYS, NEVER}
    assert added == {ALWAYS, NEVER, "fresh"}
    assert [e.type for e in fresh] == ["not-detected"]  # type: ignore[union-attr]
    assert after == {NEVER, "fresh"}


def test_unknown_model_name_is_an_error_and_detects_nothing(
        wyoming_server: ServerFactory) -> None:
    async def go() -> tuple[Event, list[Event], list[Event]]:
        async with wyoming_server() as uri, client(uri) as c:
            await c.write_event(Detect(names=["no_such_model"]).event())
            error = await read(c)
            # the stream that follows detects nothing (no silent fallback to other models)
            await c.write_event(AudioStart(16000, 2, 1).event())
            await c.write_event(AudioChunk(16000, 2, 1, pcm(2.5)).event())
            await c.write_event(AudioStop().event())
            rejected = [await read(c)]
            return error, rejected, await stream(c, pcm(2.5))  # a new detect clears it

    error, rejected, after = run(go())  # type: ignore[misc]
    err = Error.from_event(error)
    assert err.code == "not_found" and "no_such_model" in err.text and ALWAYS in err.text
    assert [e.type for e in rejected] == ["not-detected"]
    assert Detection.from_event(after[0]).name == ALWAYS


async def raw_exchange(uri: str, data: bytes) -> list[Event]:
    """Send raw bytes (then end the stream), read events until the server closes."""
    reader, writer = await asyncio.open_unix_connection(uri.removeprefix("unix://"))
    writer.write(data)
    writer.write_eof()
    await writer.drain()
    events = []
    while (event := await asyncio.wait_for(async_read_event(reader), 10)) is not None:
        events.append(event)
    writer.close()
    return events


@pytest.mark.parametrize("data", [
    b'{"type": "describe", "data": \n',  # malformed JSON
    b'["describe"]\n',  # not an object
    b'{"data": {}}\n',  # no type
    b'{"type": "audio-chunk", "payload_length": 99999999}\n',  # oversized payload
    b'{"type": "audio-chunk", "payload_length": "ten"}\n',  # wrong type
    b'{"type": "describe", "data_length": 50}\n{"a": 1}',  # truncated data
])
def test_malformed_framing_gets_an_error_then_close(wyoming_server: ServerFactory,
                                                    data: bytes) -> None:
    async def go() -> tuple[list[Event], Event]:
        async with wyoming_server() as uri:
            events = await raw_exchange(uri, data)
            async with client(uri) as c:  # the server still serves the next connection
                await c.write_event(Describe().event())
                return events, await read(c)

    events, info = run(go())  # type: ignore[misc]
    assert [e.type for e in events] == ["error"]
    assert Error.from_event(events[0]).code == "validation_error"
    assert Info.is_type(info.type)


@pytest.mark.parametrize(("event", "words"), [
    (AudioStart(16000, 3, 1).event(), "width 3"),
    (AudioStart(16000, 2, 0).event(), "channels 0"),
    (AudioStart(1, 2, 1).event(), "rate 1"),
    (Event("audio-start", {"rate": "16000", "width": 2, "channels": 1}), "integer"),
    (AudioChunk(16000, 2, 1, b"\0\0").event(), "before audio-start"),
    (AudioStop().event(), "without audio-start"),
    (Event("detect", {"names": "always_on"}), "list"),
])
def test_bad_events_get_an_error_and_the_connection_goes_on(
        wyoming_server: ServerFactory, event: Event, words: str) -> None:
    async def go() -> tuple[Event, list[Event]]:
        async with wyoming_server() as uri, client(uri) as c:
            await c.write_event(event)
            error = await read(c)
            return error, await stream(c, pcm(2.5))

    error, after = run(go())  # type: ignore[misc]
    assert Error.is_type(error.type), error
    assert Error.from_event(error).code == "validation_error" and words in error.data["text"]
    assert [Detection.from_event(e).name for e in after] == [ALWAYS]


def test_a_bad_chunk_fails_its_stream_once(wyoming_server: ServerFactory) -> None:
    async def go() -> list[Event]:
        async with wyoming_server() as uri, client(uri) as c:
            await c.write_event(AudioStart(16000, 2, 1).event())
            await c.write_event(AudioChunk(16000, 5, 1, b"\0" * 10).event())
            for _ in range(3):  # ignored: the stream already failed
                await c.write_event(AudioChunk(16000, 2, 1, pcm(1.0)).event())
            await c.write_event(AudioStop().event())
            return [await read(c), await read(c)]

    events = run(go())
    assert [e.type for e in events] == ["error", "not-detected"]  # type: ignore[union-attr]


def test_connection_limit_answers_busy(wyoming_server: ServerFactory) -> None:
    async def go() -> tuple[list[Event], Event]:
        async with wyoming_server(max_connections=1) as uri, client(uri) as first:
            await first.write_event(Ping().event())
            await read(first)  # the first connection holds the only slot
            busy = await raw_exchange(uri, b"")
            await first.write_event(Describe().event())
            return busy, await read(first)

    busy, info = run(go())  # type: ignore[misc]
    assert [e.type for e in busy] == ["error"] and "busy" in busy[0].data["text"]
    assert Error.from_event(busy[0]).code == "engine_unavailable"
    assert Info.is_type(info.type)


def test_not_detected_carries_the_detect_context(wyoming_server: ServerFactory) -> None:
    async def go() -> Event:
        async with wyoming_server() as uri, client(uri) as c:
            await c.write_event(Detect(names=[NEVER], context={"pipeline": 7}).event())
            await c.write_event(AudioStart(16000, 2, 1).event())
            await c.write_event(AudioChunk(16000, 2, 1, pcm(0.3)).event())
            await c.write_event(AudioStop().event())
            return await read(c)

    event = run(go())
    assert NotDetected.is_type(event.type)  # type: ignore[union-attr]
    assert NotDetected.from_event(event).context == {"pipeline": 7}  # type: ignore[arg-type]


def test_unix_socket_is_removed_on_stop(wyoming_server: ServerFactory, tmp_path: Path) -> None:
    async def go() -> bool:
        async with wyoming_server():
            return (tmp_path / "wyoming.sock").exists()

    assert run(go()) is True
    assert not (tmp_path / "wyoming.sock").exists()


def test_idle_connection_is_told_and_closed(wyoming_server: ServerFactory) -> None:
    async def go() -> list[Event]:
        async with wyoming_server(idle_timeout_s=0.3) as uri:
            reader, writer = await asyncio.open_unix_connection(uri.removeprefix("unix://"))
            events = []
            while (event := await asyncio.wait_for(async_read_event(reader), 5)) is not None:
                events.append(event)
            writer.close()
            return events

    events = run(go())
    assert [e.type for e in events] == ["error"]  # type: ignore[union-attr]
    assert "no event for 0.3 s" in events[0].data["text"]  # type: ignore[index]

"""One Wyoming connection: ``describe``, ``detect`` and an audio stream at a time.

Event flow (as Home Assistant sends it): ``detect`` (optional model names) -> ``audio-start``
-> ``audio-chunk``... -> ``audio-stop``. Every chunk is converted to 16 kHz mono at the edge and
fed to one :class:`~wakebuilder.detection.multihead.MultiHeadDetector` for the stream;
``detection`` events carry the model id and the audio time (ms since ``audio-start``) of the
frame that fired; ``not-detected`` follows ``audio-stop`` when nothing fired.

Bad input gets an ``error`` event (text and the API's error code). Malformed framing closes
the connection after the error (the byte stream is out of step); anything else leaves the
connection open: a failed ``detect`` makes the next stream detect nothing, and a failed stream
ignores its remaining chunks until ``audio-stop`` (answered with ``not-detected``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.wake import Detect, Detection, NotDetected

from wakebuilder.audio.convert import PcmConverter, check_format
from wakebuilder.audio.format import Samples
from wakebuilder.capture.recorder import CaptureConfig, StreamRecorder
from wakebuilder.detection.detector import Detection as WakeDetection
from wakebuilder.detection.multihead import MultiHeadDetector
from wakebuilder.errors import EngineUnavailableError, InvalidInputError, WakeBuilderError
from wakebuilder.wyoming_server.protocol import ProtocolError, error_event, read_event
from wakebuilder.wyoming_server.service import Heads, WakeService

log = logging.getLogger(__name__)


@dataclass
class AudioFormat:
    rate: int
    width: int
    channels: int


def audio_format(data: dict[str, Any], what: str) -> AudioFormat:
    """``rate``/``width``/``channels`` of an audio event, checked."""
    try:
        rate, width, channels = check_format(data.get("rate"), data.get("width"),
                                             data.get("channels"))
    except InvalidInputError as exc:
        raise InvalidInputError(f"{what}: {exc.message}", exc.details) from exc
    return AudioFormat(rate, width, channels)


def detect_names(data: dict[str, Any]) -> list[str] | None:
    """The ``names`` of a ``detect`` event (``None`` or empty: every model)."""
    names = data.get("names")
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidInputError("detect: 'names' must be a list of model names",
                                {"field": "names", "reason": "type"})
    return names or None


@dataclass
class Stream:
    """One audio stream's state; its methods block and run on the service's threads."""

    heads: Heads
    converter: PcmConverter = field(default_factory=PcmConverter)
    detector: MultiHeadDetector | None = None
    detected: bool = False
    recorders: dict[str, StreamRecorder] = field(default_factory=dict)
    """Per model: keeps a clip of each detection (capture on only)."""

    def feed(self, pcm: bytes, fmt: AudioFormat) -> list[WakeDetection]:
        samples = self.converter.push(pcm, fmt.rate, fmt.width, fmt.channels)
        found = self.detector.process(samples) if self.detector else []
        self._capture(samples, found)
        return found

    def finish(self) -> list[WakeDetection]:
        tail = self.converter.flush()
        found = self.detector.process(tail) if self.detector and len(tail) else []
        self._capture(tail, found)
        for recorder in self.recorders.values():
            recorder.close()
        return found

    def _capture(self, samples: Samples, found: list[WakeDetection]) -> None:
        for name, _model, config in self.heads:
            recorder = self.recorders.get(name)
            if recorder is not None:
                recorder.observe(samples, [], [d for d in found if d.name == name],
                                 config.threshold)


class WakeEventHandler(AsyncEventHandler):
    """Handles one connection; state that outlives a stream is the ``detect`` selection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 service: WakeService) -> None:
        super().__init__(reader, writer)
        self.service = service
        self._names: list[str] | None = None
        self._rejected = False
        self._context: dict[str, Any] | None = None
        self._stream: Stream | None = None
        self._failed = False
        """The current stream hit an error: ignore its chunks until ``audio-stop``."""

    async def run(self) -> None:
        """Read events (bounded) until the client leaves, sending ``error`` for bad input."""
        self._is_running = True
        if not self.service.try_acquire():
            await self._send_error(EngineUnavailableError(
                f"server busy: {self.service.limits.max_connections} connections already open; "
                "retry later", {"reason": "busy"}))
            self.writer.close()
            return
        try:
            while self._is_running:
                try:
                    event = await read_event(self.reader, self.service.limits)
                except ProtocolError as exc:
                    log.info("closing a Wyoming connection: %s", exc.message)
                    await self._send_error(exc)
                    break
                if event is None or not await self.handle_event(event):
                    break
        except ConnectionError as exc:
            log.debug("Wyoming client went away: %s", exc)
        finally:
            self.service.release()
            await self.disconnect()
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        try:
            await self._dispatch(event)
        except WakeBuilderError as exc:
            self._fail_stream(event)
            await self._send_error(exc)
        except ConnectionError:
            raise
        except Exception as exc:  # a bug or a broken model: tell the client, keep serving
            log.exception("Wyoming %s event failed", event.type)
            self._fail_stream(event)
            await self._send_error(WakeBuilderError(f"{event.type} failed: {exc}"))
        return True

    def _fail_stream(self, event: Event) -> None:
        if AudioChunk.is_type(event.type) or AudioStart.is_type(event.type):
            self._stream, self._failed = None, True

    async def _send_error(self, exc: WakeBuilderError) -> None:
        try:
            await self.write_event(error_event(exc))
        except ConnectionError as err:
            log.debug("could not send an error to a Wyoming client: %s", err)

    async def _dispatch(self, event: Event) -> None:
        data = event.data
        if Describe.is_type(event.type):
            await self.write_event((await self.service.run(self.service.info)).event())
        elif Detect.is_type(event.type):
            await self._detect(data)
        elif AudioStart.is_type(event.type):
            await self._start(data)
        elif AudioChunk.is_type(event.type):
            await self._chunk(data, event.payload or b"")
        elif AudioStop.is_type(event.type):
            await self._stop()
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
        else:
            log.debug("ignoring Wyoming event %r", event.type)

    async def _detect(self, data: dict[str, Any]) -> None:
        context = data.get("context")
        self._context = context if isinstance(context, dict) else None
        self._names, self._rejected = None, False
        names = detect_names(data)
        if names:
            try:
                await self.service.run(self.service.check_names, names)
            except WakeBuilderError:
                self._rejected = True
                raise
        self._names = names

    async def _start(self, data: dict[str, Any]) -> None:
        audio_format(data, "audio-start")
        self._stream, self._failed = None, False
        if self._rejected:
            self._stream = Stream(heads=[])  # the client was told; detect nothing
            return
        heads = await self.service.run(self.service.open_heads, self._names)
        stream = Stream(heads=heads)
        if heads:
            stream.detector = MultiHeadDetector(heads, self.service.frontend)
        captures = self.service.captures
        if captures is not None:  # detections only: the Wyoming stream has no score feed
            stream.recorders = {name: StreamRecorder(
                captures, name, source="wyoming",
                config=CaptureConfig(enabled=True, near_miss_fraction=0.0))
                for name, _, _ in heads}
        self._stream = stream
        if not heads:
            raise InvalidInputError("no wake word models in the store: train one first (web UI"
                                    " or `wakebuilder train`)", {"reason": "no_models"})

    async def _chunk(self, data: dict[str, Any], payload: bytes) -> None:
        if self._stream is None:
            if self._failed:
                return
            raise InvalidInputError("audio-chunk before audio-start: send audio-start first",
                                    {"reason": "no_stream"})
        fmt = audio_format(data, "audio-chunk")
        stream = self._stream
        if stream.detector is None:
            return  # no model to run (a rejected detect): nothing to compute
        found = await self.service.run(stream.feed, payload, fmt)
        await self._report(stream, found)

    async def _stop(self) -> None:
        stream, failed = self._stream, self._failed
        self._stream, self._failed = None, False
        if stream is None and not failed:
            raise InvalidInputError("audio-stop without audio-start", {"reason": "no_stream"})
        if stream is not None:
            await self._report(stream, await self.service.run(stream.finish))
        if stream is None or not stream.detected:
            await self.write_event(NotDetected(context=self._context).event())

    async def _report(self, stream: Stream, found: list[WakeDetection]) -> None:
        for det in found:
            stream.detected = True
            log.info("detected %r at %.2f s (score %.3f)", det.name, det.time_ms / 1000,
                     det.score)
            await self.write_event(Detection(name=det.name, timestamp=det.time_ms,
                                             context=self._context).event())


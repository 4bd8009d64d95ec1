"""One WebSocket connection: lifecycle, bounded queue, inference turns and outgoing messages.

The shape follows Starlette's ``WebSocketEndpoint``: :meth:`on_connect`, :meth:`on_receive`
per message and :meth:`on_disconnect` always, in a ``finally``. Receiving never waits for
inference: audio goes into a queue holding at most ``queue_s`` seconds; audio past that is
dropped with a ``warning``, and a client that keeps flooding is closed with 1008. A separate
task takes the queue in order (audio, config changes, resets), runs inference on the shared
pool, sends detections at once and scores at most every ``score_interval_ms``.

Limits against idle or hostile clients: a slot per connection (global and per client address),
an idle timeout (no audio for ``idle_timeout_s`` closes with 1008), text frames larger than
the protocol needs are refused before JSON parsing, and control messages (anything but audio)
are rate-limited by a token bucket: a client that keeps sending them too fast is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from wakebuilder.api.realtime import protocol
from wakebuilder.api.realtime.pool import InferencePool
from wakebuilder.api.realtime.stream import AudioStream, StreamOutput
from wakebuilder.audio.format import SAMPLE_RATE
from wakebuilder.capture.recorder import CaptureConfig, StreamRecorder
from wakebuilder.capture.store import CaptureStore
from wakebuilder.errors import (
    EngineUnavailableError,
    InvalidInputError,
    NotFoundError,
    WakeBuilderError,
)

log = logging.getLogger(__name__)

WS_POLICY_VIOLATION = 1008
WS_INTERNAL_ERROR = 1011
WS_TRY_AGAIN_LATER = 1013


@dataclass(frozen=True)
class _Audio:
    pcm: bytes
    sample_rate: int
    seconds: float


_Item = _Audio | protocol.ConfigUpdate | protocol.Reset | protocol.Missed
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no", ""}


class _Closed(Exception):
    """Raised inside the session once it has closed the socket itself."""


class DetectionSession:
    """Serves one connection of ``WS /api/test/ws/{model_id}``."""

    def __init__(self, websocket: WebSocket, pool: InferencePool, model_id: str, *,
                 captures: CaptureStore | None = None,
                 capture_config: CaptureConfig | None = None) -> None:
        self.ws = websocket
        self.captures = captures
        self.capture_config = capture_config or CaptureConfig()
        self.pool = pool
        self.limits = pool.limits
        self.model_id = model_id
        self.wake_word = model_id
        self.sample_rate = SAMPLE_RATE
        self.score_interval_ms = self.limits.score_interval_ms
        self.stream: AudioStream | None = None
        self._items: deque[_Item] = deque()
        self._has_items = asyncio.Event()
        self._queued_s = 0.0
        self._controls = 0
        self._worker: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._slot = False
        self._dropped_s = 0.0
        self._flood_s = 0.0
        self._flood_at = time.monotonic()
        self._warned_at = 0.0
        self._score: tuple[float, int] | None = None
        self._score_sent_at = 0.0
        client = websocket.client
        self.client = client.host if client is not None else ""
        self._last_audio_at = time.monotonic()
        self._tokens = float(self.limits.control_burst)
        self._tokens_at = time.monotonic()
        self._evicted: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- lifecycle ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Accept, serve until the client leaves, always clean up."""
        offered = self.ws.scope.get("subprotocols") or []
        await self.ws.accept(subprotocol=protocol.SUBPROTOCOL
                             if protocol.SUBPROTOCOL in offered else None)
        try:
            await self.on_connect()
            while True:
                message = await self._receive()
                if message["type"] == "websocket.disconnect":
                    break
                await self.on_receive(message)
        except (_Closed, WebSocketDisconnect):
            pass
        except Exception:
            log.exception("WebSocket session for %r failed", self.model_id)
            await self._close(WS_INTERNAL_ERROR, "internal error", WakeBuilderError(
                "Internal error in the detection session", {"model_id": self.model_id}))
        finally:
            await self.on_disconnect()

    async def on_connect(self) -> None:
        """Check limits and query parameters, load the model, send ``ready``."""
        refused = self.pool.try_acquire(self.client, self)
        if refused == "too_many_connections":
            await self._close(WS_TRY_AGAIN_LATER, "too many connections", EngineUnavailableError(
                "Too many real-time connections; try again later",
                {"reason": refused, "limit": self.limits.max_connections}))
        if refused is not None:
            await self._close(WS_TRY_AGAIN_LATER, "too many connections from this address",
                              EngineUnavailableError(
                                  "Too many real-time connections from this address; close one "
                                  "and try again", {"reason": refused,
                                                    "limit": self.limits.max_per_client}))
        self._slot = True
        try:
            params = self.ws.query_params
            if "sample_rate" in params:
                self.sample_rate = protocol.check_sample_rate(params["sample_rate"])
            threshold = _threshold(params.get("threshold"))
            capture = _flag(params.get("capture"), "capture")
            manifest, self.stream = await self.pool.open_stream(self.model_id,
                                                                threshold=threshold)
        except (InvalidInputError, NotFoundError) as exc:
            await self._close(WS_POLICY_VIOLATION, exc.message, exc)
        except WakeBuilderError as exc:
            await self._close(WS_INTERNAL_ERROR, exc.message, exc)
        self.wake_word = manifest.wake_word
        if self.captures is not None:
            self.stream.recorder = StreamRecorder(
                self.captures, self.model_id, model_created_at=manifest.created_at,
                config=replace(self.capture_config, enabled=capture))
        self._last_audio_at = time.monotonic()
        self._worker = asyncio.create_task(self._work_or_close(), name=f"ws-{self.model_id}")
        await self._send(protocol.ready(
            model_id=self.model_id, wake_word=self.wake_word, config=self.stream.config,
            sample_rate=self.sample_rate, score_interval_ms=self.score_interval_ms,
            max_chunk_s=self.limits.max_chunk_s, capture=self._capturing))

    @property
    def _capturing(self) -> bool:
        recorder = self.stream.recorder if self.stream is not None else None
        return recorder is not None and recorder.enabled

    def idle_s(self) -> float:
        """Seconds since the last audio (or since the connection opened)."""
        return time.monotonic() - self._last_audio_at

    def evict(self) -> None:
        """Called by the pool, which has taken this connection's slot for a newcomer."""
        self._slot = False
        if not self._evicted.done():
            self._evicted.set_result(None)

    async def _receive(self) -> Mapping[str, Any]:
        """The next frame; closes the socket (1008) once no audio came for the idle timeout,
        or at once when the pool evicted this (idle) connection for a newcomer."""
        timeout = self.limits.idle_timeout_s
        left = self._last_audio_at + timeout - time.monotonic() if timeout > 0 else None
        receiving = asyncio.ensure_future(self.ws.receive())
        if left is None or left > 0:
            await asyncio.wait((receiving, self._evicted), timeout=left,
                               return_when=asyncio.FIRST_COMPLETED)
        if receiving.done():
            return receiving.result()
        receiving.cancel()
        if self._evicted.done():
            await self._close(WS_TRY_AGAIN_LATER, "evicted: idle while the server is full",
                              EngineUnavailableError(
                                  f"No audio for {self.idle_s():.0f} s while every real-time "
                                  "slot was taken; the slot went to a new connection. "
                                  "Reconnect when you start streaming",
                                  {"reason": "evicted_idle"}))
        await self._close(WS_POLICY_VIOLATION, "idle timeout", InvalidInputError(
            f"No audio for {timeout:g} s; the connection was closed to free its slot. "
            "Reconnect when you start streaming", {"reason": "idle_timeout",
                                                   "idle_timeout_s": timeout}))

    async def on_receive(self, message: Mapping[str, Any]) -> None:
        """Handle one frame; client mistakes are answered with ``error`` and the socket stays.

        Anything but accepted audio (ping, config, reset, a mistake) spends a control token.
        """
        data = message.get("bytes")
        text = None if data is not None else (message.get("text") or "")
        charged = False
        chunk: protocol.AudioChunk | None = None
        try:
            if text is None:
                chunk = protocol.AudioChunk(data)
            else:
                protocol.check_text_size(text, self.limits.max_message_bytes)  # before parsing
                parsed = protocol.parse_text(text, max_bytes=self.limits.max_chunk_bytes)
                if isinstance(parsed, protocol.AudioChunk):
                    chunk = parsed
                else:
                    chunk, charged = None, True
                    await self._take_control_token()
                    await self._on_control(parsed, len(text))
            if chunk is not None:
                self._enqueue_audio(chunk)
        except InvalidInputError as exc:
            if not charged:
                await self._take_control_token()
            await self._send(protocol.error(exc))
        await self._check_flood()

    async def _on_control(self, parsed: protocol.ClientMessage, size: int) -> None:
        if size > protocol.CONTROL_MAX_BYTES:
            raise InvalidInputError(
                f"control messages are at most {protocol.CONTROL_MAX_BYTES} bytes",
                {"reason": "oversized", "max_bytes": protocol.CONTROL_MAX_BYTES})
        if isinstance(parsed, protocol.Ping):
            await self._send({"type": "pong", "id": parsed.id,
                              "timestamp": protocol.utc_timestamp()})
        elif isinstance(parsed, protocol.ConfigUpdate | protocol.Reset | protocol.Missed):
            self._enqueue_control(parsed)

    async def _take_control_token(self) -> None:
        """Spend one control-message token; close (1008) when the client has none left."""
        now = time.monotonic()
        self._tokens = min(float(self.limits.control_burst),
                           self._tokens + (now - self._tokens_at) * self.limits.control_rate)
        self._tokens_at = now
        if self._tokens < 1.0:
            await self._close(WS_POLICY_VIOLATION, "too many control messages",
                              InvalidInputError(
                                  f"More than {self.limits.control_rate:g} control messages "
                                  "(ping, config, reset or invalid text) per second; slow down",
                                  {"reason": "control_rate",
                                   "limit_per_s": self.limits.control_rate}))
        self._tokens -= 1.0

    async def on_disconnect(self) -> None:
        """Stop the worker and give the connection slot back."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                pass
        if self._capturing and self.stream is not None:
            try:  # clips still waiting for their tail are written with what there is
                await self.pool.run(self.stream.close)
            except (WakeBuilderError, OSError, RuntimeError):
                log.warning("captured clips of %r could not be written", self.model_id)
        if self._slot:
            self.pool.release(self.client, self)
            self._slot = False

    # -- receiving ------------------------------------------------------------------------------
    def _enqueue_audio(self, chunk: protocol.AudioChunk) -> None:
        if chunk.sample_rate is not None:
            self.sample_rate = chunk.sample_rate
        seconds = protocol.check_pcm(chunk.pcm, self.sample_rate, self.limits.max_chunk_s)
        if not chunk.pcm:
            return
        self._last_audio_at = time.monotonic()
        if self._queued_s + seconds > self.limits.queue_s:
            self._dropped_s += seconds
            self._flood_s += seconds
            return
        self._queued_s += seconds
        self._push(_Audio(chunk.pcm, self.sample_rate, seconds))

    def _enqueue_control(self, item: protocol.ConfigUpdate | protocol.Reset | protocol.Missed
                         ) -> None:
        if self._controls >= self.limits.max_pending_controls:
            raise InvalidInputError("too many config/reset messages waiting; slow down",
                                    {"reason": "too_many_controls"})
        if isinstance(item, protocol.ConfigUpdate):
            assert self.stream is not None
            protocol.apply_detector_update(self.stream.config, item.detector)  # validate now
            if item.sample_rate is not None:
                self.sample_rate = item.sample_rate  # applies to the audio that follows
        self._controls += 1
        self._push(item)

    def _push(self, item: _Item) -> None:
        self._items.append(item)
        self._has_items.set()

    async def _check_flood(self) -> None:
        """Warn about dropped audio (rate-limited); close when the client keeps flooding."""
        now = time.monotonic()
        self._flood_s = max(0.0, self._flood_s - (now - self._flood_at))
        self._flood_at = now
        if self._flood_s > self.limits.flood_close_s:
            await self._close(WS_POLICY_VIOLATION, "audio arrives faster than real time",
                              InvalidInputError(
                                  "Audio keeps arriving faster than it can be processed",
                                  {"reason": "flooding",
                                   "dropped_ms": round(self._dropped_s * 1000)}))
        if self._dropped_s and now - self._warned_at >= self.limits.warning_interval_s:
            self._warned_at = now
            await self._send(protocol.warning(
                "audio_dropped", "Audio arrives faster than it is processed; chunks were dropped",
                {"dropped_ms": round(self._dropped_s * 1000),
                 "queued_ms": round(self._queued_s * 1000),
                 "max_queued_ms": round(self.limits.queue_s * 1000)}))
            self._dropped_s = 0.0

    # -- the worker -----------------------------------------------------------------------------
    async def _work_or_close(self) -> None:
        """Run the worker; if it crashes, tell the client and close with 1011."""
        try:
            await self._work()
        except (_Closed, WebSocketDisconnect, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("inference for a WebSocket of %r failed", self.model_id)
            await self._close(WS_INTERNAL_ERROR, "internal error", WakeBuilderError(
                "Inference failed; the stream was closed", {"model_id": self.model_id}))

    async def _work(self) -> None:
        """Take queued items in order, one inference job at a time."""
        assert self.stream is not None
        while True:
            while not self._items:
                self._has_items.clear()
                await self._has_items.wait()
            item = self._items.popleft()
            if isinstance(item, _Audio):
                chunks, seconds = [item.pcm], item.seconds
                while (self._items and isinstance(nxt := self._items[0], _Audio)
                       and nxt.sample_rate == item.sample_rate
                       and seconds + nxt.seconds <= self.limits.batch_s):
                    self._items.popleft()
                    chunks.append(nxt.pcm)
                    seconds += nxt.seconds
                try:
                    out = await self.pool.run(self.stream.feed, b"".join(chunks),
                                              item.sample_rate)
                finally:
                    self._queued_s = max(0.0, self._queued_s - seconds)
                await self._emit(out)
                continue
            self._controls -= 1
            if isinstance(item, protocol.Missed):
                await self._missed()
                continue
            if isinstance(item, protocol.Reset):
                self.stream.reset()
                self._score = None
                await self._send({"type": "reset_ack", "timestamp": protocol.utc_timestamp()})
                continue
            self.stream.set_config(protocol.apply_detector_update(self.stream.config,
                                                                  item.detector))
            if item.score_interval_ms is not None:
                self.score_interval_ms = item.score_interval_ms
            ignored = item.ignored
            if item.capture is not None:
                if self.stream.recorder is not None:
                    self.stream.recorder.set_enabled(item.capture)
                elif item.capture:
                    ignored = (*ignored, "capture")  # this server keeps no captures
            await self._send(protocol.config_ack(
                self.stream.config, sample_rate=item.sample_rate or self.sample_rate,
                score_interval_ms=self.score_interval_ms, ignored=ignored,
                capture=self._capturing))

    async def _missed(self) -> None:
        """Store the last seconds as a missed wake word, or say why not."""
        assert self.stream is not None
        if not self._capturing:
            await self._send(protocol.warning(
                "capture_off", "Capture is off: turn it on to keep missed wake words",
                {"capture": False}))
            return
        record = await self.pool.run(self.stream.missed)
        if record is None:
            await self._send(protocol.warning(
                "not_captured", "Nothing was stored: no audio yet, or the model's captures "
                "are full of labelled clips (delete some)", {}))
            return
        await self._send(protocol.captured(record.model_dump(mode="json")))

    async def _emit(self, out: StreamOutput) -> None:
        """Detections at once; the peak frame score at most every ``score_interval_ms``.

        ``score_interval_ms == 0`` sends every frame's score (for tests and analysis).
        """
        assert self.stream is not None
        threshold = self.stream.config.threshold
        for d in out.detections:
            await self._send(protocol.detection(d, model_id=self.model_id,
                                                wake_word=self.wake_word, threshold=threshold))
        for record in out.captured:
            await self._send(protocol.captured(record.model_dump(mode="json")))
        if self.score_interval_ms == 0:  # every frame, unaggregated
            for time_ms, value in out.frame_scores:
                await self._send(protocol.score(value, threshold=threshold, time_ms=time_ms))
            return
        for time_ms, value in out.frame_scores:
            peak = value if self._score is None else max(self._score[0], value)
            self._score = (peak, time_ms)
        now = time.monotonic()
        if self._score is not None and (now - self._score_sent_at) * 1000 >= self.score_interval_ms:
            self._score_sent_at = now
            peak, time_ms = self._score
            self._score = None
            await self._send(protocol.score(peak, threshold=threshold, time_ms=time_ms))

    # -- sending --------------------------------------------------------------------------------
    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_json(message)

    async def _close(self, code: int, reason: str, exc: WakeBuilderError) -> NoReturn:
        """Send ``error``, close with ``code`` and stop the session (raises :class:`_Closed`)."""
        if self.ws.application_state == WebSocketState.CONNECTED:
            try:
                await self._send(protocol.error(exc))
                await self.ws.close(code=code, reason=_reason(reason))
            except (WebSocketDisconnect, RuntimeError, OSError):
                log.debug("client left before the close of %r", self.model_id)
        raise _Closed


def _threshold(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        threshold = float(value)
    except ValueError:
        threshold = -1.0
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInputError("threshold must be a number from 0 to 1",
                                {"reason": "out_of_range", "field": "threshold"})
    return threshold


def _flag(value: str | None, name: str) -> bool:
    """A boolean query parameter (absent: false)."""
    if value is None or value.lower() in _FALSE:
        return False
    if value.lower() in _TRUE:
        return True
    raise InvalidInputError(f"{name} must be 1/true or 0/false",
                            {"reason": "out_of_range", "field": name})


def _reason(text: str) -> str:
    """A close reason within the protocol's 123 bytes."""
    data = text.encode()[:123]
    return data.decode(errors="ignore")

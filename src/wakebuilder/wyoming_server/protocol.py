"""Reading Wyoming events with limits, and the error events sent for bad input.

``wyoming.event.async_read_event`` returns ``None`` for malformed JSON (indistinguishable from
a disconnect) and reads any announced length. :func:`read_event` reads the same framing (a
JSON header line, then ``data_length`` bytes of JSON data, then ``payload_length`` bytes of
payload) but raises :class:`ProtocolError` for malformed or oversized input, so the client is
told why before the connection closes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from wyoming.error import Error
from wyoming.event import Event

from wakebuilder.errors import InvalidInputError, WakeBuilderError

STREAM_LIMIT = 2**16
"""asyncio's stream buffer limit, and so the longest header line accepted (64 KiB)."""


@dataclass(frozen=True)
class WyomingLimits:
    """Limits that keep one connection from hurting the others."""

    max_connections: int = 64
    max_data_bytes: int = 2**16
    """Most JSON data one event may carry after its header."""
    max_payload_bytes: int = 2**20
    """Most audio one event may carry (1 MiB: 32 s of 16 kHz 16-bit mono)."""
    event_timeout_s: float = 30.0
    """Once an event's header arrived, the time its data and payload may take."""
    idle_timeout_s: float = 300.0
    """A connection that sends no event for this long is closed (0: never)."""
    threads: int = 2
    """Inference threads shared by every connection."""


class ProtocolError(InvalidInputError):
    """The byte stream is not valid Wyoming framing; the connection cannot continue."""


def error_event(exc: WakeBuilderError) -> Event:
    """The Wyoming ``error`` event for a WakeBuilder error (text, and the API's error code)."""
    return Error(text=exc.message, code=exc.code).event()


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"{key} must be a non-negative integer, got {value!r}",
                            {"reason": "bad_header", "field": key})
    if value > limit:
        raise ProtocolError(f"{key} {value} exceeds the limit of {limit} bytes",
                            {"reason": "too_large", "field": key, "limit": limit})
    return value


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"malformed event {what}: not valid JSON ({exc})",
                            {"reason": "bad_json", "part": what}) from exc
    if not isinstance(value, dict):
        raise ProtocolError(f"malformed event {what}: expected a JSON object",
                            {"reason": "bad_json", "part": what})
    return value


async def read_event(reader: asyncio.StreamReader, limits: WyomingLimits) -> Event | None:
    """The next event, or ``None`` on a clean end of stream (between events).

    Raises :class:`ProtocolError` for anything else; the stream is then out of step and the
    connection should be closed after telling the client.
    """
    try:
        async with asyncio.timeout(limits.idle_timeout_s or None):
            line = await reader.readuntil(b"\n")
    except TimeoutError as exc:
        raise ProtocolError(f"no event for {limits.idle_timeout_s:g} s: closing the "
                            "connection", {"reason": "idle"}) from exc
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise ProtocolError("connection closed inside an event header",
                            {"reason": "truncated"}) from exc
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError(f"event header longer than {STREAM_LIMIT} bytes",
                            {"reason": "too_large", "field": "header"}) from exc
    header = _json_object(line, "header")
    kind = header.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("event header has no 'type' string", {"reason": "bad_header",
                                                                   "field": "type"})
    data = header.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise ProtocolError("event 'data' must be a JSON object", {"reason": "bad_header",
                                                                   "field": "data"})
    data_length = _length(header, "data_length", limits.max_data_bytes)
    payload_length = _length(header, "payload_length", limits.max_payload_bytes)
    payload: bytes | None = None
    try:
        async with asyncio.timeout(limits.event_timeout_s):
            if data_length:
                data = {**data, **_json_object(await reader.readexactly(data_length), "data")}
            if payload_length:
                payload = await reader.readexactly(payload_length)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("connection closed inside an event", {"reason": "truncated"}
                            ) from exc
    except TimeoutError as exc:
        raise ProtocolError(f"event data did not arrive within {limits.event_timeout_s:g} s",
                            {"reason": "timeout"}) from exc
    return Event(type=kind, data=data, payload=payload)

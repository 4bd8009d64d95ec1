"""The wire format of ``WS /api/test/ws/{model_id}``: client messages in, server messages out.

Client -> server. Text frames hold JSON; binary frames hold raw 16-bit little-endian mono PCM at
the connection's current sample rate (the ``sample_rate`` query parameter, then the last
``audio`` or ``config`` message that named one; 16000 by default).

- ``{"type": "audio", "data": "<base64 PCM16>", "sample_rate": 16000}`` (``sample_rate`` optional)
- ``{"type": "config", "threshold": 0.6, "refractory_ms": 1500, "smoothing_frames": 2,
  "sample_rate": 48000, "score_interval_ms": 100}`` (any subset; ``cooldown_ms`` is an alias of
  ``refractory_ms``) -> ``config_ack``
- ``{"type": "reset"}`` -> ``reset_ack`` (a new stream: audio buffers, clock and refractory state)
- ``{"type": "ping", "id": <any>}`` -> ``pong``
- ``{"type": "missed"}``: "I said it and it missed": with capture on, the last few seconds are
  stored as a missed wake word -> ``captured`` (or a ``warning`` when capture is off)

Capture (clips kept for review and ``POST /api/models/{id}/improve``): off unless the
``capture`` query parameter is ``1``/``true`` or a ``config`` message sets ``"capture": true``.
Every stored clip is announced with ``{"type": "captured", "capture": {...}}``.

Authentication (servers with an API token): ``Authorization: Bearer <token>`` or
``X-API-Key`` on the handshake, or, from a browser, the subprotocols ``wakebuilder`` and
``wakebuilder.token.<token as unpadded base64url>`` (``Sec-WebSocket-Protocol``); the server
answers with ``wakebuilder`` and never puts the token in a URL or log.

Size limits: a message is at most :func:`max_message_bytes` (an ``audio`` text frame carrying
the largest chunk, 2 s at 192 kHz: 1,024,000 base64 characters plus 16 KiB for keys and
whitespace); any other message is at most :data:`CONTROL_MAX_BYTES`.

Server -> client: ``ready``, ``detection``, ``score``, ``config_ack``, ``reset_ack``, ``pong``,
``warning`` and ``error`` (``{"type": "error", "error", "message", "details"}``, the API's error
shape). Unknown keys are ignored (and listed in ``config_ack``), so newer clients keep working.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wakebuilder.audio.format import FRAME_MS
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import Detection
from wakebuilder.errors import InvalidInputError, WakeBuilderError

MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
BYTES_PER_SAMPLE = 2
CONTROL_MAX_BYTES = 4096
"""Most bytes of a ping, config or reset message (a full config is about 150)."""
JSON_OVERHEAD_BYTES = 16 * 1024
SUBPROTOCOL = "wakebuilder"
TOKEN_SUBPROTOCOL_PREFIX = "wakebuilder.token."
_DETECTOR_KEYS = {"threshold": "threshold", "refractory_ms": "refractory_ms",
                  "cooldown_ms": "refractory_ms", "smoothing_frames": "smoothing_frames"}


@dataclass(frozen=True)
class AudioChunk:
    """PCM16 bytes; ``sample_rate`` is None when the message did not name one."""

    pcm: bytes
    sample_rate: int | None = None


@dataclass(frozen=True)
class ConfigUpdate:
    """Detector fields to change (already named as in :class:`DetectorConfig`)."""

    detector: dict[str, Any] = field(default_factory=dict)
    sample_rate: int | None = None
    score_interval_ms: int | None = None
    ignored: tuple[str, ...] = ()
    capture: bool | None = None


@dataclass(frozen=True)
class Reset:
    """Start a new stream."""


@dataclass(frozen=True)
class Missed:
    """The user said the wake word and it was not detected."""


@dataclass(frozen=True)
class Ping:
    """Liveness probe; ``id`` is echoed back."""

    id: Any = None


ClientMessage = AudioChunk | ConfigUpdate | Reset | Ping | Missed


def _invalid(message: str, reason: str, **details: Any) -> InvalidInputError:
    return InvalidInputError(message, {"reason": reason, **details})


def check_sample_rate(value: Any) -> int:
    """An integer sample rate in [8000, 192000] (integral floats accepted)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if (isinstance(value, bool) or not isinstance(value, int)
            or not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE):
        raise _invalid(f"sample_rate must be an integer from {MIN_SAMPLE_RATE} to "
                       f"{MAX_SAMPLE_RATE} Hz", "bad_sample_rate", field="sample_rate",
                       value=str(value)[:32])
    return value


def max_message_bytes(max_chunk_bytes: int) -> int:
    """The largest legitimate message: an ``audio`` text frame of ``max_chunk_bytes`` PCM."""
    return (max_chunk_bytes + 2) // 3 * 4 + JSON_OVERHEAD_BYTES


def check_text_size(text: str, max_bytes: int) -> None:
    """Refuse a text frame over ``max_bytes`` before any parsing."""
    if len(text) > max_bytes:
        raise _invalid(f"message of {len(text)} bytes is larger than the {max_bytes} allowed; "
                       "send audio in smaller chunks", "oversized", max_bytes=max_bytes)


def token_from_subprotocols(offered: list[str]) -> bytes | None:
    """The API token carried as ``wakebuilder.token.<base64url>``, if one was offered."""
    for name in offered:
        if name.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            encoded = name[len(TOKEN_SUBPROTOCOL_PREFIX):]
            try:
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError):
                return None
    return None


def check_pcm(pcm: bytes, sample_rate: int, max_chunk_s: float) -> float:
    """Validate one chunk of PCM16; return its duration in seconds."""
    if len(pcm) % BYTES_PER_SAMPLE:
        raise _invalid("audio must be 16-bit PCM: an even number of bytes", "odd_length",
                       bytes=len(pcm))
    seconds = len(pcm) / BYTES_PER_SAMPLE / sample_rate
    if seconds > max_chunk_s:
        raise _invalid(f"audio chunk of {seconds * 1000:.0f} ms is larger than the "
                       f"{max_chunk_s * 1000:.0f} ms allowed per message; send smaller chunks",
                       "oversized", chunk_ms=round(seconds * 1000),
                       max_chunk_ms=round(max_chunk_s * 1000))
    return seconds


def _audio(body: dict[str, Any], max_bytes: int) -> AudioChunk:
    data = body.get("data")
    if not isinstance(data, str):
        raise _invalid("'data' must be a base64 string of 16-bit PCM", "missing_data",
                       field="data")
    if len(data) > (max_bytes + 2) // 3 * 4 + 4:
        raise _invalid(f"audio message larger than {max_bytes} bytes of PCM; send smaller "
                       "chunks", "oversized", field="data", max_bytes=max_bytes)
    try:
        pcm = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid("'data' is not valid base64", "bad_base64", field="data") from exc
    rate = body.get("sample_rate")
    return AudioChunk(pcm, None if rate is None else check_sample_rate(rate))


def _int_field(body: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _invalid(f"{key} must be a number from {low} to {high}", "out_of_range",
                       field=key, value=str(value)[:32])
    return int(value)


def _config(body: dict[str, Any]) -> ConfigUpdate:
    detector = {_DETECTOR_KEYS[k]: v for k, v in body.items() if k in _DETECTOR_KEYS}
    ignored = tuple(sorted(set(body) - set(_DETECTOR_KEYS) - {
        "type", "sample_rate", "score_interval_ms", "capture"}))
    rate = body.get("sample_rate")
    capture = body.get("capture")
    if capture is not None and not isinstance(capture, bool):
        raise _invalid("capture must be true or false", "out_of_range", field="capture",
                       value=str(capture)[:32])
    return ConfigUpdate(detector=detector,
                        sample_rate=None if rate is None else check_sample_rate(rate),
                        score_interval_ms=_int_field(body, "score_interval_ms", 0, 10_000),
                        ignored=ignored, capture=capture)


def parse_text(text: str, *, max_bytes: int) -> ClientMessage:
    """Parse one JSON text frame; raises :class:`InvalidInputError` with ``details.reason``."""
    try:
        body = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _invalid(f"malformed JSON: {exc}"[:200], "malformed_json") from exc
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise _invalid("a message must be a JSON object with a string 'type'", "missing_type")
    kind = body["type"]
    if kind == "audio":
        return _audio(body, max_bytes)
    if kind == "config":
        return _config(body)
    if kind == "reset":
        return Reset()
    if kind == "ping":
        return Ping(body.get("id"))
    if kind == "missed":
        return Missed()
    raise _invalid(f"unknown message type {kind[:40]!r}; expected audio, config, reset, ping "
                   "or missed",
                   "unknown_type", type=kind[:40])


def apply_detector_update(config: DetectorConfig, update: dict[str, Any]) -> DetectorConfig:
    """A new config with ``update`` applied and validated."""
    from pydantic import ValidationError

    try:
        return DetectorConfig.model_validate({**config.model_dump(), **update})
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}
        raise _invalid("invalid detector setting", "out_of_range", fields=fields) from exc


# -- server messages --------------------------------------------------------------------------
def utc_timestamp() -> str:
    """Now as ISO 8601 UTC with milliseconds and a ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ready(*, model_id: str, wake_word: str, config: DetectorConfig, sample_rate: int,
          score_interval_ms: int, max_chunk_s: float, capture: bool = False
          ) -> dict[str, Any]:
    """Sent once after the model is loaded."""
    return {"type": "ready", "model_id": model_id, "wake_word": wake_word,
            "threshold": config.threshold, "refractory_ms": config.refractory_ms,
            "smoothing_frames": config.smoothing_frames, "sample_rate": sample_rate,
            "frame_ms": FRAME_MS, "score_interval_ms": score_interval_ms,
            "max_chunk_ms": round(max_chunk_s * 1000), "capture": capture,
            "timestamp": utc_timestamp()}


def detection(d: Detection, *, model_id: str, wake_word: str,
              threshold: float) -> dict[str, Any]:
    """The documented detection message, plus audio time and model."""
    return {"type": "detection", "detected": True, "confidence": round(d.score, 4),
            "threshold": threshold, "timestamp": utc_timestamp(), "time_ms": d.time_ms,
            "model_id": model_id, "wake_word": wake_word}


def score(confidence: float, *, threshold: float, time_ms: int) -> dict[str, Any]:
    """The highest frame score since the previous score message."""
    return {"type": "score", "confidence": round(confidence, 4), "threshold": threshold,
            "timestamp": utc_timestamp(), "time_ms": time_ms}


def config_ack(config: DetectorConfig, *, sample_rate: int, score_interval_ms: int,
               ignored: tuple[str, ...] = (), capture: bool = False) -> dict[str, Any]:
    """The settings now in force."""
    return {"type": "config_ack", "threshold": config.threshold,
            "refractory_ms": config.refractory_ms, "cooldown_ms": config.refractory_ms,
            "smoothing_frames": config.smoothing_frames, "sample_rate": sample_rate,
            "score_interval_ms": score_interval_ms, "ignored": list(ignored),
            "capture": capture}


def captured(record: dict[str, Any]) -> dict[str, Any]:
    """A clip was stored for review."""
    return {"type": "captured", "capture": record, "timestamp": utc_timestamp()}


def error(exc: WakeBuilderError) -> dict[str, Any]:
    """The API's error shape with ``type: error``."""
    return {"type": "error", **exc.to_dict()}


def warning(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    """Something went wrong but the stream goes on (for example, dropped audio)."""
    return {"type": "warning", "warning": code, "message": message, "details": details,
            "timestamp": utc_timestamp()}

"""Parsing client messages and building server messages."""

from __future__ import annotations

import base64
import json
import re

import pytest

from wakebuilder.api.realtime import protocol
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import Detection
from wakebuilder.errors import InvalidInputError

MAX = 64_000


def reason_of(text: str) -> str:
    with pytest.raises(InvalidInputError) as info:
        protocol.parse_text(text, max_bytes=MAX)
    assert info.value.code == "validation_error"
    return str(info.value.details["reason"])


def test_audio_message_decodes_pcm_and_rate() -> None:
    pcm = b"\x01\x00\xff\x7f"
    msg = protocol.parse_text(json.dumps({"type": "audio", "data": base64.b64encode(pcm).decode(),
                                          "sample_rate": 48000}), max_bytes=MAX)
    assert msg == protocol.AudioChunk(pcm, 48000)
    assert protocol.parse_text('{"type":"audio","data":""}', max_bytes=MAX) == \
        protocol.AudioChunk(b"", None)


@pytest.mark.parametrize("text,reason", [
    ("{not json", "malformed_json"),
    ("[1, 2]", "missing_type"),
    ('{"data": "AAAA"}', "missing_type"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"type": "audio"}', "missing_data"),
    ('{"type": "audio", "data": "***"}', "bad_base64"),
    ('{"type": "audio", "data": "AAA"}', "bad_base64"),
    ('{"type": "audio", "data": "AAAA", "sample_rate": 0}', "bad_sample_rate"),
    ('{"type": "audio", "data": "AAAA", "sample_rate": "fast"}', "bad_sample_rate"),
    ('{"type": "audio", "data": "AAAA", "sample_rate": 16000.5}', "bad_sample_rate"),
    ('{"type": "audio", "data": "AAAA", "sample_rate": true}', "bad_sample_rate"),
    ('{"type": "audio", "data": "AAAA", "sample_rate": 1000000}', "bad_sample_rate"),
    ('{"type": "config", "sample_rate": 100}', "bad_sample_rate"),
    ('{"type": "config", "score_interval_ms": -5}', "out_of_range"),
])
def test_bad_messages_name_the_reason(text: str, reason: str) -> None:
    assert reason_of(text) == reason


def test_oversized_audio_is_refused_before_decoding() -> None:
    data = base64.b64encode(bytes(MAX + 10)).decode()
    assert reason_of(json.dumps({"type": "audio", "data": data})) == "oversized"


def test_check_pcm_limits() -> None:
    assert protocol.check_pcm(bytes(3200), 16000, 2.0) == pytest.approx(0.1)
    with pytest.raises(InvalidInputError, match="even number"):
        protocol.check_pcm(bytes(3), 16000, 2.0)
    with pytest.raises(InvalidInputError) as info:
        protocol.check_pcm(bytes(16000 * 2 * 3), 16000, 2.0)
    assert info.value.details == {"reason": "oversized", "chunk_ms": 3000, "max_chunk_ms": 2000}


def test_config_aliases_and_ignored_keys() -> None:
    msg = protocol.parse_text(json.dumps({"type": "config", "threshold": 0.7, "cooldown_ms": 900,
                                          "smoothing_frames": 2, "colour": "red",
                                          "sample_rate": 44100, "score_interval_ms": 80}),
                              max_bytes=MAX)
    assert msg == protocol.ConfigUpdate(
        detector={"threshold": 0.7, "refractory_ms": 900, "smoothing_frames": 2},
        sample_rate=44100, score_interval_ms=80, ignored=("colour",))


def test_detector_update_is_validated() -> None:
    base = DetectorConfig(threshold=0.5)
    assert protocol.apply_detector_update(base, {"threshold": 0.8}).threshold == 0.8
    with pytest.raises(InvalidInputError) as info:
        protocol.apply_detector_update(base, {"threshold": 1.5, "smoothing_frames": 0})
    assert set(info.value.details["fields"]) == {"threshold", "smoothing_frames"}


def test_ping_and_reset() -> None:
    assert protocol.parse_text('{"type": "ping", "id": 7}', max_bytes=MAX) == protocol.Ping(7)
    assert protocol.parse_text('{"type": "reset"}', max_bytes=MAX) == protocol.Reset()


def test_server_messages_have_the_documented_fields() -> None:
    msg = protocol.detection(Detection("computer", 0.87123, 2240, 27), model_id="computer",
                             wake_word="computer", threshold=0.65)
    assert {"type", "detected", "confidence", "threshold", "timestamp"} <= set(msg)
    assert msg["detected"] is True and msg["confidence"] == 0.8712 and msg["time_ms"] == 2240
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", msg["timestamp"])
    err = protocol.error(InvalidInputError("bad", {"reason": "x"}))
    assert err == {"type": "error", "error": "validation_error", "message": "bad",
                   "details": {"reason": "x"}}
    json.dumps(protocol.ready(model_id="m", wake_word="w", config=DetectorConfig(),
                              sample_rate=16000, score_interval_ms=100, max_chunk_s=2.0))

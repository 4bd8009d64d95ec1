"""The WebSocket session over Starlette's TestClient with a stub model."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from wakebuilder.api.realtime.stream import AudioStream, StreamOutput
from wakebuilder.audio.format import to_int16

from .conftest import STUB_ID, ClientFactory

URL = f"/api/test/ws/{STUB_ID}"


def pcm(seconds: float, rate: int = 16000) -> bytes:
    rng = np.random.default_rng(0)
    return to_int16(rng.normal(0, 0.05, int(seconds * rate))).tobytes()


def audio(data: bytes, **extra: Any) -> str:
    return json.dumps({"type": "audio", "data": base64.b64encode(data).decode(), **extra})


def next_of(ws: Any, kind: str, limit: int = 200) -> dict[str, Any]:
    for _ in range(limit):
        msg: dict[str, Any] = ws.receive_json()
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind!r} message")


def test_ready_then_scores(make_client: ClientFactory) -> None:
    with make_client().websocket_connect(URL) as ws:
        ready = ws.receive_json()
        assert ready == {**ready, "type": "ready", "model_id": STUB_ID, "wake_word": "stub word",
                         "threshold": 0.9, "sample_rate": 16000, "frame_ms": 80}
        ws.send_text(audio(pcm(1.0)))
        score = next_of(ws, "score")
        assert set(score) == {"type", "confidence", "threshold", "timestamp", "time_ms"}
        assert 0.0 <= score["confidence"] <= 1.0 and score["time_ms"] % 80 == 0


def test_binary_frames_at_the_query_rate(make_client: ClientFactory) -> None:
    with make_client().websocket_connect(URL + "?sample_rate=48000&threshold=0.3") as ws:
        ready = ws.receive_json()
        assert (ready["sample_rate"], ready["threshold"]) == (48000, 0.3)
        ws.send_text(json.dumps({"type": "config", "score_interval_ms": 0}))
        next_of(ws, "config_ack")
        ws.send_bytes(pcm(0.5, 48000))
        times = [next_of(ws, "score")["time_ms"] for _ in range(5)]
        assert times == [80, 160, 240, 320, 400]  # 48 kHz resampled to 80 ms frames


@pytest.mark.parametrize("message,reason", [
    ("{oops", "malformed_json"),
    (json.dumps({"type": "audio", "data": "%%%%"}), "bad_base64"),
    (audio(b"\x00\x00", sample_rate=7), "bad_sample_rate"),
    (audio(pcm(3.0)), "oversized"),
    (audio(b"\x00\x00\x00"), "odd_length"),
    (json.dumps({"type": "config", "threshold": 7}), "out_of_range"),
    (json.dumps({"type": "launch"}), "unknown_type"),
])
def test_bad_input_gets_an_error_and_the_socket_stays(make_client: ClientFactory, message: str,
                                                      reason: str) -> None:
    with make_client().websocket_connect(URL) as ws:
        ws.receive_json()
        ws.send_text(message)
        err = ws.receive_json()
        assert err["type"] == "error" and err["error"] == "validation_error"
        assert err["details"]["reason"] == reason and err["message"]
        ws.send_text(json.dumps({"type": "ping", "id": "after"}))
        assert next_of(ws, "pong")["id"] == "after"


def test_oversized_binary_frame(make_client: ClientFactory) -> None:
    with make_client().websocket_connect(URL) as ws:
        ws.receive_json()
        ws.send_bytes(pcm(2.5))
        assert ws.receive_json()["details"]["reason"] == "oversized"


def test_config_and_reset_are_acknowledged_in_order(make_client: ClientFactory) -> None:
    with make_client().websocket_connect(URL) as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "config", "threshold": 0.4, "cooldown_ms": 700,
                                 "smoothing_frames": 3, "sample_rate": 22050, "extra": 1}))
        ack = next_of(ws, "config_ack")
        assert ack == {**ack, "threshold": 0.4, "refractory_ms": 700, "cooldown_ms": 700,
                       "smoothing_frames": 3, "sample_rate": 22050, "ignored": ["extra"]}
        ws.send_text(json.dumps({"type": "config", "score_interval_ms": 0}))
        next_of(ws, "config_ack")
        ws.send_bytes(pcm(0.2, 22050))
        ws.send_text(json.dumps({"type": "reset"}))
        ws.send_bytes(pcm(0.2, 22050))
        kinds = []
        while "reset_ack" not in kinds or kinds.count("score") < 4:
            kinds.append(ws.receive_json()["type"])
        assert kinds == ["score", "score", "reset_ack", "score", "score"]


@pytest.mark.parametrize("model_id,error", [("no_such_model", "not_found"),
                                            ("Bad..Id", "validation_error")])
def test_unknown_or_invalid_model_closes_1008(make_client: ClientFactory, model_id: str,
                                              error: str) -> None:
    with make_client().websocket_connect(f"/api/test/ws/{model_id}") as ws:
        assert ws.receive_json()["error"] == error
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    assert info.value.code == 1008 and info.value.reason


def test_bad_query_rate_closes_1008(make_client: ClientFactory) -> None:
    with make_client().websocket_connect(URL + "?sample_rate=12") as ws:
        assert ws.receive_json()["details"]["reason"] == "bad_sample_rate"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    assert info.value.code == 1008


def test_connection_limit_closes_1013(make_client: ClientFactory) -> None:
    client = make_client(max_connections=1)
    with client.websocket_connect(URL) as first:
        first.receive_json()
        with client.websocket_connect(URL) as second:
            err = second.receive_json()
            assert err["details"]["reason"] == "too_many_connections"
            with pytest.raises(WebSocketDisconnect) as info:
                second.receive_json()
        assert info.value.code == 1013
    with client.websocket_connect(URL) as again:  # the slot was given back
        assert again.receive_json()["type"] == "ready"


def test_flooding_drops_with_warning_then_closes(make_client: ClientFactory,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    feed = AudioStream.feed

    def slow_feed(self: AudioStream, data: bytes, rate: int) -> StreamOutput:
        time.sleep(0.05)  # inference that keeps up with 5x real time, not with a flood
        return feed(self, data, rate)

    monkeypatch.setattr(AudioStream, "feed", slow_feed)
    client = make_client(queue_s=0.5, flood_close_s=3.0, threads=1)
    chunk = pcm(0.25)
    with client.websocket_connect(URL) as ws:
        ws.receive_json()
        seen: list[dict[str, Any]] = []
        with pytest.raises(WebSocketDisconnect) as info:
            for _ in range(400):
                ws.send_bytes(chunk)
            while True:
                seen.append(ws.receive_json())
    warnings = [m for m in seen if m["type"] == "warning"]
    assert warnings and warnings[0]["warning"] == "audio_dropped"
    assert warnings[0]["details"]["dropped_ms"] > 0
    assert seen[-1]["type"] == "error" and seen[-1]["details"]["reason"] == "flooding"
    assert info.value.code == 1008

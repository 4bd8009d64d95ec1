"""Limits against idle and hostile WebSocket clients, over Starlette's TestClient."""

from __future__ import annotations

import json
import time

import pytest
from starlette.websockets import WebSocketDisconnect

from wakebuilder.api.realtime import protocol
from wakebuilder.api.realtime.pool import RealtimeLimits

from .conftest import STUB_ID, ClientFactory
from .test_session import audio, next_of, pcm

URL = f"/api/test/ws/{STUB_ID}"


def test_largest_message_follows_the_protocol() -> None:
    limits = RealtimeLimits()
    assert limits.max_chunk_bytes == 768_000  # 2 s at 192 kHz, 16-bit
    largest = audio(b"\0" * limits.max_chunk_bytes, sample_rate=192_000)
    assert len(largest) <= limits.max_message_bytes < len(largest) + 20_000
    assert protocol.parse_text(largest, max_bytes=limits.max_chunk_bytes).pcm


def test_idle_connection_is_closed_with_a_reason(make_client: ClientFactory) -> None:
    with make_client(idle_timeout_s=0.4).websocket_connect(URL) as ws:
        ws.receive_json()
        started = time.monotonic()
        ws.send_text(json.dumps({"type": "ping"}))  # pings do not count as audio
        assert ws.receive_json()["type"] == "pong"
        err = ws.receive_json()
        assert err["type"] == "error" and err["details"]["reason"] == "idle_timeout"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1008
        assert 0.3 < time.monotonic() - started < 3


def test_audio_keeps_the_connection_alive(make_client: ClientFactory) -> None:
    with make_client(idle_timeout_s=0.5).websocket_connect(URL) as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "config", "score_interval_ms": 0}))
        next_of(ws, "config_ack")
        for _ in range(8):  # 1.2 s in all, never 0.5 s without audio
            ws.send_bytes(pcm(0.1))
            time.sleep(0.15)
        assert next_of(ws, "score")["type"] == "score"


def test_per_client_cap(make_client: ClientFactory) -> None:
    client = make_client(max_per_client=2)
    with client.websocket_connect(URL) as a, client.websocket_connect(URL) as b:
        a.receive_json()
        b.receive_json()
        with client.websocket_connect(URL) as c:
            err = c.receive_json()
            assert err["details"] == {"reason": "too_many_from_address", "limit": 2}
            with pytest.raises(WebSocketDisconnect) as info:
                c.receive_json()
            assert info.value.code == 1013
    with client.websocket_connect(URL) as d:  # slots are given back
        assert d.receive_json()["type"] == "ready"


def test_oversized_text_is_refused_before_parsing(make_client: ClientFactory) -> None:
    with make_client().websocket_connect(URL) as ws:
        ws.receive_json()
        limit = RealtimeLimits().max_message_bytes
        ws.send_text("{" * (limit + 1))  # would be a RecursionError if parsed
        err = ws.receive_json()
        assert err["details"] == {"reason": "oversized", "max_bytes": limit}
        ws.send_text(json.dumps({"type": "ping", "pad": "x" * 5000}))
        assert ws.receive_json()["details"]["reason"] == "oversized"
        ws.send_text(json.dumps({"type": "ping", "id": 1}))  # the socket stays open
        assert ws.receive_json()["type"] == "pong"


def test_control_flood_is_closed(make_client: ClientFactory) -> None:
    with make_client(control_rate=5.0, control_burst=10).websocket_connect(URL) as ws:
        ws.receive_json()
        for i in range(30):
            ws.send_text(json.dumps({"type": "ping", "id": i}))
        pongs = 0
        with pytest.raises(WebSocketDisconnect) as info:
            while True:
                msg = ws.receive_json()
                if msg["type"] == "pong":
                    pongs += 1
                elif msg["type"] == "error":
                    assert msg["details"]["reason"] == "control_rate"
        assert info.value.code == 1008
        assert 10 <= pongs < 15


def test_control_rate_allows_a_steady_client(make_client: ClientFactory) -> None:
    with make_client(control_rate=20.0, control_burst=5).websocket_connect(URL) as ws:
        ws.receive_json()
        for i in range(12):  # 10 per second: under the rate
            ws.send_text(json.dumps({"type": "ping", "id": i}))
            assert ws.receive_json()["id"] == i
            time.sleep(0.1)


def test_full_server_evicts_the_longest_idle_connection(make_client: ClientFactory) -> None:
    client = make_client(max_connections=2, evict_idle_s=0.3)
    with client.websocket_connect(URL) as idle, client.websocket_connect(URL) as busy:
        idle.receive_json()
        busy.receive_json()
        time.sleep(0.4)
        busy.send_bytes(pcm(0.1))  # audio: busy is not idle
        time.sleep(0.05)
        with client.websocket_connect(URL) as newcomer:
            assert newcomer.receive_json()["type"] == "ready"
            err = idle.receive_json()
            assert err["type"] == "error" and err["details"]["reason"] == "evicted_idle"
            with pytest.raises(WebSocketDisconnect) as info:
                idle.receive_json()
            assert info.value.code == 1013
            busy.send_text(json.dumps({"type": "ping", "id": 7}))
            assert next_of(busy, "pong")["id"] == 7

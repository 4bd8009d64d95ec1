"""Captured clips over the REST API: a live test with capture on, then list, download, label
(round trip), delete, upload, improve's refusal without labels, and the error format."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
from fastapi.testclient import TestClient

from wakebuilder.audio.format import to_int16

from . import stub_jobs

RATE = 16_000


def _stream(client: TestClient, model_id: str, seconds: float, capture: str) -> list[dict]:
    """Stream quiet noise through the WebSocket (less than its 4 s queue), then ``missed``;
    every message the server sent until it answered that."""
    pcm = to_int16(np.random.default_rng(0).normal(0, 0.01, int(seconds * RATE))).tobytes()
    got = []
    with client.websocket_connect(
            f"ws://127.0.0.1:8000/api/test/ws/{model_id}?capture={capture}") as ws:
        got.append(ws.receive_json())
        step = 3200  # 100 ms
        for i in range(0, len(pcm), step):
            ws.send_bytes(pcm[i:i + step])
        ws.send_json({"type": "missed"})  # answered in order, after the audio
        while True:
            msg = ws.receive_json()
            got.append(msg)
            if (msg["type"] == "warning" and msg["warning"] != "audio_dropped") or (
                    msg["type"] == "captured" and msg["capture"]["kind"] == "missed"):
                break
    return got


def test_capture_off_stores_nothing(client: TestClient) -> None:
    model_id, _ = stub_jobs.publish(client.app.state.settings.data_dir, "computer")  # type: ignore[attr-defined]
    msgs = _stream(client, model_id, 3.5, "0")
    assert msgs[0]["type"] == "ready" and msgs[0]["capture"] is False
    assert any(m["type"] == "detection" for m in msgs)
    assert not any(m["type"] == "captured" for m in msgs)
    assert any(m["type"] == "warning" and m["warning"] == "capture_off" for m in msgs)
    assert client.get(f"/api/models/{model_id}/captures").json()["total"] == 0


def test_capture_label_round_trip_download_delete(client: TestClient) -> None:
    model_id, _ = stub_jobs.publish(client.app.state.settings.data_dir, "computer")  # type: ignore[attr-defined]
    msgs = _stream(client, model_id, 3.5, "1")
    assert msgs[0]["capture"] is True
    captured = [m["capture"] for m in msgs if m["type"] == "captured"]
    assert {c["kind"] for c in captured} >= {"detection", "missed"}
    listed = client.get(f"/api/models/{model_id}/captures").json()
    ids = {c["id"] for c in listed["captures"]}
    assert {c["id"] for c in captured} <= ids
    assert listed["usage"]["clips"] == listed["total"] == len(ids)
    clip = next(c for c in listed["captures"] if c["kind"] == "detection")
    assert clip["model_id"] == model_id and clip["threshold"] == 0.5 and clip["label"] is None

    audio = client.get(clip["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    data, rate = sf.read(io.BytesIO(audio.content))
    assert rate == RATE and abs(len(data) / RATE - clip["duration_s"]) < 0.01

    url = f"/api/models/{model_id}/captures/{clip['id']}"
    labelled = client.post(f"{url}/label", json={"label": "false_wake"}).json()
    assert labelled["label"] == "false_wake" and labelled["labelled_at"]
    again = client.get(f"/api/models/{model_id}/captures?label=false_wake").json()
    assert [c["id"] for c in again["captures"]] == [clip["id"]]
    assert client.post(f"{url}/label", json={"label": None}).json()["label"] is None
    assert client.delete(url).status_code == 200
    assert client.get(f"{url}/audio").status_code == 404
    assert client.delete(f"/api/models/{model_id}/captures").status_code == 200
    assert client.get(f"/api/models/{model_id}/captures").json()["total"] == 0


def _error(resp, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "message", "details"} and body["error"] == code
    return body  # type: ignore[no-any-return]


def test_bad_ids_labels_and_uploads_get_the_error_format(client: TestClient) -> None:
    model_id, _ = stub_jobs.publish(client.app.state.settings.data_dir, "computer")  # type: ignore[attr-defined]
    base = f"/api/models/{model_id}/captures"
    _error(client.get("/api/models/Bad-Id/captures"), 400, "validation_error")
    _error(client.get("/api/models/nosuchmodel/captures"), 404, "not_found")
    _error(client.get(f"{base}/..%2F..%2Fjobs.db/audio"), 404, "not_found")  # no such route
    _error(client.get(f"{base}/..jobs.db/audio"), 400, "validation_error")
    _error(client.get(f"{base}/0123456789abcdef/audio"), 404, "not_found")
    _error(client.delete(f"{base}/zz"), 400, "validation_error")
    _error(client.post(f"{base}/0123456789abcdef/label", json={"label": "maybe"}), 400,
           "validation_error")
    _error(client.post(base, files={"audio": ("x.wav", b"not audio", "audio/wav")}), 400,
           "validation_error")
    _error(client.post(base, files={"audio": ("x.wav", b"", "audio/wav")}), 400,
           "validation_error")
    long = io.BytesIO()
    sf.write(long, np.zeros(12 * RATE, np.int16), RATE, format="WAV")
    _error(client.post(base, files={"audio": ("long.wav", long.getvalue(), "audio/wav")}), 400,
           "validation_error")
    _error(client.post(f"/api/models/{model_id}/improve"), 409, "conflict")

    ok = io.BytesIO()
    sf.write(ok, (np.random.default_rng(1).normal(0, 0.05, 2 * RATE) * 32767).astype(np.int16),
             RATE, format="WAV")
    up = client.post(base, files={"audio": ("tv.wav", ok.getvalue(), "audio/wav")},
                     data={"label": "false_wake"})
    assert up.status_code == 200, up.text
    assert up.json()["kind"] == "upload" and up.json()["label"] == "false_wake"
    job = client.post(f"/api/models/{model_id}/improve", json={"max_frr_increase": 0.02})
    assert job.status_code == 200, job.text
    status = client.get(f"/api/train/status/{job.json()['job_id']}").json()
    assert status["kind"] == "improve" and status["config"]["max_frr_increase"] == 0.02


def test_deleting_a_model_deletes_its_captures(client: TestClient) -> None:
    model_id, _ = stub_jobs.publish(client.app.state.settings.data_dir, "computer")  # type: ignore[attr-defined]
    _stream(client, model_id, 3.5, "1")
    assert client.get(f"/api/models/{model_id}/captures").json()["total"] > 0
    assert client.delete(f"/api/models/{model_id}").status_code == 200
    stub_jobs.publish(client.app.state.settings.data_dir, "computer")  # type: ignore[attr-defined]
    assert client.get(f"/api/models/{model_id}/captures").json()["total"] == 0

"""POST /api/train/check: the recording checks of /start on one file, as a verdict."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient


def _wav(samples: np.ndarray, rate: int = 16_000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def _check(client: TestClient, name: str, data: bytes) -> dict:  # type: ignore[type-arg]
    resp = client.post("/api/train/check", files={"audio": (name, data, "audio/wav")})
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_good_recording_has_a_report(client: TestClient, wavs: list[Path]) -> None:
    body = _check(client, wavs[0].name, wavs[0].read_bytes())
    assert body["ok"] is True and body["reason"] is None
    assert body["report"]["speech_s"] > 0.2 and body["report"]["duration_s"] > 0


def test_bad_recordings_name_the_reason(client: TestClient) -> None:
    rng = np.random.default_rng(0)
    cases = {
        "silent": np.zeros(16_000),
        "too_long": 0.1 * rng.standard_normal(16_000 * 6),
        "clipped": np.sign(rng.standard_normal(16_000)),
    }
    for reason, samples in cases.items():
        body = _check(client, f"{reason}.wav", _wav(samples))
        assert body["ok"] is False and body["reason"] == reason, body
        assert body["file"] == f"{reason}.wav" and body["message"]
    body = _check(client, "junk.wav", b"not audio at all")
    assert body["ok"] is False and body["reason"]
    assert client.get("/api/train/jobs").json()["total"] == 0


def test_missing_file_is_a_validation_error(client: TestClient) -> None:
    resp = client.post("/api/train/check")
    assert resp.status_code == 400 and resp.json()["error"] == "validation_error"

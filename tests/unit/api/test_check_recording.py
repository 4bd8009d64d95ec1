"""POST /api/train/check: the recording checks of /start on one file, as a verdict."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from wakebuilder.api.routers.training import check_recording_upload
from wakebuilder.audio.checks import MAX_RECORDING_SECONDS, MAX_SPEECH_SECONDS, speech_bounds
from wakebuilder.audio.io import decode_audio


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
        "too_long": 0.1 * rng.standard_normal(16_000 * 16),
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


def _word(path: Path) -> np.ndarray:
    """A real recording cut to its speech."""
    x = decode_audio(path)
    bounds = speech_bounds(x)
    assert bounds is not None
    return x[bounds[0]:bounds[1]]


def _room(seconds: float, words: list[np.ndarray], at: list[float]) -> np.ndarray:
    """``seconds`` of a quiet room with ``words`` starting at ``at`` (seconds)."""
    x = np.random.default_rng(3).normal(0, 3e-4, int(seconds * 16_000)).astype(np.float32)
    for word, t in zip(words, at, strict=True):
        start = int(t * 16_000)
        x[start:start + len(word)] += word
    return x


def test_long_recording_is_accepted_and_trimmed(client: TestClient, wavs: list[Path]) -> None:
    word = _word(wavs[0])
    data = _wav(_room(12.0, [word], [6.0]))
    body = _check(client, "long.wav", data)
    assert body["ok"] is True, body
    report = body["report"]
    assert report["duration_s"] == 12.0
    assert report["speech_s"] < len(word) / 16_000 + 0.1
    assert report["trimmed_s"] < len(word) / 16_000 + 0.5 and 5.5 < report["trim_start_s"] < 6.1
    assert "trimmed from 12.0 s to" in body["message"]
    resp = client.post("/api/train/start", data={"wake_word": "computer"},
                       files=[("audio_files", ("long.wav", data, "audio/wav"))])
    assert resp.status_code == 200, resp.text
    assert resp.json()["recordings"][0]["trimmed_s"] == report["trimmed_s"]


def test_too_much_speech_is_refused_with_a_clear_reason(client: TestClient,
                                                        wavs: list[Path]) -> None:
    words = [_word(p) for p in wavs[:4]]
    data = _wav(_room(10.0, words, [1.0, 3.0, 5.0, 6.5]))
    body = _check(client, "chatty.wav", data)
    assert body["ok"] is False and body["reason"] == "speech_too_long", body
    assert body["details"]["speech_s"] > 5.0 and body["details"]["limit_s"] == 5.0
    assert "the speech in this recording lasts" in body["message"]
    assert "record only the wake word, under 5 s" in body["message"]
    resp = client.post("/api/train/start", data={"wake_word": "computer"},
                       files=[("audio_files", ("chatty.wav", data, "audio/wav"))])
    assert resp.status_code == 400
    err = resp.json()
    assert set(err) == {"error", "message", "details"} and err["error"] == "validation_error"
    assert err["details"]["reason"] == "speech_too_long" and "chatty.wav" in err["message"]
    assert client.get("/api/train/jobs").json()["total"] == 0


def test_the_documented_limits_are_the_real_ones() -> None:
    doc = " ".join((check_recording_upload.__doc__ or "").split())
    assert f"up to {MAX_RECORDING_SECONDS:g} s of audio" in doc
    assert f"more than {MAX_SPEECH_SECONDS:g} s" in doc

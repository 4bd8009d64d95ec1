"""A model written by the real exporter: the API lists its .tflite, calibration and scales."""

from __future__ import annotations

import io
import zipfile

from fastapi.testclient import TestClient

from tests.helpers import random_model


def test_details_and_zip_include_the_tflite(client: TestClient) -> None:
    data_dir = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    random_model(data_dir / "models" / "hey_tflite", "hey_tflite", threshold=0.8)
    detail = client.get("/api/models/hey_tflite").json()
    assert detail["threshold"] == 0.8  # the raw scale, as before
    assert detail["files"]["tflite"] == "hey_tflite.tflite"
    assert detail["calibration"]["threshold"] == 0.8
    assert detail["calibration"]["calibrated_threshold"] == 0.5
    assert detail["score_scale"]["tflite"] == "calibrated"
    assert detail["score_scale"]["threshold"] == "raw"
    resp = client.get("/api/models/hey_tflite/download")
    names = zipfile.ZipFile(io.BytesIO(resp.content)).namelist()
    assert set(detail["files"].values()) <= set(names)
    tflite = zipfile.ZipFile(io.BytesIO(resp.content)).read("hey_tflite.tflite")
    assert tflite[4:8] == b"TFL3"


def test_file_test_reports_the_raw_scale(client: TestClient) -> None:
    """Testing a calibrated model over the API still reports raw scores and threshold."""
    import numpy as np
    import soundfile as sf

    data_dir = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    random_model(data_dir / "models" / "raw_scale", "raw_scale", threshold=0.8)
    buf = io.BytesIO()
    sf.write(buf, np.random.default_rng(0).normal(0, 0.05, 32000).astype(np.float32), 16000,
             format="WAV")
    resp = client.post("/api/test/file", data={"model_id": "raw_scale"},
                       files={"audio": ("n.wav", buf.getvalue(), "audio/wav")})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["threshold"] == 0.8
    assert body["detected"] == (body["confidence"] >= 0.8)

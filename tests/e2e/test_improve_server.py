"""Capture -> label -> improve against a real server (slow): speech that falsely wakes the tiny
"computer" model is streamed through the real WebSocket with capture on, the captured
detections are labelled "not my wake word" over the REST API, ``POST /api/models/{id}/improve``
runs as a real job in a worker process, and the new version must not fire on those clips at
its own calibrated threshold while the old version stays listed and downloadable."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import websockets

from tests.clips import quiet
from tests.conftest import DEV_DATA
from tests.servers import app_in_thread
from wakebuilder.audio.format import SAMPLE_RATE, Samples, to_int16
from wakebuilder.audio.io import decode_audio
from wakebuilder.cli.detect import load_model_dir
from wakebuilder.detection.file import detect_blocks
from wakebuilder.layout import DataLayout

pytestmark = pytest.mark.slow

MAX_FALSE_WAKES = 2
JOB_TIMEOUT_S = 600


def false_wakes(model_dir: Path) -> list[Samples]:
    """Up to :data:`MAX_FALSE_WAKES` real speech clips (not the wake word, not in the model's
    negatives) the model detects as a file; fails the test if none."""
    model, manifest = load_model_dir(model_dir)
    precise = DEV_DATA / "precise"
    candidates = sorted((precise / "not-wake-words" / "en").glob("*.wav")) + sorted(
        (precise / "athena").glob("*.wav"))[60:]  # the first 60 are the model's negatives
    found = []
    for path in candidates:
        x = decode_audio(path)
        if detect_blocks(model, manifest.detector, [x]).detections:
            found.append(x)
            if len(found) == MAX_FALSE_WAKES:
                break
    if not found:
        pytest.fail("the tiny model fires on none of the unseen speech clips")
    return found


def data_dir_for(model_dir: Path, tmp: Path) -> Path:
    """A data directory with a copy of the model and of the negative store it was trained
    with (and the natural negatives), so the improve job measures on the same audio."""
    src, dst = DataLayout(model_dir.parents[1] / "data"), DataLayout(tmp / "data")
    shutil.copytree(model_dir, dst.models_dir / model_dir.name)
    shutil.copytree(src.negative_store_dir, dst.negative_store_dir,
                    ignore=shutil.ignore_patterns(".lock"))
    if src.negative_dir.is_dir():
        shutil.copytree(src.negative_dir, dst.negative_dir)
    return dst.data_dir


async def stream_with_capture(url: str, audio: Samples) -> list[dict[str, Any]]:
    """Stream ``audio`` at about 4x real time with capture on; every message until close."""
    pcm = to_int16(audio).tobytes()
    got: list[dict[str, Any]] = []
    async with websockets.connect(f"{url}?capture=1") as ws:
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready" and ready["capture"] is True
        step = SAMPLE_RATE // 10 * 2
        for i in range(0, len(pcm), step):
            await ws.send(pcm[i:i + step])
            await asyncio.sleep(0.025)
        await ws.send('{"type": "ping", "id": "end"}')
        await asyncio.sleep(1.0)  # the queue drains
        await ws.send('{"type": "reset"}')  # answered after every queued chunk
        async for raw in ws:
            msg = json.loads(raw)
            got.append(msg)
            if msg["type"] == "reset_ack":
                break
    return got


def test_capture_label_improve_new_version(trained_model_dir: Path, tmp_path: Path) -> None:
    clips = false_wakes(trained_model_dir)
    audio = np.concatenate([quiet(2.5)] + [np.concatenate([c, quiet(2.5, i + 1)])
                                           for i, c in enumerate(clips)])
    data = data_dir_for(trained_model_dir, tmp_path)
    old_id = trained_model_dir.name
    with app_in_thread(data, dispatcher=True) as port:
        base = f"http://127.0.0.1:{port}"
        msgs = asyncio.run(stream_with_capture(f"ws://127.0.0.1:{port}/api/test/ws/{old_id}",
                                               audio))
        assert [m for m in msgs if m["type"] == "detection"], "no detection while streaming"
        with httpx.Client(base_url=base, timeout=60) as http:
            listed = http.get(f"/api/models/{old_id}/captures").json()
            detections = [c for c in listed["captures"] if c["kind"] == "detection"]
            assert detections, listed
            for c in detections:
                r = http.post(f"/api/models/{old_id}/captures/{c['id']}/label",
                              json={"label": "false_wake"})
                assert r.status_code == 200 and r.json()["label"] == "false_wake"
            wavs = {c["id"]: http.get(c["audio_url"]).content for c in detections}

            job = http.post(f"/api/models/{old_id}/improve", json={})
            assert job.status_code == 200, job.text
            job_id = job.json()["job_id"]
            deadline = time.monotonic() + JOB_TIMEOUT_S
            while True:
                status = http.get(f"/api/train/status/{job_id}").json()
                if status["status"] in ("completed", "failed", "cancelled"):
                    break
                assert time.monotonic() < deadline, status
                time.sleep(1.0)
            assert status["status"] == "completed", status.get("error")
            new_id = status["model_id"]
            assert new_id and new_id != old_id

            ids = {m["id"] for m in http.get("/api/models").json()["models"]}
            assert {old_id, new_id} <= ids  # published next to the old one
            old_zip = http.get(f"/api/models/{old_id}/download")
            assert old_zip.status_code == 200
            assert f"{old_id}.onnx" in zipfile.ZipFile(io.BytesIO(old_zip.content)).namelist()
            new = http.get(f"/api/models/{new_id}").json()
            imp = new["data_stats"]["improvement"]
            assert imp["improved_from"] == old_id and imp["false_wakes"] == len(detections)
            assert imp["before"]["frr"] is not None and imp["after"]["frr"] is not None
            assert imp["false_wakes_firing_after"] == 0
            for capture_id, wav in wavs.items():  # the clips as stored, at the new threshold
                r = http.post("/api/test/file", data={"model_id": new_id},
                              files={"audio": (f"{capture_id}.wav", wav, "audio/wav")})
                assert r.status_code == 200 and r.json()["detected"] is False, r.json()
                assert r.json()["threshold"] == pytest.approx(new["threshold"])

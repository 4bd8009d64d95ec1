"""Model endpoints over stub models published like the pipeline publishes them."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from . import stub_jobs
from .conftest import ClientFactory


def _publish(client: TestClient, wake_word: str) -> str:
    data_dir = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    model_id, _ = stub_jobs.publish(data_dir, wake_word)
    return model_id


def _default_models(tmp_path: Path) -> Path:
    """A read-only style directory with one default model."""
    src = tmp_path / "src"
    src.mkdir()
    stub_jobs.write_head(src / stub_jobs.FIXTURE_HEAD)
    model_id, _ = stub_jobs.publish(src, "hey jarvis")
    dest = tmp_path / "defaults"
    shutil.copytree(src / "models" / model_id, dest / model_id)
    return dest


def test_list_details_download_delete(client: TestClient) -> None:
    assert client.get("/api/models").json() == {"models": [], "total": 0}
    model_id = _publish(client, "computer")
    listed = client.get("/api/models").json()
    assert listed["total"] == 1
    item = listed["models"][0]
    assert item["id"] == model_id == "computer"
    assert item["type"] == "custom" and item["wake_word"] == "computer"
    assert item["accuracy"] == 0.97 and item["f1_score"] == 0.94 and item["threshold"] == 0.5
    assert item["fa_per_hour"] == 0.5 and item["frr"] == 0.06 and item["has_onnx"] is True
    assert item["heldout_fa_per_hour"] == 0.5 and item["heldout_hours"] == 2.0
    assert item["calibration_fa_per_hour"] == 0.4 and item["enough_heldout_audio"] is True

    detail = client.get(f"/api/models/{model_id}").json()
    for key in ("id", "wake_word", "type", "created_at", "threshold", "metrics",
                "training_config", "trainable_params", "has_onnx", "history"):
        assert key in detail
    assert detail["metrics"]["precision"] == 0.95
    assert detail["fa_per_hour"] == 0.5 and detail["calibration_fa_per_hour"] == 0.4
    assert detail["metrics"]["heldout"]["hours"] == 2.0
    assert detail["metrics"]["calibration"]["in_sample"] is True
    assert detail["training_config"]["batch_size"] == 32
    assert detail["trainable_params"] == 1234 and len(detail["history"]) == 2

    resp = client.get(f"/api/models/{model_id}/download")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    assert "computer.onnx" in zipfile.ZipFile(io.BytesIO(resp.content)).namelist()

    resp = client.delete(f"/api/models/{model_id}")
    assert resp.json() == {"message": "Model deleted successfully"}
    assert client.get(f"/api/models/{model_id}").status_code == 404
    assert client.delete(f"/api/models/{model_id}").status_code == 404


def test_retrain_versions_never_overwrite(client: TestClient) -> None:
    ids = [_publish(client, "computer") for _ in range(3)]
    assert ids == ["computer", "computer_v2", "computer_v3"]
    assert client.get("/api/models").json()["total"] == 3


def test_default_models_are_listed_and_read_only(make_client: ClientFactory,
                                                 tmp_path: Path) -> None:
    client = make_client(default_models_dir=_default_models(tmp_path))
    _publish(client, "computer")
    kinds = {m["id"]: m["type"] for m in client.get("/api/models").json()["models"]}
    assert kinds == {"computer": "custom", "hey_jarvis": "default"}
    assert [m["id"] for m in client.get("/api/models?type=default").json()["models"]] == [
        "hey_jarvis"]
    assert [m["id"] for m in client.get("/api/models?type=custom").json()["models"]] == [
        "computer"]
    resp = client.delete("/api/models/hey_jarvis")
    assert resp.status_code == 409 and resp.json()["error"] == "conflict"
    assert (tmp_path / "defaults" / "hey_jarvis" / "hey_jarvis.json").is_file()
    assert client.get("/api/models/hey_jarvis/download").status_code == 200


def test_old_flat_metrics_report_no_heldout_figure(client: TestClient) -> None:
    """A manifest written before typed metrics: its fa_per_hour was the in-sample calibration
    figure, so the API reports it as calibration_fa_per_hour and has no held-out figure."""
    model_id = _publish(client, "computer")
    data_dir = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    path = data_dir / "models" / model_id / f"{model_id}.json"
    manifest = json.loads(path.read_text())
    manifest["metrics"] = {"accuracy": 0.9, "f1_score": 0.8, "fa_per_hour": 0.3,
                           "calibration_hours": 2.0, "frr": 0.1}
    path.write_text(json.dumps(manifest))
    detail = client.get(f"/api/models/{model_id}").json()
    assert detail["fa_per_hour"] is None and detail["heldout_hours"] is None
    assert detail["calibration_fa_per_hour"] == 0.3 and detail["frr"] == 0.1
    assert detail["enough_heldout_audio"] is False
    assert detail["metrics"]["accuracy"] == 0.9 and detail["metrics"]["f1_score"] == 0.8
    for key in ("calibrated_fa_per_hour", "calibrated_frr"):
        assert key not in detail

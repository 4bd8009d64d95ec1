"""model_type: 'ast' is the reference's default head; options that contradict the model type
are a 400 naming both fields (never dropped silently); the API docs say what each value means."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from wakebuilder.training.config import TrainConfig

from .conftest import upload


@pytest.mark.parametrize("model_type,option", [("mlp", "use_tcn"), ("mlp", "use_attention"),
                                               ("attention", "use_tcn")])
def test_conflicting_options_are_a_400_naming_both(client: TestClient, wavs: list[Path],
                                                   model_type: str, option: str) -> None:
    resp = client.post("/api/train/start", files=upload(wavs[:3]),
                       data={"wake_word": "computer", "model_type": model_type,
                             option: "true"})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error"] == "validation_error"
    assert f"model_type='{model_type}'" in body["message"] and option in body["message"]
    assert client.get("/api/train/jobs").json()["total"] == 0  # nothing was queued


@pytest.mark.parametrize("fields,kind", [({}, "mlp"), ({"use_tcn": True}, "tcn"),
                                         ({"use_attention": True}, "attention"),
                                         ({"model_type": "tcn", "use_attention": True}, "tcn"),
                                         ({"model_type": "tcn", "use_tcn": True}, "tcn"),
                                         ({"model_type": "attention", "use_attention": True},
                                          "attention"),
                                         ({"model_type": "mlp"}, "mlp")])
def test_consistent_options_select_a_head(fields: dict[str, object], kind: str) -> None:
    assert TrainConfig.model_validate(fields).head_kind() == kind


def test_openapi_documents_model_type(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    text = str(schema)
    assert "'ast' (the API reference's default) means the default head" in text
    assert "head_config.kind" in text

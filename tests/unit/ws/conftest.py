"""Fixtures: a stub ONNX head in a model store and a tiny app serving only the WebSocket."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import onnx
import pytest
from fastapi import FastAPI
from onnx import TensorProto, helper
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2, not installed here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from wakebuilder.api.inference import ModelCache
from wakebuilder.api.realtime.pool import InferencePool, RealtimeLimits
from wakebuilder.api.routers import ws
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.store import ModelStore

STUB_ID = "stub"


def write_stub_head(path: Path) -> None:
    """An ONNX head scoring ``sigmoid(4 * mean(window))`` for windows ``(N, 16, 96)``."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1, 2], keepdims=0),
         helper.make_node("Mul", ["mean", "scale"], ["scaled"]),
         helper.make_node("Sigmoid", ["scaled"], ["output"])],
        "stub_head",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 16, 96])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor("scale", TensorProto.FLOAT, [], [4.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    """A model store holding one stub model ``stub`` (wake word "stub word")."""
    root = tmp_path / "models"
    model_dir = root / STUB_ID
    model_dir.mkdir(parents=True)
    write_stub_head(model_dir / f"{STUB_ID}.onnx")
    manifest = ModelManifest(id=STUB_ID, wake_word="stub word", threshold=0.9,
                             detector=DetectorConfig(threshold=0.9))
    (model_dir / f"{STUB_ID}.json").write_text(manifest.model_dump_json())
    return ModelStore(root)


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(store: ModelStore) -> Iterator[ClientFactory]:
    """A TestClient of an app with only the WebSocket router; keyword args set the limits."""
    pools: list[InferencePool] = []

    def factory(**limits: object) -> TestClient:
        app = FastAPI()
        app.state.models = store
        app.state.model_cache = ModelCache()
        pool = InferencePool(store, app.state.model_cache, RealtimeLimits(**limits))  # type: ignore[arg-type]
        app.state.realtime_pool = pool
        pools.append(pool)
        app.include_router(ws.router)
        return TestClient(app)

    yield factory
    for pool in pools:
        pool.shutdown()

"""Fixtures: stub ONNX heads in a model store, and a Wyoming server on a Unix socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import TensorProto, helper

from wakebuilder.detection.config import DetectorConfig
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.wyoming_server.protocol import WyomingLimits
from wakebuilder.wyoming_server.server import WyomingConfig, WyomingServer

ALWAYS, NEVER = "always_on", "never_on"
"""Stub models: one scores ~1 on every window (fires after warm-up), one scores ~0."""
FIRST_FIRE_MS = 17 * 80
"""When ``always_on`` fires: the end of frame 16, the first after the 16 warm-up frames."""


def write_head(path: Path, scale: float, bias: float) -> None:
    """An ONNX head scoring ``sigmoid(scale * mean(window) + bias)`` for ``(N, 16, 96)``."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1, 2], keepdims=0),
         helper.make_node("Mul", ["mean", "scale"], ["scaled"]),
         helper.make_node("Add", ["scaled", "bias"], ["logit"]),
         helper.make_node("Sigmoid", ["logit"], ["output"])],
        "stub_head",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 16, 96])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor("scale", TensorProto.FLOAT, [], [scale]),
         helper.make_tensor("bias", TensorProto.FLOAT, [], [bias])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def add_model(root: Path, model_id: str, wake_word: str, *, scale: float = 0.0,
              bias: float = 10.0, threshold: float = 0.5, **manifest: Any) -> Path:
    """Write a complete stub model directory under ``root``."""
    model_dir = root / model_id
    model_dir.mkdir(parents=True)
    write_head(model_dir / f"{model_id}.onnx", scale, bias)
    m = ModelManifest(id=model_id, wake_word=wake_word, threshold=threshold,
                      detector=DetectorConfig(threshold=threshold), **manifest)
    (model_dir / f"{model_id}.json").write_text(m.model_dump_json())
    return model_dir


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    """Custom ``always_on`` ("always on") and default ``never_on`` ("never on")."""
    add_model(tmp_path / "models", ALWAYS, "always on")
    add_model(tmp_path / "defaults", NEVER, "never on", bias=-10.0)
    return ModelStore(tmp_path / "models", tmp_path / "defaults")


ServerFactory = Callable[..., Any]


@pytest.fixture
def wyoming_server(store: ModelStore, tmp_path: Path) -> ServerFactory:
    """``async with wyoming_server(**limits) as uri``: a running server on a Unix socket."""

    @asynccontextmanager
    async def start(**limits: Any) -> AsyncIterator[str]:
        uri = f"unix://{tmp_path / 'wyoming.sock'}"
        server = WyomingServer(store, WyomingConfig(uri=uri, limits=WyomingLimits(**limits)))
        await server.start()
        try:
            yield uri
        finally:
            await server.stop()
            await asyncio.sleep(0)

    return start

"""Stub job tasks for API tests (run in spawned workers): no training, real model store.

Each stub publishes (or refuses to publish) through ``ModelStore.staging`` exactly as the
pipeline does, with a tiny ONNX head that scores every window about 0.9.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from wakebuilder.detection.config import DetectorConfig
from wakebuilder.errors import CancelledError, TrainingError
from wakebuilder.jobs.worker import JobContext
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.metrics import (
    FalseAccepts,
    HeldoutFalseAccepts,
    ModelMetrics,
    RejectFigures,
    Rejects,
)
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.wakeword import parse_wake_word

FIXTURE_HEAD = "fixture_head.onnx"
"""Written into the data directory by the tests before a stub runs."""

METRICS = ModelMetrics(
    accuracy=0.97, f1_score=0.94, precision=0.95, recall=0.93,
    calibration=FalseAccepts.measure(1, 2.5, in_sample=True),  # 0.4 /h, in-sample
    heldout=HeldoutFalseAccepts.measure(1, 2.0, in_sample=False),  # 0.5 /h held out
    rejects=RejectFigures(overall=Rejects.measure(3, 50)),  # 6 % missed
).model_dump(mode="json")
"""Typed metrics as the pipeline writes them (held-out 0.5 FA/h on 2 h, FRR 0.06)."""


def write_head(path: Path, score: float = 0.9) -> Path:
    """An ONNX head mapping windows (N, 16, 96) to a constant score."""
    import math

    import onnx
    from onnx import TensorProto, helper

    logit = math.log(score / (1 - score))
    nodes = [helper.make_node("ReduceMean", ["input"], ["m"], axes=[1, 2], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"]),
             helper.make_node("Add", ["z", "logit"], ["l"]),
             helper.make_node("Sigmoid", ["l"], ["score"])]
    graph = helper.make_graph(
        nodes, "stub_head",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 16, 96])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
         helper.make_tensor("logit", TensorProto.FLOAT, [], [logit])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def publish(data_dir: Path, wake_word: str, *, job_id: str | None = None,
            pause_s: float = 0.0) -> tuple[str, ModelManifest]:
    """Publish a stub model the way the pipeline does."""
    store = ModelStore(data_dir / "models")
    with store.staging(parse_wake_word(wake_word).slug) as (model_id, tmp):
        shutil.copy(data_dir / FIXTURE_HEAD, tmp / f"{model_id}.onnx")
        time.sleep(pause_s)
        manifest = ModelManifest(
            id=model_id, wake_word=wake_word, threshold=0.5,
            detector=DetectorConfig(threshold=0.5), metrics=METRICS, job_id=job_id,
            training_config={"batch_size": 32, "learning_rate": 0.0001, "dropout": 0.5},
            history=[{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.3}],
            trainable_params=1234, files={"onnx": f"{model_id}.onnx"})
        (tmp / f"{model_id}.json").write_text(manifest.model_dump_json())
    return model_id, manifest


def fake_train(ctx: JobContext) -> dict[str, Any]:
    """Two epochs of fake progress, then a published model."""
    ctx.report(phase="Preparing data", progress=10, message="recordings checked",
               data_stats={"recordings": len(ctx.job.inputs.get("recordings", []))})
    for epoch in (1, 2):
        if ctx.should_cancel():
            raise CancelledError("cancelled")
        ctx.report(phase="Training classifier", progress=40 + 20 * epoch,
                   current_epoch=epoch, total_epochs=2,
                   metrics={"train_loss": 1.0 / epoch, "val_accuracy": 0.9})
    pause = float(ctx.job.config.get("seed", 0)) / 1000  # tests slow it down via "seed"
    model_id, manifest = publish(ctx.data_dir, ctx.job.wake_word or "stub", job_id=ctx.job.id,
                                 pause_s=pause)
    return {"model_id": model_id, "threshold": manifest.threshold, "metrics": METRICS}


def slow_train(ctx: JobContext) -> dict[str, Any]:
    """Trains 'forever' but honours cancel; would publish after 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ctx.should_cancel():
            raise CancelledError("cancelled")
        ctx.report(phase="Training classifier", progress=50, message="working")
        time.sleep(0.1)
    return fake_train(ctx)


def stubborn_train(ctx: JobContext) -> dict[str, Any]:
    """Ignores cancel while holding a staging directory open (needs a forced stop)."""
    store = ModelStore(ctx.data_dir / "models")
    with store.staging("stubborn") as (_model_id, _tmp):
        ctx.report(phase="Exporting", progress=90, message="writing")
        time.sleep(120)
    return {}


def failing_train(ctx: JobContext) -> dict[str, Any]:
    """Fails in the training stage."""
    ctx.report(phase="Training classifier", progress=30)
    raise TrainingError("no usable positives", {"positives": 0})


def crashing_train(ctx: JobContext) -> dict[str, Any]:
    """Raises an unexpected exception."""
    raise RuntimeError("boom /secret/path")


def phased_train(ctx: JobContext) -> dict[str, Any]:
    """Two phases of known length (0.6 s, 0.3 s), each reported every 0.1 s; no model."""
    for phase, reports in (("Preparing data", 6), ("Training classifier", 3)):
        for i in range(reports):
            ctx.report(phase=phase, progress=10.0 * i, message=f"{phase} {i}")
            time.sleep(0.1)
    return {}


def fake_cache(ctx: JobContext) -> dict[str, Any]:
    """A quick fake cache build."""
    ctx.report(phase="Building negative cache", progress=50, message="half way")
    time.sleep(0.3)
    return {"cache": {"files": 0}}


RACE_FILE = "race_at.txt"
RACE_ROUNDS = 4


def race_train(ctx: JobContext) -> dict[str, Any]:
    """Publish RACE_ROUNDS models, starting at the wall time the test wrote to RACE_FILE."""
    start = float((ctx.data_dir / RACE_FILE).read_text())
    time.sleep(max(0.0, start - time.time()))
    for _ in range(RACE_ROUNDS):
        model_id, manifest = publish(ctx.data_dir, ctx.job.wake_word or "stub",
                                     job_id=ctx.job.id, pause_s=0.05)
    return {"model_id": model_id, "threshold": manifest.threshold, "metrics": METRICS}


def slow_cache(ctx: JobContext) -> dict[str, Any]:
    """A cache build that runs until cancelled (at most 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ctx.should_cancel():
            raise CancelledError("negative store build cancelled")
        ctx.report(phase="Building negative cache", progress=30, message="embedding")
        time.sleep(0.1)
    return {"cache": {"files": 0}}


def runner(name: str) -> str:
    """The ``module:function`` reference of a stub."""
    return f"{__name__}:{name}"

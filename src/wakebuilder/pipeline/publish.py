"""Step 7: the model files (ONNX, TFLite, weights, manifest, report) into the model store."""

from __future__ import annotations

import platform

import numpy as np
import torch

import wakebuilder
from wakebuilder.layout import DataLayout
from wakebuilder.modelstore.export import write_model_files
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.report import render_report
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.pipeline.calibrate import Calibration
from wakebuilder.pipeline.request import TrainResult
from wakebuilder.pipeline.state import JobState
from wakebuilder.training.ensemble import TrainedModel
from wakebuilder.training.head import count_params
from wakebuilder.wakeword import WakeWord

PHASE = "Exporting model"


def versions() -> dict[str, str]:
    """Versions of the software a model was trained with."""
    import onnxruntime

    return {"wakebuilder": wakebuilder.__version__, "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def publish(state: JobState, ww: WakeWord, trained: TrainedModel, cal: Calibration,
            layout: DataLayout) -> TrainResult:
    """Write the files in a staging folder and publish it under a new model id."""
    cfg = state.cfg
    state.report(PHASE, 0.0, "writing ONNX, TFLite, weights and metadata")
    metrics = cal.metrics.model_copy(update={"train_seconds": round(state.elapsed(), 1)})
    store = ModelStore(layout.models_dir, layout.default_models_dir)
    with store.staging(ww.slug) as (model_id, tmp):
        manifest = ModelManifest(
            id=model_id, wake_word=ww.text, threshold=round(cal.detector.threshold, 6),
            detector=cal.detector, target_fa_per_hour=cfg.target_fa_per_hour, metrics=metrics,
            det_curve=cal.det_curve,
            head_config=trained.head_config.to_dict() | {"n_heads": cfg.ensemble},
            training_config=cfg.model_dump(), recipe=state.plan, data_stats=state.stats,
            history=state.history, trainable_params=count_params(trained.model),
            versions=versions(), job_id=state.request.job_id, notes=state.notes)
        manifest = write_model_files(trained.model, manifest, tmp, render_report(manifest))
    state.report(PHASE, 1.0, f"model {model_id} ready")
    return TrainResult(model_id=model_id, model_dir=store.path(model_id), manifest=manifest)

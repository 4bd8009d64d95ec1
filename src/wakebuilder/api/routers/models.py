"""Model endpoints: list, details, download, delete."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from wakebuilder.api.deps import ModelStoreDep
from wakebuilder.api.schemas import (
    MessagePublic,
    ModelList,
    ModelPublic,
    ModelSummary,
    quality_figures,
)
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.metrics import ModelMetrics
from wakebuilder.modelstore.store import ModelStore

router = APIRouter(prefix="/api/models", tags=["models"])


def _metrics(m: ModelManifest) -> ModelMetrics:
    value: Any = m.metrics
    return value if isinstance(value, ModelMetrics) else ModelMetrics.model_validate(value or {})


def _has_onnx(store: ModelStore, m: ModelManifest) -> bool:
    return store.onnx_path(m.id).is_file()


def summary(store: ModelStore, m: ModelManifest) -> ModelSummary:
    metrics = _metrics(m)
    return ModelSummary(id=m.id, wake_word=m.wake_word, type=m.type, created_at=m.created_at,
                        accuracy=metrics.accuracy, f1_score=metrics.f1_score,
                        threshold=m.threshold, has_onnx=_has_onnx(store, m), job_id=m.job_id,
                        **quality_figures(metrics))


def details(store: ModelStore, m: ModelManifest) -> ModelPublic:
    dumped: dict[str, Any] = m.model_dump()
    metrics = _metrics(m)
    return ModelPublic(
        id=m.id, wake_word=m.wake_word, type=m.type, created_at=m.created_at,
        threshold=m.threshold, metrics=metrics, training_config=m.training_config,
        trainable_params=m.trainable_params, has_onnx=_has_onnx(store, m),
        **quality_figures(metrics), target_fa_per_hour=m.target_fa_per_hour,
        detector=dumped["detector"],
        history=m.history, det_curve=dumped["det_curve"], head_config=m.head_config,
        data_stats=m.data_stats, files=m.files, job_id=m.job_id, notes=m.notes,
        calibration=m.calibration, score_scale=m.score_scale)


@router.get("", response_model=ModelList)
def list_models(models: ModelStoreDep,
                type: Literal["custom", "default", "all"] = Query(  # noqa: A002 (seed name)
                    "all", description="Filter by type")) -> ModelList:
    """Every complete model, newest first."""
    items = [summary(models, m) for m in models.list(type)]
    return ModelList(models=items, total=len(items))


@router.get("/{model_id}", response_model=ModelPublic)
def get_model(model_id: str, models: ModelStoreDep) -> ModelPublic:
    """Metrics, threshold, training config and history of one model."""
    return details(models, models.get(model_id))


@router.get("/{model_id}/download", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}})
def download_model(model_id: str, models: ModelStoreDep) -> Response:
    """The model directory as a ZIP file."""
    data = models.zip_bytes(model_id)
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{model_id}.zip"'})


@router.delete("/{model_id}", response_model=MessagePublic)
def delete_model(model_id: str, models: ModelStoreDep, request: Request) -> MessagePublic:
    """Delete a custom model (default models are read-only: 409) and its captured clips."""
    models.delete(model_id)
    captures = getattr(request.app.state, "captures", None)
    if captures is not None:  # a later model with this id must not inherit them
        captures.delete_all(model_id)
    return MessagePublic(message="Model deleted successfully")

"""The task functions workers run: train a model, build the negative feature cache.

Each takes a :class:`~wakebuilder.jobs.worker.JobContext` and returns a JSON-able result.
Heavy imports happen inside the functions, in the worker process only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wakebuilder.jobs.worker import JobContext

TRAIN_RUNNER = "wakebuilder.jobs.tasks:train"
CACHE_RUNNER = "wakebuilder.jobs.tasks:build_cache"
IMPROVE_RUNNER = "wakebuilder.jobs.tasks:improve"
CACHE_PHASE = "Building negative cache"


def train(ctx: JobContext) -> dict[str, Any]:
    """Run the training pipeline on the job's stored config and recordings."""
    from wakebuilder.layout import DataLayout
    from wakebuilder.pipeline.request import TrainRequest
    from wakebuilder.pipeline.run import run_training
    from wakebuilder.training.config import TrainConfig

    job = ctx.job
    layout = DataLayout(ctx.data_dir, default_models_dir=ctx.default_models_dir)
    recordings = [ctx.data_dir / rel for rel in job.inputs.get("recordings", [])]
    request = TrainRequest(wake_word=job.wake_word or "", recordings=recordings,
                           config=TrainConfig.model_validate(job.config), job_id=job.id)
    result = run_training(request, layout, progress=ctx.progress_event,
                          should_cancel=ctx.should_cancel, threads=ctx.threads)
    manifest = result.manifest
    return {"model_id": result.model_id, "threshold": manifest.threshold,
            "metrics": manifest.metrics.model_dump(mode="json"), "data_stats": manifest.data_stats}


def improve(ctx: JobContext) -> dict[str, Any]:
    """Fine-tune a model with the labelled clips the job snapshotted at creation."""
    from wakebuilder.improve.options import ImproveOptions
    from wakebuilder.improve.run import ImproveRequest, run_improve
    from wakebuilder.layout import DataLayout
    from wakebuilder.modelstore.store import ModelStore

    job = ctx.job
    layout = DataLayout(ctx.data_dir, default_models_dir=ctx.default_models_dir)
    store = ModelStore(layout.models_dir, layout.default_models_dir)
    inputs = job.inputs

    def paths(key: str) -> list[Path]:
        return [ctx.data_dir / rel for rel in inputs.get(key, [])]

    request = ImproveRequest(model_dir=store.path(str(inputs["model_id"])),
                             negatives=paths("negatives"), positives=paths("positives"),
                             recordings=[p for p in paths("recordings") if p.is_file()],
                             options=ImproveOptions.model_validate(job.config), job_id=job.id)
    result = run_improve(request, layout, progress=ctx.progress_event,
                         should_cancel=ctx.should_cancel, threads=ctx.threads)
    manifest = result.manifest
    return {"model_id": result.model_id, "threshold": manifest.threshold,
            "improved_from": inputs["model_id"], "improvement": result.improvement,
            "metrics": manifest.metrics.model_dump(mode="json")}


def build_cache(ctx: JobContext) -> dict[str, Any]:
    """Build (or extend) the negative feature cache."""
    from wakebuilder.layout import DataLayout
    from wakebuilder.negstore.progressive import build_with_status

    max_workers = int(ctx.job.config.get("max_workers", 4))

    def progress(fraction: float, message: str) -> None:
        ctx.report(phase=CACHE_PHASE, progress=100.0 * fraction, message=message)

    stats = build_with_status(DataLayout(Path(ctx.data_dir)),
                              max_workers=max_workers, progress=progress,
                              should_cancel=ctx.should_cancel,
                              generated=bool(ctx.job.config.get("generated", True)))
    return {"cache": stats}

"""The task functions, run in-process with the real store and a fake backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wakebuilder.jobs import tasks
from wakebuilder.jobs.store import JobStore
from wakebuilder.jobs.worker import JobContext, WorkerSpec
from wakebuilder.negstore import progressive
from wakebuilder.training.progress import ProgressEvent


def _ctx(tmp_path: Path, kind: str, **job: Any) -> JobContext:
    store = JobStore(tmp_path / "jobs.db")
    record = store.create(kind=kind, **job)
    store.claim(record.id)
    spec = WorkerSpec(job_id=record.id, db_path=store.path, data_dir=tmp_path,
                      default_models_dir=None, runner="")
    return JobContext(spec, store, store.get(record.id))


def test_build_cache_reports_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_build(paths: Any, *, max_workers: int, progress: Any, should_cancel: Any,
                   generated: bool) -> dict[str, Any]:
        seen.update(paths=paths, max_workers=max_workers, cancel=should_cancel(),
                    generated=generated)
        progress(0.5, "half way")
        return {"files": 3}

    # the cache task builds through build_with_status (which also writes BUILD_STATE.json)
    monkeypatch.setattr(progressive, "build_negative_cache", fake_build)
    ctx = _ctx(tmp_path, "cache", config={"max_workers": 3, "generated": False})
    assert tasks.build_cache(ctx) == {"cache": {"files": 3}}
    assert seen["max_workers"] == 3 and seen["cancel"] is False and seen["generated"] is False
    assert seen["paths"].cache_dir == tmp_path / "cache"
    job = ctx.store.get(ctx.job.id)
    assert job.progress == 50 and job.phase == tasks.CACHE_PHASE and job.message == "half way"


def test_train_passes_config_recordings_and_progress(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from wakebuilder.modelstore.metrics import HeldoutFalseAccepts, ModelMetrics
    from wakebuilder.pipeline import run as pipeline

    captured: dict[str, Any] = {}
    metrics = ModelMetrics(heldout=HeldoutFalseAccepts.measure(3, 10.0, in_sample=False))

    class Manifest:
        threshold = 0.6
        data_stats = {"recordings": 2}

    Manifest.metrics = metrics  # type: ignore[attr-defined]

    class Result:
        model_id = "computer"
        manifest = Manifest()

    def fake_run(request: Any, paths: Any, *, progress: Any, should_cancel: Any,
                 threads: int) -> Result:
        captured.update(request=request, paths=paths, threads=threads)
        progress(ProgressEvent(phase="Training classifier", progress=60, current_epoch=1,
                               total_epochs=3, metrics={"train_loss": 0.2}))
        return Result()

    monkeypatch.setattr(pipeline, "run_training", fake_run)
    ctx = _ctx(tmp_path, "train", wake_word="computer",
               config={"batch_size": 64, "num_epochs": 3},
               inputs={"recordings": ["uploads/j/rec1_a.wav", "uploads/j/rec2_b.wav"]})
    out = tasks.train(ctx)
    assert out["model_id"] == "computer"
    assert out["metrics"] == metrics.model_dump(mode="json")  # JSON for the job store
    assert out["metrics"]["heldout"]["fa_per_hour"] == 0.3
    request = captured["request"]
    assert request.wake_word == "computer" and request.job_id == ctx.job.id
    assert request.config.batch_size == 64 and request.config.num_epochs == 3
    assert request.recordings == [tmp_path / "uploads/j/rec1_a.wav",
                                  tmp_path / "uploads/j/rec2_b.wav"]
    assert captured["paths"].models_dir == tmp_path / "models"
    job = ctx.store.get(ctx.job.id)
    assert job.current_epoch == 1 and job.history == [{"epoch": 1, "train_loss": 0.2}]

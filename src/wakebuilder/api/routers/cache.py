"""Negative-cache endpoints: info, build (a background job), cancel, clear."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from wakebuilder.api.deps import DispatcherDep, JobStoreDep, SettingsDep
from wakebuilder.api.routers.training import CACHE_KIND, cancel_job
from wakebuilder.api.schemas import CacheBuildPublic, CacheInfoPublic, CancelPublic, MessagePublic
from wakebuilder.errors import ConflictError, EngineUnavailableError
from wakebuilder.jobs.store import ACTIVE, JobStore
from wakebuilder.settings import Settings

router = APIRouter(prefix="/api/cache", tags=["cache"])


def _paths(settings: Settings) -> Any:
    from wakebuilder.layout import DataLayout

    return DataLayout(settings.data_dir)


def _backend() -> Any:
    try:
        from wakebuilder.negstore import build as negatives
    except ImportError as exc:
        raise EngineUnavailableError("the negative feature store is not available",
                                     {"engine": "negative_cache"}) from exc
    return negatives


def _active_build(jobs: JobStore) -> dict[str, Any] | None:
    active = jobs.list(kind=CACHE_KIND, statuses=ACTIVE)
    if not active:
        return None
    job = active[0]
    return {"job_id": job.id, "status": job.status, "phase": job.phase,
            "progress": round(job.progress, 2), "message": job.message}


def _info(settings: Settings) -> dict[str, Any]:
    from wakebuilder.negstore.readiness import readiness

    paths = _paths(settings)
    info = dict(_backend().cache_info(paths))
    info["readiness"] = readiness(paths.negative_store_dir, by_kind=info.get("by_kind"))
    return info


@router.get("/info", response_model=CacheInfoPublic)
async def cache_info(settings: SettingsDep, jobs: JobStoreDep) -> CacheInfoPublic:
    """Whether the negative cache exists, its size, and any build in progress: ``state``,
    ``stage``, ``progress`` and ``eta_seconds`` of the build (a cache job, or ``wakebuilder
    cache prepare`` started by ``scripts/serve.sh``), ``hours_by_kind``, ``slice_ready`` (a
    useful first slice is committed), ``thin`` and a ``warning`` when training now would
    have too little natural speech."""
    info = await run_in_threadpool(_info, settings)
    build = _active_build(jobs)
    last = jobs.list(kind=CACHE_KIND)
    ready = info.get("readiness") or {}
    state = info.get("build_state") or {}
    return CacheInfoPublic(
        state=state.get("state"), stage=state.get("stage"), progress=state.get("progress"),
        eta_seconds=state.get("eta_s"), slice_ready=ready.get("slice_ready"),
        thin=ready.get("thin"), warning=ready.get("warning"),
        hours_by_kind=ready.get("hours_by_kind"), build_state=state or None,
        available=bool(info.get("available", False)),
        chunk_count=int(info.get("chunk_count", 0)),
        size_mb=float(info.get("size_mb", 0.0)), last_built=info.get("last_built"),
        hours=info.get("hours"), entries=info.get("entries"),
        hours_by_split=info.get("hours_by_split"),
        hours_by_split_kind=info.get("hours_by_split_kind"),
        heldout_sources=info.get("heldout_sources"),
        building=build is not None or bool(ready.get("building")),
        build_job=build or ({"job_id": last[0].id, "status": last[0].status,
                             "error": last[0].error} if last else None))


@router.post("/build", response_model=CacheBuildPublic)
def build_cache(jobs: JobStoreDep, dispatcher: DispatcherDep,
                max_workers: Annotated[int, Query(ge=1, le=64,
                                                  description="Parallel workers")] = 4,
                generated: Annotated[bool, Query(
                    description="Also add the generated corpus (TTS speech, noise, music) "
                    "when it is missing; false embeds only data/negative/")] = True,
                ) -> CacheBuildPublic:
    """Start building the negative cache in a worker process; ``GET /api/cache/info``
    reports its progress under ``build_job``. Cancel it with ``POST /api/cache/cancel`` (or
    ``POST /api/train/cancel/{job_id}``): entries committed so far stay, and the next build
    resumes from them."""
    if _active_build(jobs) is not None:
        raise ConflictError("A cache build is already running", {"build": _active_build(jobs)})
    job = jobs.create(kind=CACHE_KIND, config={"max_workers": max_workers,
                                               "generated": generated})
    dispatcher.wake()
    return CacheBuildPublic(message="Cache build started", job_id=job.id,
                            estimated_time="Several minutes (depends on system)")


@router.post("/cancel", response_model=CancelPublic)
def cancel_build(jobs: JobStoreDep, dispatcher: DispatcherDep) -> CancelPublic:
    """Cancel the running (or queued) cache build. The worker stops at its next check (a batch
    of files at most); entries committed before the cancel stay valid, the rest is discarded,
    and the next ``POST /api/cache/build`` resumes. 409 when no build is active."""
    active = jobs.list(kind=CACHE_KIND, statuses=ACTIVE)
    if not active:
        raise ConflictError("No cache build is running", {"build": None})
    return cancel_job(active[0], jobs, dispatcher)


@router.delete("", response_model=MessagePublic)
async def clear_cache(settings: SettingsDep, jobs: JobStoreDep) -> MessagePublic:
    """Remove every cached negative embedding (refused while a build runs)."""
    build = _active_build(jobs)
    if build is not None:
        raise ConflictError("A cache build is running: cancel it with POST /api/cache/cancel "
                            f"(or POST /api/train/cancel/{build['job_id']}) or wait for it "
                            "to finish, then clear the cache", {"build": build})
    await run_in_threadpool(_backend().clear_cache, _paths(settings))
    return MessagePublic(message="Cache cleared successfully")

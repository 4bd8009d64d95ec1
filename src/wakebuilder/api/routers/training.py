"""Training endpoints: start, status, download, list, cancel, delete."""

from __future__ import annotations

import shutil
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from wakebuilder.api.deps import DispatcherDep, JobStoreDep, ModelStoreDep, SettingsDep
from wakebuilder.api.forms import StrictFormRoute
from wakebuilder.api.schemas import (
    CancelPublic,
    JobCreated,
    JobList,
    JobStatusPublic,
    JobSummary,
    MessagePublic,
    quality_figures,
)
from wakebuilder.api.uploads import display_name, save_recordings, upload_file
from wakebuilder.audio.checks import RecordingReport, load_recording
from wakebuilder.errors import (
    ConflictError,
    InvalidAudioError,
    JobAlreadyActiveError,
    JobNotFoundError,
)
from wakebuilder.jobs.dispatcher import Dispatcher
from wakebuilder.jobs.store import COMPLETED, FINISHED, JobRecord, JobStore, check_job_id
from wakebuilder.modelstore.store import confined
from wakebuilder.training.config import TrainConfig
from wakebuilder.wakeword import parse_wake_word

router = APIRouter(prefix="/api/train", tags=["training"], route_class=StrictFormRoute)

TRAIN_KIND = "train"
CACHE_KIND = "cache"
IMPROVE_KIND = "improve"
LOG_LINES = 50


def format_elapsed(seconds: float) -> str:
    """``"5m 23s"`` style durations."""
    total = int(round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h {m}m {s}s"
    return f"{m}m {s}s" if m else f"{s}s"


def _train_job(jobs: JobStore, job_id: str) -> JobRecord:
    job = jobs.get(check_job_id(job_id))
    if job.kind not in (TRAIN_KIND, IMPROVE_KIND):  # an improve job trains a new version
        raise JobNotFoundError(job_id)
    return job


def _eta(job: JobRecord) -> float | None:
    """Seconds left, extrapolated from progress so far (None until 3 % is done)."""
    if job.status in FINISHED or job.progress < 3.0:
        return None
    return round(job.elapsed_s() * (100.0 - job.progress) / job.progress, 1)


def job_status(job: JobRecord, jobs: JobStore) -> JobStatusPublic:
    """The status document of a job."""
    metrics = {**job.metrics, **job.result.get("metrics", {})}
    reason = (job.error or {}).get("details", {}).get("reason") if job.error else None
    return JobStatusPublic(
        job_id=job.id, status=job.status, phase=job.phase, progress=round(job.progress, 2),
        current_epoch=job.current_epoch, total_epochs=job.total_epochs, metrics=metrics,
        data_stats=job.data_stats, elapsed_time=format_elapsed(job.elapsed_s()),
        elapsed_seconds=round(job.elapsed_s(), 2), eta_seconds=_eta(job),
        wake_word=job.wake_word, kind=job.kind,
        message=job.message, threshold=job.result.get("threshold"),
        **quality_figures(job.result.get("metrics")),
        model_id=job.model_id, error=job.error, reason=reason,
        cancel_requested=job.cancel_requested is not None,
        queue_position=jobs.queue_position(job.id) if job.status == "pending" else None,
        created_at=job.created_at, history=job.history, timings=job.timings,
        phase_seconds=job.timings,
        config=job.config, logs=jobs.events(job.id, limit=LOG_LINES))


@router.post("/start", response_model=JobCreated)
async def start_training(
    wake_word: Annotated[str, Form(min_length=1, max_length=200, description="Wake word text")],
    config: Annotated[TrainConfig, Form()],
    audio_files: Annotated[list[UploadFile], File(description="Voice recordings (1-5)")],
    settings: SettingsDep, jobs: JobStoreDep, dispatcher: DispatcherDep,
    wait_for_negatives: Annotated[bool | None, Form(
        description="Queue the job until the negative store has a useful first slice of real "
        "speech, music and effects. Default: wait when a negative build is running and that "
        "slice is not there yet; false trains at once on what is there")] = None,
) -> JobCreated:
    """Validate the wake word, options and every recording, then queue a training job.

    When the real negatives are missing or still being prepared, the answer carries a
    ``warning`` with the expected effect, and ``waiting_for_negatives`` says whether the job
    waits for the first slice (see ``wait_for_negatives``)."""
    word = parse_wake_word(wake_word)
    negatives = await run_in_threadpool(_negatives_now, settings)
    wait = (negatives["building"] and not negatives["slice_ready"]
            if wait_for_negatives is None else wait_for_negatives)
    job_id = jobs.new_id()
    target = confined(settings.uploads_dir, job_id)
    saved, reports = await run_in_threadpool(
        save_recordings, audio_files, target,
        max_file_bytes=int(settings.max_upload_file_mb * 1_000_000))
    inputs = {"recordings": [str(s.path.relative_to(settings.data_dir)) for s in saved],
              "files": [s.name for s in saved], "reports": reports,
              "wait_for_negatives": bool(wait), "negatives_warning": negatives["warning"]}
    try:
        job = jobs.create(kind=TRAIN_KIND, wake_word=word.text, config=config.model_dump(),
                          inputs=inputs, job_id=job_id)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    dispatcher.wake()
    return JobCreated(job_id=job.id, status=job.status, message="Training job created",
                      queue_position=jobs.queue_position(job.id), recordings=reports,
                      warning=negatives["warning"], waiting_for_negatives=bool(wait),
                      negatives={k: negatives[k] for k in (
                          "building", "slice_ready", "thin", "speech_hours", "hours_by_kind")})


def _negatives_now(settings: Any) -> dict[str, Any]:
    from wakebuilder.layout import DataLayout
    from wakebuilder.negstore.readiness import readiness

    return readiness(DataLayout(settings.data_dir).negative_store_dir)


class RecordingCheckPublic(BaseModel):
    """The verdict on one recording: ``ok``, or the ``reason`` ``/start`` would refuse it for."""

    ok: bool
    file: str
    reason: str | None = None
    message: str = ""
    report: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


def _check_file(fh: BinaryIO, name: str) -> RecordingReport:
    return load_recording(fh, name)[1]


@router.post("/check", response_model=RecordingCheckPublic)
async def check_recording_upload(
    audio: Annotated[UploadFile, File(description="One recording to check")],
    settings: SettingsDep,
) -> RecordingCheckPublic:
    """Run the checks ``/start`` applies to each recording (decoding, too long, silent,
    clipped, no speech, too short, too much speech) on one file, without starting a job. A
    recording that fails is answered with ``ok: false`` and ``reason``, not an error status.

    A file may hold up to 15 s of audio: it is trimmed to its speech (``report.trimmed_s`` of
    its ``report.duration_s`` are kept, from ``report.trim_start_s``) and refused as
    ``speech_too_long`` only when the speech itself lasts more than 5 s. Decoding is bounded:
    more than 8 channels (``too_many_channels``), a rate outside 4-192 kHz
    (``bad_sample_rate``) or more than 15 s (``too_long``) is refused from the header when it
    says so, and decoding stops after 15 s of audio when it lies; ``non_finite`` for NaN or
    infinite samples, ``undecodable`` for a file that is not audio."""
    name = display_name(audio, 0)
    max_bytes = int(settings.max_upload_file_mb * 1_000_000)
    try:
        fh = upload_file(audio, name, max_bytes)
        report = await run_in_threadpool(_check_file, fh, name)
    except InvalidAudioError as exc:
        return RecordingCheckPublic(ok=False, file=name, reason=exc.details.get("reason"),
                                    message=exc.message, details=exc.details)
    return RecordingCheckPublic(ok=True, file=name,
                                message=f"Recording looks good ({report.summary()})",
                                report=report.to_dict())


@router.get("/status/{job_id}", response_model=JobStatusPublic)
def training_status(job_id: str, jobs: JobStoreDep) -> JobStatusPublic:
    """Status, phase, progress, metrics and data stats of a job."""
    return job_status(_train_job(jobs, job_id), jobs)


@router.get("/download/{job_id}", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}})
def download_job_model(job_id: str, jobs: JobStoreDep, models: ModelStoreDep) -> Response:
    """The trained model of a completed job as a ZIP file."""
    job = _train_job(jobs, job_id)
    if job.status != COMPLETED or not job.model_id:
        raise ConflictError(f"Job {job_id!r} has no model (status: {job.status})",
                            {"job_id": job_id, "status": job.status})
    data = models.zip_bytes(job.model_id)
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{job.model_id}.zip"'})


@router.get("/jobs", response_model=JobList)
def list_jobs(jobs: JobStoreDep) -> JobList:
    """All training jobs, newest first."""
    items = [JobSummary(job_id=j.id, wake_word=j.wake_word, status=j.status,
                        created_at=j.created_at, phase=j.phase, progress=round(j.progress, 2),
                        model_id=j.model_id) for j in jobs.list(kind=TRAIN_KIND)]
    return JobList(jobs=items, total=len(items))


def cancel_job(job: JobRecord, jobs: JobStore, dispatcher: Dispatcher) -> CancelPublic:
    """Cancel a queued job at once, or flag a running one; 409 if it already finished."""
    if job.status in FINISHED:
        raise ConflictError(f"Job {job.id!r} already finished (status: {job.status})",
                            {"job_id": job.id, "status": job.status})
    job = jobs.request_cancel(job.id)
    dispatcher.wake()
    message = "Job cancelled" if job.status == "cancelled" else "Cancellation requested"
    return CancelPublic(job_id=job.id, status=job.status, message=message)


@router.post("/cancel/{job_id}", response_model=CancelPublic)
def cancel_training(job_id: str, jobs: JobStoreDep, dispatcher: DispatcherDep) -> CancelPublic:
    """Cancel a queued job at once, or stop a running one (cooperatively, then forced).

    Works for training jobs and for cache builds (the ``job_id`` of ``POST /api/cache/build``;
    a cancelled build keeps the entries it committed and the next build resumes from them)."""
    job = jobs.get(check_job_id(job_id))
    if job.kind not in (TRAIN_KIND, CACHE_KIND, IMPROVE_KIND):
        raise JobNotFoundError(job_id)
    return cancel_job(job, jobs, dispatcher)


@router.delete("/{job_id}", response_model=MessagePublic)
def delete_job(job_id: str, jobs: JobStoreDep, settings: SettingsDep) -> MessagePublic:
    """Delete a finished job (its model, if any, stays in the model store)."""
    job = _train_job(jobs, job_id)
    if job.active:
        raise JobAlreadyActiveError(f"Job {job_id!r} is still {job.status}; cancel it first",
                                    {"job_id": job_id, "status": job.status})
    jobs.delete(job.id)
    shutil.rmtree(confined(settings.uploads_dir, job.id), ignore_errors=True)
    return MessagePublic(message="Job deleted successfully")

"""Captured clips of a model (list, upload, download, label, delete) and ``improve``.

Clips come from live tests with capture on (``WS /api/test/ws/{id}?capture=1``, the Wyoming
server with ``--capture``) or are uploaded. Ids are validated (model ``[a-z0-9_]{1,64}``,
clip 16 hex digits) before any path is built; errors use the API's error format.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Body, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from wakebuilder.api.deps import DispatcherDep, JobStoreDep, ModelStoreDep, SettingsDep
from wakebuilder.api.forms import StrictFormRoute
from wakebuilder.api.schemas import JobCreated, MessagePublic
from wakebuilder.api.uploads import display_name, upload_file
from wakebuilder.audio.io import UPLOAD_LIMITS, decode_audio
from wakebuilder.capture.store import CaptureRecord, CaptureStore, check_clip_id, check_label
from wakebuilder.errors import (
    ConflictError,
    InvalidAudioError,
    InvalidInputError,
    JobNotFoundError,
)
from wakebuilder.improve.options import ImproveOptions, snapshot_clips
from wakebuilder.jobs.store import JobStore
from wakebuilder.modelstore.store import check_id, confined

router = APIRouter(prefix="/api/models", tags=["captures"], route_class=StrictFormRoute)

IMPROVE_KIND = "improve"
MAX_UPLOAD_SECONDS = 10.0


def _captures(request: Request) -> CaptureStore:
    return request.app.state.captures  # type: ignore[no-any-return]


class CapturePublic(CaptureRecord):
    """A captured clip and where to fetch its audio."""

    audio_url: str


class CaptureList(BaseModel):
    model_id: str
    captures: list[CapturePublic]
    total: int
    usage: dict[str, int] = Field(description="clips, bytes, max_clips, max_bytes")


class LabelRequest(BaseModel):
    label: Literal["false_wake", "wake_word"] | None = Field(
        description="'false_wake' (not my wake word), 'wake_word' (that was me) or null")


def _public(rec: CaptureRecord) -> CapturePublic:
    return CapturePublic(**rec.model_dump(),
                         audio_url=f"/api/models/{rec.model_id}/captures/{rec.id}/audio")


@router.get("/{model_id}/captures", response_model=CaptureList)
def list_captures(model_id: str, request: Request, models: ModelStoreDep,
                  label: Literal["false_wake", "wake_word", "unlabelled"] | None = None
                  ) -> CaptureList:
    """A model's captured clips, newest first (``label`` filters)."""
    models.get(check_id(model_id))
    store = _captures(request)
    every = store.list(model_id)  # one listing for the clips and the usage
    chosen = every if label is None else store.filter(every, label)
    items = [_public(r) for r in chosen]
    return CaptureList(model_id=model_id, captures=items, total=len(items),
                       usage=store.usage(model_id, every))


def _store_upload(store: CaptureStore, model_id: str, fh: BinaryIO, name: str,
                  label: str | None) -> CaptureRecord | None:
    limits = UPLOAD_LIMITS.with_max_seconds(MAX_UPLOAD_SECONDS)
    samples = decode_audio(fh, name, limits)
    if len(samples) == 0:
        raise InvalidAudioError(name, "empty", f"{name}: no audio in the file")
    return store.add(samples, model_id=model_id, kind="upload", score=0.0, threshold=0.0,
                     time_ms=0, peak_offset_ms=0, source="upload",
                     label=check_label(label))


@router.post("/{model_id}/captures", response_model=CapturePublic)
async def upload_capture(
    model_id: str, request: Request, models: ModelStoreDep, settings: SettingsDep,
    audio: Annotated[UploadFile, File(description="A clip (at most 10 s)")],
    label: Annotated[Literal["false_wake", "wake_word"] | None,
                     Form(description="false_wake or wake_word")] = None,
) -> CapturePublic:
    """Add a clip recorded elsewhere (WAV, FLAC, OGG, MP3 or WebM/Opus, at most 10 s),
    optionally labelled."""
    models.get(check_id(model_id))
    name = display_name(audio, 0)
    fh = upload_file(audio, name, int(settings.max_upload_file_mb * 1_000_000))
    rec = await run_in_threadpool(_store_upload, _captures(request), model_id, fh, name, label)
    if rec is None:
        raise ConflictError("This model's captures are full of labelled clips; delete some or "
                            "improve the model first", {"model_id": model_id,
                                                        "reason": "captures_full"})
    return _public(rec)


@router.get("/{model_id}/captures/{capture_id}/audio", response_class=FileResponse,
            responses={200: {"content": {"audio/wav": {}}}})
def capture_audio(model_id: str, capture_id: str, request: Request) -> FileResponse:
    """The clip as a 16 kHz mono 16-bit WAV."""
    path = _captures(request).wav_path(check_id(model_id), check_clip_id(capture_id))
    return FileResponse(path, media_type="audio/wav",
                        filename=f"{model_id}_{capture_id}.wav")


@router.post("/{model_id}/captures/{capture_id}/label", response_model=CapturePublic)
def label_capture(model_id: str, capture_id: str, request: Request,
                  body: Annotated[LabelRequest, Body()]) -> CapturePublic:
    """Label a clip ``false_wake`` ("not my wake word") or ``wake_word`` ("that was me"), or
    clear its label with null."""
    rec = _captures(request).set_label(check_id(model_id), check_clip_id(capture_id),
                                       body.label)
    return _public(rec)


@router.delete("/{model_id}/captures/{capture_id}", response_model=MessagePublic)
def delete_capture(model_id: str, capture_id: str, request: Request) -> MessagePublic:
    """Delete one clip."""
    _captures(request).delete(check_id(model_id), check_clip_id(capture_id))
    return MessagePublic(message="Capture deleted successfully")


@router.delete("/{model_id}/captures", response_model=MessagePublic)
def delete_captures(model_id: str, request: Request) -> MessagePublic:
    """Delete every clip of a model."""
    n = _captures(request).delete_all(check_id(model_id))
    return MessagePublic(message=f"{n} capture(s) deleted")


def _recordings_of(jobs: JobStore, job_id: str | None) -> list[str]:
    """The original recordings of the job that trained a model, when still stored."""
    if not job_id:
        return []
    try:
        job = jobs.get(job_id)
    except (JobNotFoundError, InvalidInputError):  # deleted: no recordings
        return []
    return [str(r) for r in job.inputs.get("recordings", [])]


@router.post("/{model_id}/improve", response_model=JobCreated)
def improve_model(model_id: str, request: Request, models: ModelStoreDep,
                  settings: SettingsDep, jobs: JobStoreDep, dispatcher: DispatcherDep,
                  options: Annotated[ImproveOptions | None, Body()] = None) -> JobCreated:
    """Fine-tune the model with its labelled clips, re-calibrate and publish a new version
    next to the old one (a job: follow it with ``GET /api/train/status/{job_id}``, cancel it
    with ``POST /api/train/cancel/{job_id}``). The result holds both versions' held-out
    figures; when FRR rose by more than ``max_frr_increase`` the job fails with
    ``details.reason`` ``frr_worse`` and publishes nothing, unless ``accept_worse_frr``."""
    manifest = models.get(check_id(model_id))
    store = _captures(request)
    labelled = [(store.wav_path(model_id, r.id), str(r.label))
                for r in store.list(model_id) if r.label is not None]
    if not labelled:
        raise ConflictError("No labelled clips: label captured clips 'not my wake word' or "
                            "'that was me' first", {"model_id": model_id,
                                                    "reason": "no_labelled_clips"})
    opts = options or ImproveOptions()
    job_id = jobs.new_id()
    target = confined(settings.uploads_dir, job_id)
    snap = snapshot_clips(labelled, target)
    rel: dict[str, Any] = {k: [str(Path(v).resolve().relative_to(settings.data_dir))
                               for v in vs] for k, vs in snap.items()}
    inputs = {"model_id": model_id, **rel,
              "recordings": _recordings_of(jobs, manifest.job_id)}
    try:
        job = jobs.create(kind=IMPROVE_KIND, wake_word=manifest.wake_word,
                          config=opts.model_dump(), inputs=inputs, job_id=job_id)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    dispatcher.wake()
    return JobCreated(job_id=job.id, status=job.status, message="Improve job created",
                      queue_position=jobs.queue_position(job.id))

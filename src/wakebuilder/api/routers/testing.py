"""Testing endpoints: score an uploaded file, and the inference device."""

from __future__ import annotations

from typing import Annotated, BinaryIO

from fastapi import APIRouter, File, Form, Request, UploadFile

from wakebuilder.api.deps import ModelStoreDep, SettingsDep
from wakebuilder.api.forms import StrictFormRoute
from wakebuilder.api.inference import FileScore, ModelCache, score_file
from wakebuilder.api.routers.health import (
    INFERENCE_DEVICE,
    cuda_available,
    onnxruntime_providers,
)
from wakebuilder.api.schemas import DevicePublic, DeviceRequest, ErrorPublic, FileTestPublic
from wakebuilder.api.uploads import display_name, upload_file
from wakebuilder.api.workpool import BoundedWorkPool
from wakebuilder.audio.io import UPLOAD_LIMITS, iter_audio
from wakebuilder.detection.model import INFERENCE_PROVIDERS
from wakebuilder.errors import InvalidInputError
from wakebuilder.modelstore.store import ModelStore, check_id
from wakebuilder.settings import Settings

router = APIRouter(prefix="/api/test", tags=["testing"], route_class=StrictFormRoute)


def _model_cache(request: Request) -> ModelCache:
    return request.app.state.model_cache  # type: ignore[no-any-return]


def _file_pool(request: Request, settings: Settings) -> BoundedWorkPool:
    pool: BoundedWorkPool | None = getattr(request.app.state, "file_test_pool", None)
    if pool is None:
        pool = BoundedWorkPool(settings.test_file_workers, settings.test_file_queue)
        request.app.state.file_test_pool = pool
    return pool


def _score_upload(models: ModelStore, cache: ModelCache, model_id: str, fh: BinaryIO,
                  name: str, max_seconds: float, threshold: float | None) -> FileScore:
    limits = UPLOAD_LIMITS.with_max_seconds(max_seconds)
    return score_file(models, cache, model_id, iter_audio(fh, name, limits),
                      threshold=threshold)


@router.post("/file", response_model=FileTestPublic, responses={503: {
    "description": "Every file-test worker is busy and the queue is full; try again",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}}}})
async def test_file(
    request: Request, models: ModelStoreDep, settings: SettingsDep,
    model_id: Annotated[str, Form(min_length=1, max_length=64, description="Model to test")],
    audio: Annotated[UploadFile, File(description="Audio file")],
    threshold: Annotated[float | None, Form(ge=0.0, le=1.0,
                                            description="Detection threshold")] = None,
) -> FileTestPublic:
    """Score a whole file with the shared streaming detector; list every detection.

    The file (at most ``max_upload_file_mb``; WAV, FLAC, OGG, MP3 or WebM/Opus; up to 8
    channels, 4-192 kHz) may hold at most ``test_file_max_seconds`` of audio (default 600 s):
    longer is refused with ``details.reason`` ``too_long_file``, from the header when it
    says so. It is decoded, mixed to mono, resampled and scored block by block (bounded
    memory) on a small pool (``test_file_workers`` at once, ``test_file_queue`` waiting, then
    503 ``engine_unavailable`` with ``details.reason`` ``busy``). A wake word in the first
    second is found: the detector's warm-up is fed silence before the file, as ``wakebuilder
    detect`` does."""
    check_id(model_id)
    name = display_name(audio, 0)
    fh = upload_file(audio, name, int(settings.max_upload_file_mb * 1_000_000))
    models.get(model_id)  # 404 before decoding
    result = await _file_pool(request, settings).run(
        _score_upload, models, _model_cache(request), model_id, fh, name,
        settings.test_file_max_seconds, threshold)
    return FileTestPublic(model_id=model_id, **vars(result))


def _device_public(message: str | None = None) -> DevicePublic:
    return DevicePublic(device=INFERENCE_DEVICE, cuda_available=cuda_available(), gpu_name=None,
                        message=message, runtime="onnxruntime",
                        providers=list(INFERENCE_PROVIDERS),
                        available_providers=list(onnxruntime_providers()))


@router.get("/device", response_model=DevicePublic)
def get_device() -> DevicePublic:
    """What inference really uses: onnxruntime on the CPU (``device`` is always ``cpu``).
    ``cuda_available`` says whether this onnxruntime build offers a CUDA execution provider;
    WakeBuilder does not use it (its heads and front end are small)."""
    return _device_public()


@router.post("/device", response_model=DevicePublic,
             responses={400: {"model": ErrorPublic,
                              "description": "cuda requested: inference runs on the CPU only"}})
def set_device(body: DeviceRequest) -> DevicePublic:
    """Choose the inference device. ``cpu`` and ``auto`` answer 200 with ``device`` ``cpu``;
    ``cuda`` is a 400 ``validation_error``: inference always runs on onnxruntime's CPU
    execution provider, whether or not a GPU is present."""
    if body.device == "cuda":
        where = ("this onnxruntime build offers CUDA, but WakeBuilder does not use it"
                 if cuda_available() else "this onnxruntime build has no CUDA provider")
        raise InvalidInputError(
            f"Inference runs on the CPU only (onnxruntime CPUExecutionProvider); {where}. "
            "Use device 'cpu' or 'auto'.",
            {"field": "device", "device": "cuda", "inference_device": INFERENCE_DEVICE,
             "cuda_available": cuda_available()})
    return _device_public("Inference runs on the CPU (onnxruntime CPUExecutionProvider)"
                          + (" ('auto' chose it)" if body.device == "auto" else ""))

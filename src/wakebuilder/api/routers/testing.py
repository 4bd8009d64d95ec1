"""Testing endpoints: score an uploaded file, and the inference device."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from wakebuilder.api.deps import ModelStoreDep, SettingsDep
from wakebuilder.api.inference import ModelCache, score_file
from wakebuilder.api.routers.health import cuda_info
from wakebuilder.api.schemas import DevicePublic, DeviceRequest, FileTestPublic
from wakebuilder.api.uploads import check_size, display_name
from wakebuilder.audio.io import decode_audio
from wakebuilder.errors import InvalidAudioError, InvalidInputError
from wakebuilder.modelstore.store import check_id

router = APIRouter(prefix="/api/test", tags=["testing"])


def _model_cache(request: Request) -> ModelCache:
    return request.app.state.model_cache  # type: ignore[no-any-return]


@router.post("/file", response_model=FileTestPublic)
async def test_file(
    request: Request, models: ModelStoreDep, settings: SettingsDep,
    model_id: Annotated[str, Form(min_length=1, max_length=64, description="Model to test")],
    audio: Annotated[UploadFile, File(description="Audio file")],
    threshold: Annotated[float | None, Form(ge=0.0, le=1.0,
                                            description="Detection threshold")] = None,
) -> FileTestPublic:
    """Score a whole file with the shared streaming detector; list every detection."""
    check_id(model_id)
    name = display_name(audio, 0)
    max_bytes = int(settings.max_upload_file_mb * 1_000_000)
    check_size(audio, name, max_bytes)
    data = await audio.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidAudioError(name, "too_large", f"{name}: larger than {max_bytes / 1e6:g} MB")
    models.get(model_id)  # 404 before decoding
    samples = await run_in_threadpool(decode_audio, data, name)
    result = await run_in_threadpool(score_file, models, _model_cache(request), model_id,
                                     samples, threshold=threshold)
    return FileTestPublic(model_id=model_id, **vars(result))


def _device_public(request: Request, message: str | None = None) -> DevicePublic:
    cuda, gpu = cuda_info()
    return DevicePublic(device=request.app.state.device, cuda_available=cuda, gpu_name=gpu,
                        message=message)


@router.get("/device", response_model=DevicePublic)
def get_device(request: Request) -> DevicePublic:
    """The inference device and whether CUDA is available."""
    return _device_public(request)


@router.post("/device", response_model=DevicePublic)
def set_device(body: DeviceRequest, request: Request) -> DevicePublic:
    """Choose the inference device (``cpu``, ``cuda`` or ``auto``)."""
    cuda, _ = cuda_info()
    device = ("cuda" if cuda else "cpu") if body.device == "auto" else body.device
    if device == "cuda" and not cuda:
        raise InvalidInputError("CUDA is not available on this machine",
                                {"field": "device", "device": "cuda"})
    request.app.state.device = device
    return _device_public(request, f"Device set to {device}")

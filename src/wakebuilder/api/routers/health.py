"""``GET /health`` and ``GET /api/info``."""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from importlib import metadata

from fastapi import APIRouter

from wakebuilder import __version__
from wakebuilder.api.schemas import HealthPublic, InfoPublic, SystemInfo
from wakebuilder.modelstore.manifest import utc_now

router = APIRouter(tags=["health"])


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


INFERENCE_DEVICE = "cpu"
"""Where detection runs: onnxruntime's CPU execution provider, always."""


@lru_cache(maxsize=1)
def onnxruntime_providers() -> tuple[str, ...]:
    """Execution providers this onnxruntime build offers (probed once per process)."""
    import onnxruntime as ort

    return tuple(ort.get_available_providers())


def cuda_available() -> bool:
    """Whether this onnxruntime build could run on CUDA (inference still uses the CPU)."""
    return "CUDAExecutionProvider" in onnxruntime_providers()


@router.get("/health", response_model=HealthPublic)
def health() -> HealthPublic:
    """Liveness check."""
    return HealthPublic(status="healthy", version=__version__, timestamp=utc_now())


@router.get("/api/info", response_model=InfoPublic)
def info() -> InfoPublic:
    """API and system information (real package versions and device)."""
    return InfoPublic(
        name="WakeBuilder API", version=__version__,
        description="Wake word training platform API", docs_url="/docs",
        system=SystemInfo(python_version=platform.python_version(),
                          torch_version=_version("torch"),
                          onnxruntime_version=_version("onnxruntime"),
                          cuda_available=cuda_available(), device=INFERENCE_DEVICE,
                          platform=platform.platform(),
                          cpu_count=os.cpu_count() or 1))

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


@lru_cache(maxsize=1)
def cuda_info() -> tuple[bool, str | None]:
    """(CUDA available, GPU name), probed once per process."""
    try:
        import torch
    except ImportError:
        return False, None
    if not torch.cuda.is_available():
        return False, None
    return True, torch.cuda.get_device_name(0)


@router.get("/health", response_model=HealthPublic)
def health() -> HealthPublic:
    """Liveness check."""
    return HealthPublic(status="healthy", version=__version__, timestamp=utc_now())


@router.get("/api/info", response_model=InfoPublic)
def info() -> InfoPublic:
    """API and system information (real package versions and device)."""
    cuda, _ = cuda_info()
    return InfoPublic(
        name="WakeBuilder API", version=__version__,
        description="Wake word training platform API", docs_url="/docs",
        system=SystemInfo(python_version=platform.python_version(),
                          torch_version=_version("torch"),
                          onnxruntime_version=_version("onnxruntime"), cuda_available=cuda,
                          device="cuda" if cuda else "cpu", platform=platform.platform(),
                          cpu_count=os.cpu_count() or 1))

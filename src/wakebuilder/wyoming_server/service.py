"""What every Wyoming connection shares: the store, loaded models, front end and threads.

Models load once per process through :class:`~wakebuilder.modelstore.loader.ModelCache` (keyed
by ONNX path and modification time) and the store is listed afresh for every ``describe`` and
``detect``, so a model trained or deleted while the server runs appears or disappears at once.
Blocking work (file reads, inference) runs on a small thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from wyoming.info import Info

from wakebuilder.capture.store import CaptureStore
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.model import WakeModel
from wakebuilder.errors import NotFoundError
from wakebuilder.features.frontend import FeatureFrontend, get_frontend
from wakebuilder.modelstore.loader import ModelCache
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.wyoming_server.info import build_info
from wakebuilder.wyoming_server.protocol import WyomingLimits

T = TypeVar("T")
Heads = list[tuple[str, WakeModel, DetectorConfig]]


class WakeService:
    """Shared by every connection of one server (thread pool, model cache, front end)."""

    def __init__(self, store: ModelStore, limits: WyomingLimits | None = None,
                 cache: ModelCache | None = None, *,
                 captures: CaptureStore | None = None) -> None:
        self.store = store
        self.captures = captures
        """Where detections are captured (None: capture is off, the default)."""
        self.limits = limits or WyomingLimits()
        self.cache = cache or ModelCache(size=64)
        self.connections = 0
        self._frontend: FeatureFrontend | None = None
        self._executor = ThreadPoolExecutor(max_workers=self.limits.threads,
                                            thread_name_prefix="wakebuilder-wyoming")

    @property
    def frontend(self) -> FeatureFrontend:
        if self._frontend is None:
            self._frontend = get_frontend()
        return self._frontend

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking ``fn(*args)`` on the shared threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor,
                                                                partial(fn, *args))

    def try_acquire(self) -> bool:
        """Take a connection slot (event-loop thread only); False when all are taken."""
        if self.connections >= self.limits.max_connections:
            return False
        self.connections += 1
        return True

    def release(self) -> None:
        self.connections = max(0, self.connections - 1)

    # -- blocking, for :meth:`run` -------------------------------------------------------------
    def info(self) -> Info:
        """The ``describe`` answer for the store as it is now."""
        return build_info(self.store.list())

    def model_ids(self) -> list[str]:
        return [m.id for m in self.store.list()]

    def check_names(self, names: list[str]) -> None:
        """Raise :class:`NotFoundError` naming the unknown models and the available ones."""
        ids = self.model_ids()
        unknown = [n for n in names if n not in ids]
        if unknown:
            raise NotFoundError(
                f"unknown wake word model(s): {', '.join(unknown)}; available: "
                f"{', '.join(ids) or 'none (train one first)'}",
                {"unknown": unknown, "available": ids})

    def open_heads(self, names: list[str] | None) -> Heads:
        """Loaded models (with their detector settings) for ``names``, or for every model."""
        ids = self.model_ids()
        if names:
            self.check_names(names)
            ids = list(dict.fromkeys(names))
        heads = []
        for model_id in ids:
            try:
                _, model, config = self.cache.open(self.store, model_id)
            except NotFoundError:
                if names:
                    raise
                continue  # deleted since it was listed
            heads.append((model_id, model, config))
        _ = self.frontend  # loads once, here off the event loop
        return heads

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

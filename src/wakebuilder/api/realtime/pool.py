"""The process-wide inference pool of the WebSocket: bounded threads, shared models, limits.

Models come from the app's :class:`~wakebuilder.api.inference.ModelCache` (loaded once per
process) and the feature front end from :func:`get_frontend`; a connection owns only its
:class:`AudioStream`. Each connection has at most one job on the pool at a time, so the pool's
FIFO queue serves connections in turn and a busy one cannot starve the others.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from wakebuilder.api.inference import ModelCache
from wakebuilder.api.realtime.stream import AudioStream
from wakebuilder.features.frontend import get_frontend
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.modelstore.store import ModelStore, check_id

T = TypeVar("T")


@dataclass(frozen=True)
class RealtimeLimits:
    """Limits that keep one connection from hurting the others (all audio time in seconds)."""

    max_connections: int = 64
    max_per_client: int = 8
    """Connections one client address may hold at a time."""
    idle_timeout_s: float = 15.0
    """A connection that sends no audio for this long is closed (0 turns the timeout off)."""
    evict_idle_s: float = 2.0
    """When every slot is taken, a newcomer evicts the connection that has sent no audio for
    longest, if that is at least this long (so idle sockets never lock streams out)."""
    control_rate: float = 20.0
    """Control messages (ping, config, reset, or any non-audio text) per second, sustained."""
    control_burst: int = 40
    """Control messages allowed at once before the rate applies."""
    threads: int = max(1, min(4, os.cpu_count() or 1))
    """Inference threads shared by every connection (each ONNX session uses one core)."""
    max_chunk_s: float = 2.0
    """Most audio one message may carry."""
    queue_s: float = 4.0
    """Most audio a connection may have waiting for inference; more is dropped."""
    batch_s: float = 1.0
    """Most queued audio one inference job takes (keeps turns short and fair)."""
    flood_close_s: float = 10.0
    """Dropped audio, draining at one second per second, at which the connection is closed."""
    max_pending_controls: int = 32
    score_interval_ms: int = 100
    warning_interval_s: float = 1.0

    @property
    def max_chunk_bytes(self) -> int:
        from wakebuilder.api.realtime.protocol import BYTES_PER_SAMPLE, MAX_SAMPLE_RATE

        return int(self.max_chunk_s * MAX_SAMPLE_RATE) * BYTES_PER_SAMPLE

    @property
    def max_message_bytes(self) -> int:
        """The largest message the protocol needs (an ``audio`` text frame of a full chunk)."""
        from wakebuilder.api.realtime.protocol import max_message_bytes

        return max_message_bytes(self.max_chunk_bytes)


class Slot(Protocol):
    """What the pool needs of a connection to evict it."""

    def idle_s(self) -> float:
        """Seconds since the connection last sent audio."""

    def evict(self) -> None:
        """Close the connection (from another task); the pool has taken its slot back."""


class InferencePool:
    """Shared threads and models for every WebSocket connection of one app."""

    def __init__(self, store: ModelStore, cache: ModelCache, limits: RealtimeLimits) -> None:
        self.store = store
        self.cache = cache
        self.limits = limits
        self.connections = 0
        self.per_client: dict[str, int] = {}
        self.holders: dict[Slot, str] = {}
        self._executor = ThreadPoolExecutor(max_workers=limits.threads,
                                            thread_name_prefix="wakebuilder-ws")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking ``fn(*args)`` on the pool."""
        return await asyncio.get_running_loop().run_in_executor(self._executor,
                                                                partial(fn, *args))

    def try_acquire(self, client: str = "", holder: Slot | None = None) -> str | None:
        """Take a slot for ``client`` (its address; event-loop thread only).

        When every slot is taken, the holder idle longest (at least ``evict_idle_s``) is
        evicted for the newcomer. Returns None on success, else why not:
        ``too_many_from_address`` (this address holds ``max_per_client``) or
        ``too_many_connections`` (every slot is taken by a connection that streams).
        """
        if self.per_client.get(client, 0) >= self.limits.max_per_client:
            return "too_many_from_address"
        if self.connections >= self.limits.max_connections:
            idle = max(self.holders, key=lambda h: h.idle_s(), default=None)
            if idle is None or idle.idle_s() < self.limits.evict_idle_s:
                return "too_many_connections"
            self.release(self.holders[idle], idle)
            idle.evict()
        self.connections += 1
        self.per_client[client] = self.per_client.get(client, 0) + 1
        if holder is not None:
            self.holders[holder] = client
        return None

    def release(self, client: str = "", holder: Slot | None = None) -> None:
        """Give back a slot taken by :meth:`try_acquire`."""
        if holder is not None and self.holders.pop(holder, None) is None:
            return  # already taken back (evicted)
        self.connections = max(0, self.connections - 1)
        left = self.per_client.pop(client, 0) - 1
        if left > 0:
            self.per_client[client] = left

    def _open(self, model_id: str, threshold: float | None) -> tuple[ModelManifest, AudioStream]:
        check_id(model_id)
        manifest, model, config = self.cache.open(self.store, model_id, threshold)
        return manifest, AudioStream(model, config, get_frontend())

    async def open_stream(self, model_id: str, *,
                          threshold: float | None = None) -> tuple[ModelManifest, AudioStream]:
        """Validate the id, load (or reuse) the model and make a fresh stream for it."""
        return await self.run(self._open, model_id, threshold)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def limits_from(settings: Any) -> RealtimeLimits:
    """The limits named in the app's settings (``ws_*``), defaults for the rest."""
    return RealtimeLimits(max_connections=settings.ws_max_connections,
                          max_per_client=settings.ws_max_per_client,
                          idle_timeout_s=settings.ws_idle_timeout_s,
                          evict_idle_s=min(2.0, settings.ws_idle_timeout_s or 2.0),
                          control_rate=settings.ws_control_rate)


def get_pool(state: Any, *, limits: RealtimeLimits | None = None) -> InferencePool:
    """The app's pool (``app.state.realtime_pool``), created on first use."""
    pool: InferencePool | None = getattr(state, "realtime_pool", None)
    if pool is None:
        if limits is None:
            settings = getattr(state, "settings", None)
            limits = limits_from(settings) if settings is not None else RealtimeLimits()
        pool = InferencePool(state.models, state.model_cache, limits)
        state.realtime_pool = pool
    return pool

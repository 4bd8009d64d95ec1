"""A small bounded pool for whole-file audio work (decode and score) off the event loop.

At most ``workers`` jobs run at once, each on its own thread, and at most ``queue`` wait;
a request beyond that is answered 503 at once, so N concurrent uploads cannot multiply the
server's memory or CPU. A slot is freed when the work itself ends, not when the client
gives up, so an abandoned request still counts until its thread is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from wakebuilder.errors import EngineUnavailableError

T = TypeVar("T")


class BoundedWorkPool:
    """``await pool.run(fn, *args)``: ``fn`` on one of ``workers`` threads, or 503 busy."""

    def __init__(self, workers: int, queue: int, name: str = "file test") -> None:
        self.workers = workers
        self.queue = queue
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="wakebuilder-file")
        self._slots: asyncio.Semaphore | None = None
        self.running = 0
        self.waiting = 0

    def _busy(self) -> EngineUnavailableError:
        return EngineUnavailableError(
            f"The {self.name} is busy ({self.running} running, {self.waiting} waiting); try "
            "again in a few seconds", {"reason": "busy", "running": self.running,
                                       "waiting": self.waiting, "workers": self.workers,
                                       "queue": self.queue})

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking ``fn(*args)`` on the pool (event-loop thread only)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        slots = self._slots
        if slots.locked():
            if self.waiting >= self.queue:
                raise self._busy()
            self.waiting += 1
            try:
                await slots.acquire()
            finally:
                self.waiting -= 1
        else:
            await slots.acquire()
        loop = asyncio.get_running_loop()
        self.running += 1

        def work() -> T:
            try:
                return fn(*args)
            finally:
                loop.call_soon_threadsafe(self._done, slots)

        try:
            future = loop.run_in_executor(self._executor, work)
        except RuntimeError:  # executor shut down: the work will never run
            self._done(slots)
            raise
        return await future

    def _done(self, slots: asyncio.Semaphore) -> None:
        self.running -= 1
        slots.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

"""Training the heads of an ensemble side by side: one forked process per head, one torch
thread each.

A head's training step is small (a batch of 32 windows), so a second intra-op thread gains
almost nothing on it, while two heads in two processes keep both cores busy. A child trains
with one thread, exactly as a serial one-thread run of the same stage does, so a head's
weights are the same bit for bit whichever way the heads ran (the job's other steps, mining
for one, run on the job's threads, so a whole job with 2 threads can differ slightly from one
with 1). Children are forked (they inherit the training
windows and the negative store's memory map without copying), report every epoch to the
parent through a queue, and exit when the parent dies; the parent polls for cancellation and
terminates them when asked.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch

from wakebuilder.errors import CancelledError, TrainingError
from wakebuilder.processes import exit_with_parent

T = TypeVar("T")
Send = Callable[[Any], None]
Task = Callable[[Send], T]
"""A unit of work run in a child: it may call ``send(message)`` any number of times and
returns its (picklable) result."""

POLL_S = 0.2


def _child(index: int, task: Task[Any], out: Any, parent: int) -> None:
    exit_with_parent(parent, interval=0.5)
    torch.set_num_threads(1)
    try:
        result = task(lambda message: out.put(("message", index, message)))
        out.put(("done", index, result))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        out.put(("error", index, traceback.format_exc(limit=8)))
    finally:
        out.close()
        out.join_thread()


def run_in_processes(tasks: Sequence[Task[T]], *, workers: int,
                     on_message: Callable[[int, Any], None] | None = None,
                     should_cancel: Callable[[], bool] | None = None) -> list[T]:
    """Run ``tasks`` in forked children, at most ``workers`` at a time, and return their
    results in task order. ``on_message(i, message)`` sees each message of task ``i`` in the
    parent as it arrives. Raises :class:`CancelledError` (children terminated) when
    ``should_cancel()`` turns true, :class:`TrainingError` when a task fails or a child dies."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    parent = os.getpid()
    results: dict[int, T] = {}
    running: dict[int, Any] = {}
    waiting = list(range(len(tasks)))
    try:
        while waiting or running:
            while waiting and len(running) < max(1, workers):
                i = waiting.pop(0)
                proc = ctx.Process(target=_child, args=(i, tasks[i], out, parent),
                                   name=f"wakebuilder-head-{i}", daemon=True)
                proc.start()
                running[i] = proc
            if should_cancel is not None and should_cancel():
                raise CancelledError("training cancelled")
            try:
                kind, i, payload = out.get(timeout=POLL_S)
            except queue_mod.Empty:
                kind, i, payload = "idle", -1, None
            if kind == "idle":
                for j, proc in running.items():
                    if not proc.is_alive() and proc.exitcode not in (0, None):
                        raise TrainingError(f"training process of head {j + 1} died "
                                            f"(exit code {proc.exitcode})",
                                            {"head": j, "exit_code": proc.exitcode})
                continue
            if kind == "message":
                if on_message is not None:
                    on_message(i, payload)
            elif kind == "done":
                results[i] = payload
                running.pop(i).join()
            else:
                raise TrainingError(f"training head {i + 1} failed:\n{payload}", {"head": i})
    finally:
        for proc in running.values():
            proc.terminate()
        for proc in running.values():
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        out.close()
        out.cancel_join_thread()
    return [results[i] for i in range(len(tasks))]

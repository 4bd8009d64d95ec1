"""Where a negative-store build stands, in ``BUILD_STATE.json`` beside the store.

A build (the CLI's ``cache build``/``cache prepare``, or a cache job) writes it as it goes;
readers (``GET /api/cache/info``, ``wakebuilder cache info``, a training job waiting for a
first slice) only read it. A ``building`` state whose process is gone reads as
``interrupted``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wakebuilder.errors import CancelledError

STATE_NAME = "BUILD_STATE.json"
BUILDING, READY, FAILED, CANCELLED, INTERRUPTED = (
    "building", "ready", "failed", "cancelled", "interrupted")
USEFUL_SPEECH_HOURS = 0.25
"""Natural speech below this many hours makes a model's negatives "thin"."""
WRITE_EVERY_S = 1.0
"""Progress updates are written at most this often (stage changes at once)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(root: Path) -> dict[str, Any] | None:
    """The last written state of a build of the store at ``root`` (None when none ran)."""
    try:
        data = json.loads((Path(root) / STATE_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    if data.get("state") == BUILDING and isinstance(pid, int) and not _alive(pid):
        data["state"] = INTERRUPTED
        data["message"] = ("The build stopped before it finished (its process is gone); "
                           "rerun `wakebuilder cache prepare` or POST /api/cache/build: "
                           "it resumes from what was committed.")
        data["eta_s"] = None
    return data


def is_building(status: dict[str, Any] | None) -> bool:
    """True while a build process is running."""
    return status is not None and status.get("state") == BUILDING


class StatusWriter:
    """Writes ``BUILD_STATE.json`` atomically; keeps per-stage timing for the ETA."""

    def __init__(self, root: Path, **initial: Any) -> None:
        self.root = Path(root)
        self._data: dict[str, Any] = {
            "state": BUILDING, "stage": "starting", "progress": 0.0, "eta_s": None,
            "slice_ready": False, "slice_hours_by_kind": {}, "missing_sources": {},
            "message": "", "started_at": _now(), "pid": os.getpid(), **initial}
        self._stage_t0 = time.monotonic()
        self._written = 0.0
        self._write()

    def _write(self) -> None:
        self._written = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        self._data["updated_at"] = _now()
        tmp = self.root / f".{STATE_NAME}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(self._data, indent=2), encoding="utf-8")
        os.replace(tmp, self.root / STATE_NAME)

    @property
    def data(self) -> dict[str, Any]:
        return dict(self._data)

    def stage(self, name: str, progress: float | None = None, message: str = "") -> None:
        """Enter a stage (resets the stage clock used for the ETA)."""
        self._stage_t0 = time.monotonic()
        self._data.update(stage=name, message=message or name, eta_s=None)
        if progress is not None:
            self._data["progress"] = round(progress, 4)
        self._write()

    def progress(self, overall: float, stage_fraction: float | None, message: str,
                 *, stage_weight: float = 1.0, tail_s: float = 0.0) -> None:
        """Update progress; the ETA extrapolates the current stage, plus ``tail_s``."""
        self._data.update(progress=round(max(self._data["progress"], overall), 4),
                          message=message)
        if stage_fraction is not None and stage_fraction >= 0.03:
            spent = time.monotonic() - self._stage_t0
            self._data["eta_s"] = round(spent * (1 - stage_fraction) / stage_fraction
                                        + tail_s, 1)
        if time.monotonic() - self._written >= WRITE_EVERY_S:
            self._write()

    def update(self, **fields: Any) -> None:
        self._data.update(fields)
        self._write()

    def finish(self, state: str, message: str) -> None:
        self._data.update(state=state, message=message, eta_s=None, finished_at=_now())
        if state == READY:
            self._data["progress"] = 1.0
            self._data["stage"] = "done"
        self._write()

    @contextmanager
    def failures_recorded(self) -> Iterator[StatusWriter]:
        """Inside: a cancel or an error finishes the state as cancelled or failed (with the
        error named), then propagates."""
        try:
            yield self
        except CancelledError:
            self.finish(CANCELLED, "build cancelled; what was committed stays, a rerun resumes")
            raise
        except BaseException as exc:
            self.finish(FAILED, f"build failed: {type(exc).__name__}: {exc}")
            raise

"""Captured clips on disk: ``<root>/<model_id>/<clip_id>.wav`` (16 kHz mono PCM16) and
``<clip_id>.json`` (:class:`CaptureRecord`), bounded in count and bytes per model.

When a new clip would pass a bound, unlabelled clips are dropped (near misses first, then
detections and misses, oldest first); labelled clips (the user's work) are never dropped to
make room: when only labelled clips are left the
new clip is not stored. Writes of one model's folder are serialised by a ``flock`` on its
``.lock`` file, so the API server and a Wyoming server can capture at the same time.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from wakebuilder.audio.format import SAMPLE_RATE, Samples
from wakebuilder.audio.io import decode_audio, write_wav
from wakebuilder.errors import InvalidInputError, NotFoundError
from wakebuilder.wakeword import is_valid_id

CaptureKind = Literal["detection", "near_miss", "missed", "upload"]
Label = Literal["false_wake", "wake_word"]
LABELS: tuple[str, ...] = ("false_wake", "wake_word")
_CLIP_ID = re.compile(r"^[0-9a-f]{16}$")
_lock = threading.Lock()


class CaptureLimits(BaseModel):
    """Bounds of one model's captures."""

    max_clips: int = Field(default=200, ge=1, le=100_000)
    max_bytes: int = Field(default=50_000_000, ge=10_000)
    max_clip_seconds: float = Field(default=10.0, gt=0, le=60.0)


class CaptureRecord(BaseModel):
    """The metadata of one captured clip."""

    id: str
    model_id: str
    model_created_at: str | None = Field(
        default=None, description="created_at of the model version that scored the audio")
    kind: CaptureKind
    label: Label | None = None
    score: float = Field(description="Highest raw score in the clip (the model's scale)")
    threshold: float
    time_ms: int = Field(description="Stream time of the detection / peak score")
    peak_offset_ms: int = Field(description="Where in the clip the detection / peak is")
    duration_s: float
    bytes: int = 0
    source: str = "websocket"
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).replace(
        microsecond=0).isoformat().replace("+00:00", "Z"))
    labelled_at: str | None = None


def check_clip_id(clip_id: str) -> str:
    """Validate a clip id (16 lower-case hex digits)."""
    if not _CLIP_ID.match(clip_id):
        raise InvalidInputError("invalid capture id: 16 characters of 0-9 and a-f",
                                {"capture_id": clip_id[:100]})
    return clip_id


def check_model_id(model_id: str) -> str:
    """Validate a model id (``[a-z0-9_]{1,64}``)."""
    if not is_valid_id(model_id):
        raise InvalidInputError("invalid model id: use 1-64 characters of a-z, 0-9 and _",
                                {"model_id": model_id[:100]})
    return model_id


def check_label(label: str | None) -> Label | None:
    """A label (``false_wake``, ``wake_word``) or None (unlabelled)."""
    if label is None or label in LABELS:
        return label  # type: ignore[return-value]
    raise InvalidInputError(f"label must be one of {', '.join(LABELS)} or null",
                            {"label": str(label)[:40], "allowed": list(LABELS)})


class CaptureNotFoundError(NotFoundError):
    """No clip has the requested id."""

    def __init__(self, model_id: str, clip_id: str) -> None:
        super().__init__(f"Capture {clip_id!r} of model {model_id!r} not found",
                         {"model_id": model_id, "capture_id": clip_id})


class CaptureStore:
    """Every model's captured clips under ``root``."""

    def __init__(self, root: Path, limits: CaptureLimits | None = None) -> None:
        self.root = root.resolve()
        self.limits = limits or CaptureLimits()

    def model_dir(self, model_id: str) -> Path:
        """The folder of a model's clips (not created)."""
        d = (self.root / check_model_id(model_id)).resolve()
        if d.parent != self.root:
            raise InvalidInputError("path escapes the data directory", {"model_id": model_id})
        return d

    def _paths(self, model_id: str, clip_id: str) -> tuple[Path, Path]:
        d = self.model_dir(model_id)
        check_clip_id(clip_id)
        return d / f"{clip_id}.wav", d / f"{clip_id}.json"

    @contextmanager
    def _locked(self, model_id: str) -> Iterator[Path]:
        d = self.model_dir(model_id)
        d.mkdir(parents=True, exist_ok=True)
        with _lock:
            fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield d
            finally:
                os.close(fd)

    # -- reading -----------------------------------------------------------------------------
    def list(self, model_id: str, label: str | None = None) -> list[CaptureRecord]:
        """A model's clips, newest first; ``label`` filters (``unlabelled`` for none)."""
        d = self.model_dir(model_id)
        if not d.is_dir():
            return []
        out = []
        for p in d.glob("*.json"):
            if not _CLIP_ID.match(p.stem) or not (d / f"{p.stem}.wav").is_file():
                continue
            try:
                rec = CaptureRecord.model_validate_json(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # a half-written or foreign file is not a clip
            out.append(rec)
        return self.filter(sorted(out, key=lambda r: (r.created_at, r.id), reverse=True),
                           label)

    @staticmethod
    def filter(records: Sequence[CaptureRecord], label: str | None) -> list[CaptureRecord]:
        """The records with ``label`` (``unlabelled`` for none; None keeps all)."""
        return [r for r in records if label is None or r.label == label
                or (label == "unlabelled" and r.label is None)]

    def get(self, model_id: str, clip_id: str) -> CaptureRecord:
        wav, meta = self._paths(model_id, clip_id)
        if not meta.is_file() or not wav.is_file():
            raise CaptureNotFoundError(model_id, clip_id)
        return CaptureRecord.model_validate_json(meta.read_text(encoding="utf-8"))

    def wav_path(self, model_id: str, clip_id: str) -> Path:
        """The WAV file of a clip (404 when missing)."""
        self.get(model_id, clip_id)
        return self._paths(model_id, clip_id)[0]

    def audio(self, model_id: str, clip_id: str) -> Samples:
        """A clip's samples (16 kHz mono float32)."""
        return decode_audio(self.wav_path(model_id, clip_id))

    def usage(self, model_id: str,
              records: Sequence[CaptureRecord] | None = None) -> dict[str, int]:
        """Clips and bytes a model's captures take, and the bounds (of ``records`` when given:
        one listing, so a clip written meanwhile cannot make the figures disagree)."""
        recs = self.list(model_id) if records is None else records
        return {"clips": len(recs), "bytes": sum(r.bytes for r in recs),
                "max_clips": self.limits.max_clips, "max_bytes": self.limits.max_bytes}

    def labelled_audio(self, model_id: str) -> tuple[list[Samples], list[Samples]]:
        """(false wakes, wake words): the samples of every labelled clip."""
        neg, pos = [], []
        for rec in self.list(model_id):
            if rec.label is not None:
                (neg if rec.label == "false_wake" else pos).append(self.audio(model_id, rec.id))
        return neg, pos

    # -- writing -----------------------------------------------------------------------------
    def add(self, samples: Samples, *, model_id: str, kind: CaptureKind, score: float,
            threshold: float, time_ms: int, peak_offset_ms: int, source: str = "websocket",
            model_created_at: str | None = None, label: Label | None = None
            ) -> CaptureRecord | None:
        """Store a clip; None when the bounds leave no room (only labelled clips are left)."""
        x = np.asarray(samples, np.float32).reshape(-1)
        x = x[:int(self.limits.max_clip_seconds * SAMPLE_RATE)]
        size = 44 + 2 * len(x)
        clip_id = uuid.uuid4().hex[:16]
        rec = CaptureRecord(id=clip_id, model_id=check_model_id(model_id),
                            model_created_at=model_created_at, kind=kind, label=label,
                            score=round(float(score), 6), threshold=round(float(threshold), 6),
                            time_ms=int(time_ms), peak_offset_ms=int(peak_offset_ms),
                            duration_s=round(len(x) / SAMPLE_RATE, 3), bytes=size,
                            source=source)
        with self._locked(model_id) as d:
            if not self._make_room(model_id, size):
                return None
            wav, meta = d / f"{clip_id}.wav", d / f"{clip_id}.json"
            write_wav(wav, x)
            tmp = meta.with_suffix(".json.tmp")
            tmp.write_text(rec.model_dump_json(), encoding="utf-8")
            tmp.replace(meta)  # a clip is listed only once both files are complete
        return rec

    def _make_room(self, model_id: str, size: int) -> bool:
        recs = sorted(self.list(model_id), key=lambda r: (r.created_at, r.id))
        count, total = len(recs), sum(r.bytes for r in recs)
        # near misses go before detections and misses, oldest first
        unlabelled = sorted((r for r in recs if r.label is None),
                            key=lambda r: (r.kind != "near_miss", r.created_at, r.id))
        for rec in unlabelled:
            if count + 1 <= self.limits.max_clips and total + size <= self.limits.max_bytes:
                break
            self._remove(model_id, rec.id)
            count, total = count - 1, total - rec.bytes
        return count + 1 <= self.limits.max_clips and total + size <= self.limits.max_bytes

    def set_label(self, model_id: str, clip_id: str, label: str | None) -> CaptureRecord:
        """Label a clip (``false_wake``, ``wake_word``) or clear its label (None)."""
        value = check_label(label)
        with self._locked(model_id):
            rec = self.get(model_id, clip_id)
            stamp = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
            rec = rec.model_copy(update={"label": value,
                                         "labelled_at": stamp if value else None})
            meta = self._paths(model_id, clip_id)[1]
            tmp = meta.with_suffix(".json.tmp")
            tmp.write_text(rec.model_dump_json(), encoding="utf-8")
            tmp.replace(meta)
        return rec

    def _remove(self, model_id: str, clip_id: str) -> None:
        for p in self._paths(model_id, clip_id):
            p.unlink(missing_ok=True)

    def delete(self, model_id: str, clip_id: str) -> None:
        """Delete one clip (404 when missing)."""
        with self._locked(model_id):
            self.get(model_id, clip_id)
            self._remove(model_id, clip_id)

    def delete_all(self, model_id: str) -> int:
        """Delete every clip of a model; returns how many there were."""
        d = self.model_dir(model_id)
        if not d.is_dir():
            return 0
        n = len(self.list(model_id))
        shutil.rmtree(d, ignore_errors=True)
        return n

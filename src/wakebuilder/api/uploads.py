"""Uploaded recordings: size limits, copying to disk in chunks, and validation."""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import UploadFile

from wakebuilder.audio.checks import load_recording
from wakebuilder.errors import InvalidAudioError, InvalidInputError
from wakebuilder.modelstore.store import confined

MIN_FILES, MAX_FILES = 1, 5
CHUNK_BYTES = 1 << 20
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SavedUpload:
    """One upload written to disk."""

    name: str
    """The client's file name (for messages)."""
    path: Path
    size: int


def display_name(upload: UploadFile, index: int) -> str:
    """The client's file name, shortened, or ``file<N>``."""
    name = Path(upload.filename or "").name.strip()
    return name[:120] or f"file{index + 1}"


def check_count(files: list[UploadFile]) -> None:
    if not MIN_FILES <= len(files) <= MAX_FILES:
        raise InvalidInputError(f"Upload {MIN_FILES} to {MAX_FILES} recordings "
                                f"(got {len(files)})",
                                {"field": "audio_files", "count": len(files),
                                 "min": MIN_FILES, "max": MAX_FILES})


def check_size(upload: UploadFile, name: str, max_bytes: int) -> None:
    """Refuse an upload over the per-file limit (its size is known once parsed)."""
    if upload.size is not None and upload.size > max_bytes:
        raise InvalidAudioError(name, "too_large",
                                f"{name}: larger than {max_bytes / 1e6:g} MB",
                                limit_mb=max_bytes / 1e6)


def upload_file(upload: UploadFile, name: str, max_bytes: int) -> BinaryIO:
    """The upload's (spooled) file, rewound, after refusing one that is empty or too large.

    Decoders read it in blocks from there: the upload is never copied into memory whole.
    """
    check_size(upload, name, max_bytes)
    fh = upload.file
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    if size > max_bytes:
        raise InvalidAudioError(name, "too_large", f"{name}: larger than {max_bytes / 1e6:g} MB",
                                limit_mb=max_bytes / 1e6)
    if size == 0:
        raise InvalidAudioError(name, "empty", f"{name}: the file is empty")
    return fh


def save_upload(upload: UploadFile, name: str, target_dir: Path, index: int, *,
                max_bytes: int) -> SavedUpload:
    """Copy an upload to ``target_dir`` in chunks, stopping at ``max_bytes``."""
    safe = _SAFE.sub("_", name)[-80:].lstrip(".") or "audio"
    dest = confined(target_dir, f"rec{index + 1}_{safe}")
    size = 0
    upload.file.seek(0)
    with dest.open("wb") as out:
        while chunk := upload.file.read(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                dest.unlink(missing_ok=True)
                raise InvalidAudioError(name, "too_large",
                                        f"{name}: larger than {max_bytes / 1e6:g} MB",
                                        limit_mb=max_bytes / 1e6)
            out.write(chunk)
    if size == 0:
        raise InvalidAudioError(name, "empty", f"{name}: the file is empty")
    return SavedUpload(name, dest, size)


def validate_recording(saved: SavedUpload) -> dict[str, Any]:
    """Decode, check and trim one saved recording; returns its report (raises naming the
    file)."""
    _, report = load_recording(saved.path, saved.name)
    return report.to_dict()


def save_recordings(files: list[UploadFile], target_dir: Path, *,
                    max_file_bytes: int) -> tuple[list[SavedUpload], list[dict[str, Any]]]:
    """Save and validate 1-5 recordings; on any error the directory is removed."""
    check_count(files)
    names = [display_name(f, i) for i, f in enumerate(files)]
    for upload, name in zip(files, names, strict=True):
        check_size(upload, name, max_file_bytes)
    target_dir.mkdir(parents=True, exist_ok=True)
    try:
        saved = [save_upload(f, n, target_dir, i, max_bytes=max_file_bytes)
                 for i, (f, n) in enumerate(zip(files, names, strict=True))]
        reports = [validate_recording(s) for s in saved]
    except BaseException:
        shutil.rmtree(target_dir, ignore_errors=True)
        raise
    return saved, reports

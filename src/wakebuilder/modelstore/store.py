"""Versioned model directories under the data directory, with path confinement.

Layout: ``<root>/<model_id>/{<model_id>.onnx, .pt, .json, report.md}``. A retrain of the same
wake word gets a new id (``hey_jarvis_v2``), never overwriting a model in place. Models are
written into a temporary directory and renamed into place, so no half-written model is ever
listed. Reserving an id (creating its staging directory) and publishing happen under an
exclusive ``flock`` on the models folder itself, so concurrent worker processes never pick the
same id.
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wakebuilder.errors import (
    ConflictError,
    InvalidInputError,
    ModelNotFoundError,
)
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.wakeword import is_valid_id

_TMP_PREFIX = ".tmp-"
_lock = threading.Lock()


def confined(root: Path, *parts: str) -> Path:
    """Resolve ``root / parts`` and refuse any result outside ``root``."""
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise InvalidInputError("path escapes the data directory", {"path": "/".join(parts)})
    return target


def check_id(model_id: str) -> str:
    """Validate a model id (``[a-z0-9_]{1,64}``)."""
    if not is_valid_id(model_id):
        raise InvalidInputError("invalid model id: use 1-64 characters of a-z, 0-9 and _",
                                {"model_id": model_id[:100]})
    return model_id


class ModelStore:
    """Custom models in ``root`` (read-write) and default models in ``default_root`` (read-only)."""

    def __init__(self, root: Path, default_root: Path | None = None) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.default_root = default_root.resolve() if default_root else None

    # -- reading -----------------------------------------------------------------------------
    def _dirs(self) -> Iterator[tuple[Path, str]]:
        for base, kind in ((self.root, "custom"), (self.default_root, "default")):
            if base is None or not base.is_dir():
                continue
            for d in sorted(base.iterdir()):
                if d.is_dir() and is_valid_id(d.name) and (d / f"{d.name}.json").is_file():
                    yield d, kind

    def list(self, kind: str = "all") -> list[ModelManifest]:
        """Manifests of every complete model, newest first; ``kind`` custom|default|all."""
        out = []
        for d, k in self._dirs():
            if kind in ("all", k):
                m = ModelManifest.model_validate_json((d / f"{d.name}.json").read_text())
                out.append(m.model_copy(update={"type": k, "id": d.name}))
        return sorted(out, key=lambda m: m.created_at, reverse=True)

    def path(self, model_id: str) -> Path:
        """Directory of a model (custom first, then default)."""
        check_id(model_id)
        for base in (self.root, self.default_root):
            if base is None:
                continue
            d = confined(base, model_id)
            if (d / f"{model_id}.json").is_file():
                return d
        raise ModelNotFoundError(model_id)

    def get(self, model_id: str) -> ModelManifest:
        d = self.path(model_id)
        m = ModelManifest.model_validate_json((d / f"{model_id}.json").read_text())
        kind = "default" if self.default_root and d.parent == self.default_root else "custom"
        return m.model_copy(update={"type": kind, "id": model_id})

    def onnx_path(self, model_id: str) -> Path:
        return self.path(model_id) / f"{model_id}.onnx"

    def zip_bytes(self, model_id: str) -> bytes:
        """A ZIP of the model directory's files."""
        d = self.path(model_id)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(d.iterdir()):
                if f.is_file():
                    zf.write(f, arcname=f.name)
        return buf.getvalue()

    # -- writing -----------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive across threads (``_lock``) and processes (``flock`` on the folder)."""
        with _lock:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the lock

    def new_id(self, slug: str) -> str:
        """A free model id for ``slug``: ``slug``, then ``slug_v2``, ``slug_v3``...

        Taken: every name in the models folder (complete or not), every default model, and
        every id reserved by a staging directory. Call it under :meth:`_locked` to reserve.
        """
        slug = check_id(slug[:56])
        taken = {p.name for p in self.root.iterdir()} | {d.name for d, _ in self._dirs()} | {
            p.name[len(_TMP_PREFIX):].split(".")[0] for p in self.root.glob(f"{_TMP_PREFIX}*")}
        if slug not in taken:
            return slug
        n = 2
        while f"{slug}_v{n}" in taken:
            n += 1
        return f"{slug}_v{n}"

    @contextmanager
    def staging(self, slug: str) -> Iterator[tuple[str, Path]]:
        """Reserve an id and a temporary directory; publish atomically on success.

        Yields ``(model_id, tmp_dir)``; write ``{model_id}.*`` files into ``tmp_dir``. If the
        block raises, the directory is removed and nothing is published.
        """
        with self._locked():
            model_id = self.new_id(slug)
            tmp = self.root / f"{_TMP_PREFIX}{model_id}.{os.getpid()}"
            tmp.mkdir()  # the reservation: other processes see it from now on
        try:
            yield model_id, tmp
            if not (tmp / f"{model_id}.json").is_file():
                raise ConflictError("model manifest was not written", {"model_id": model_id})
            with self._locked():
                final = confined(self.root, model_id)
                if final.exists():
                    raise ConflictError(f"model {model_id!r} already exists",
                                        {"model_id": model_id})
                tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def delete(self, model_id: str) -> None:
        """Delete a custom model; default models are read-only (409)."""
        d = self.path(model_id)
        if self.default_root is not None and d.parent == self.default_root:
            raise ConflictError("default models are read-only and cannot be deleted",
                                {"model_id": model_id})
        confined(self.root, model_id)
        shutil.rmtree(d)

    def clean_staging(self) -> int:
        """Remove leftovers of interrupted writes; returns how many were removed."""
        n = 0
        for p in self.root.glob(f"{_TMP_PREFIX}*"):
            shutil.rmtree(p, ignore_errors=True)
            n += 1
        return n

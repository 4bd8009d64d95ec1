"""List the negative audio under ``data/negative/`` and tell which source each file is from."""

from __future__ import annotations

import os
from pathlib import Path

NEGATIVE_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".mp3", ".webm", ".opus"})
"""Audio files the negative store consumes (case-insensitive)."""


def iter_negative_files(negative_dir: Path) -> list[Path]:
    """Every audio file under ``negative_dir``, recursively, sorted; hidden files and
    folders (such as an interrupted ``.<source>.partial`` extraction) are left out and never
    entered, and a folder that vanishes while it is listed (a fetch running alongside renames
    its ``.partial`` folder when done) is skipped, not an error. A missing folder gives an
    empty list."""
    root = Path(negative_dir)
    if not root.is_dir():
        return []
    files = []
    for folder, dirs, names in os.walk(root):  # os.walk skips folders it cannot list
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            path = Path(folder, name)
            if (not name.startswith(".") and path.suffix.lower() in NEGATIVE_SUFFIXES
                    and path.is_file()):
                files.append(path)
    return sorted(files)


def source_of(path: Path, negative_dir: Path | None = None) -> str:
    """Stable source id of a negative file, used to split train/calibration/eval by source.

    Relative to ``negative_dir`` (or the nearest ``negative`` folder above ``path``):
    ``corpus/<source>/...`` gives ``corpus/<source>``; any other file gives its top-level
    folder (``my-podcasts/a/b.wav`` -> ``my-podcasts``), or its stem when it lies directly in
    the folder (``noise.wav`` -> ``noise``).
    """
    path = Path(path)
    rel = _relative(path, negative_dir)
    parts = rel.parts
    if len(parts) >= 3 and parts[0] == "corpus":
        return f"corpus/{parts[1]}"
    if len(parts) >= 2:
        return parts[0]
    return rel.stem


def _relative(path: Path, negative_dir: Path | None) -> Path:
    if negative_dir is not None:
        try:
            return path.resolve().relative_to(Path(negative_dir).resolve())
        except ValueError:
            pass
    parts = path.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "negative":
            return Path(*parts[i + 1:])
    return Path(path.name)

"""Where the negative store and the audio it is built from live (a structural type, so any
layout object with these folders works, such as the pipeline's paths)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class NegativePaths(Protocol):
    """The folders the negative store reads and writes."""

    @property
    def cache_dir(self) -> Path:
        """The cache folder; the store lives in its ``negatives`` subfolder."""
        ...

    @property
    def negative_dir(self) -> Path:
        """``data/negative``: the real negative audio (corpus and user files)."""
        ...

    @property
    def voices_dir(self) -> Path:
        """TTS voices, for the generated corpus."""
        ...


def store_root(paths: NegativePaths) -> Path:
    """Directory of the negative store."""
    return Path(paths.cache_dir) / "negatives"

"""Where the negative store and the audio it is built from live: a structural type, so the
data layout (``wakebuilder.layout.DataLayout``, the one place naming the folders) is passed
as it is, without this package importing it."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class NegativePaths(Protocol):
    """The folders the negative store reads and writes."""

    @property
    def negative_store_dir(self) -> Path:
        """The negative store (``embeddings-*.f16``, ``index.json``)."""
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
    return Path(paths.negative_store_dir)

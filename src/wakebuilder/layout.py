"""The data directory layout: the one place that names the folders and files under
``WAKEBUILDER_DATA_DIR`` (the settings, the CLI, the job worker and the pipeline use it)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class DataLayout:
    """Where everything lives under one data directory::

        data/
          models/             published models, one folder each
          jobs.db             the job store (SQLite)
          uploads/            recordings of submitted jobs
          cache/negatives/    the negative store (embeddings, index.json)
          negative/           real negative audio (your files, and corpus/ below it)
          negative/corpus/    the fetched Debian corpus
          voices/             TTS voices
          logs/               log files
          captures/<model>/   clips captured while testing a model (WAV + JSON each)

    ``default_models_dir`` (read-only bundled models) and ``models_dir`` can be moved out of
    the tree (``wakebuilder train --out``) with :meth:`with_models_dir`.
    """

    data_dir: Path
    models_override: Path | None = None
    default_models_dir: Path | None = None

    @property
    def models_dir(self) -> Path:
        return self.models_override or self.data_dir / "models"

    @property
    def jobs_db(self) -> Path:
        return self.data_dir / "jobs.db"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def negative_store_dir(self) -> Path:
        return self.cache_dir / "negatives"

    @property
    def negative_dir(self) -> Path:
        return self.data_dir / "negative"

    @property
    def corpus_dir(self) -> Path:
        return self.negative_dir / "corpus"

    @property
    def voices_dir(self) -> Path:
        return self.data_dir / "voices"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def captures_dir(self) -> Path:
        return self.data_dir / "captures"

    def with_models_dir(self, models_dir: Path) -> DataLayout:
        """The same layout writing models to ``models_dir``."""
        return replace(self, models_override=models_dir)

    def with_default_models(self, default_models_dir: Path | None) -> DataLayout:
        """The same layout with bundled read-only models in ``default_models_dir``."""
        return replace(self, default_models_dir=default_models_dir)

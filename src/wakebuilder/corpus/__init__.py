"""Offline real-speech corpus for general negatives, built from Debian packages.

``fetch_corpus`` downloads the packages listed in :data:`SOURCES`, extracts their speech as
16 kHz FLAC under ``data/negative/corpus/<source>/`` with a ``MANIFEST.json`` and
``LICENSES.md``; ``iter_negative_files`` and ``source_of`` serve the negative store.
"""

from wakebuilder.corpus.fetch import fetch_corpus, load_source_record
from wakebuilder.corpus.local import iter_negative_files, source_of
from wakebuilder.corpus.model import (
    AptUnavailableError,
    CorpusManifest,
    CorpusProgress,
    CorpusSource,
    RawClip,
    SourceRecord,
)
from wakebuilder.corpus.sources import SOURCES, get_sources

__all__ = [
    "SOURCES",
    "AptUnavailableError",
    "CorpusManifest",
    "CorpusProgress",
    "CorpusSource",
    "RawClip",
    "SourceRecord",
    "fetch_corpus",
    "get_sources",
    "iter_negative_files",
    "load_source_record",
    "source_of",
]

"""Build the offline real-audio corpus (speech, music, effects) under ``data/negative/corpus``
from Debian packages."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from wakebuilder.audio.format import SAMPLE_RATE
from wakebuilder.audio.io import resample, write_wav
from wakebuilder.corpus import apt
from wakebuilder.corpus.filters import rejection_reason
from wakebuilder.corpus.licenses import write_licenses
from wakebuilder.corpus.model import CorpusManifest, CorpusProgress, CorpusSource, SourceRecord
from wakebuilder.corpus.order import fetch_order
from wakebuilder.corpus.reserved import check_corpus_packages
from wakebuilder.corpus.sources import SOURCES

log = logging.getLogger(__name__)

MANIFEST_NAME = "MANIFEST.json"
SOURCE_RECORD_NAME = "SOURCE.json"
"""Written last into ``dest/<source>/``: its presence marks the source complete."""
ProgressCallback = Callable[[CorpusProgress], None]
RETRY_DELAY_S = 5.0
_TRANSIENT = ("Failed to fetch", "Temporary failure", "Could not connect", "timed out",
              "Connection", "Hash Sum mismatch")


def _transient(exc: BaseException) -> bool:
    """A download failure worth one retry (network trouble, not a missing package)."""
    return isinstance(exc, subprocess.TimeoutExpired) or any(m in str(exc) for m in _TRANSIENT)


def _emit(progress: ProgressCallback | None, event: CorpusProgress) -> None:
    log.info("corpus %s: %s %s", event.source, event.stage, event.message)
    if progress is not None:
        progress(event)


def load_source_record(folder: Path) -> SourceRecord | None:
    """The record of a completely extracted source folder, or ``None`` if incomplete."""
    marker = folder / SOURCE_RECORD_NAME
    if not marker.is_file():
        return None
    try:
        return SourceRecord.from_dict(json.loads(marker.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        log.warning("ignoring unreadable %s (%s); the source will be rebuilt", marker, exc)
        return None


def extract_source(source: CorpusSource, packages: apt.PackageSet, out_dir: Path,
                   progress: ProgressCallback | None = None) -> SourceRecord:
    """Run ``source``'s extractor over an unpacked tree and write 16 kHz FLAC clips to
    ``out_dir``; returns the record (also saved as ``SOURCE.json`` and the copyright files)."""
    dropped: Counter[str] = Counter()
    seen: set[str] = set()
    clips, total = 0, 0
    for clip in source.extractor(packages.root):
        samples = resample(clip.samples, clip.sample_rate, SAMPLE_RATE)
        digest = hashlib.sha1(samples.tobytes()).hexdigest()
        if clip.samples.size == 0:
            reason: str | None = "empty_or_undecodable"
        elif digest in seen:
            reason = "duplicate"
        else:
            reason = rejection_reason(samples, source.kind)
        if reason is not None:
            dropped[reason] += 1
            continue
        seen.add(digest)
        write_wav(out_dir / f"{clip.name}.flac", samples, SAMPLE_RATE)
        clips += 1
        total += samples.size
        if clips % 500 == 0:
            _emit(progress, CorpusProgress(source.id, "extract", clips, f"{clips} clips"))
    if clips == 0:
        raise RuntimeError(f"no {source.kind} clip survived extraction (dropped: {dict(dropped)})")
    licence_dir = out_dir / "copyright"
    licence_dir.mkdir(parents=True, exist_ok=True)
    for package, text in packages.copyrights.items():
        (licence_dir / package).write_text(text, encoding="utf-8")
    record = SourceRecord(
        source=source.id, packages=dict(packages.versions), licence=source.licence,
        licence_summary=source.licence_summary, languages=list(source.languages),
        description=source.description, clips=clips, seconds=round(total / SAMPLE_RATE, 3),
        extracted_at=datetime.now(UTC).isoformat(timespec="seconds"), dropped=dict(dropped),
        kind=source.kind)
    (out_dir / SOURCE_RECORD_NAME).write_text(json.dumps(record.to_dict(), indent=2),
                                              encoding="utf-8")
    return record


def _fetch_one(source: CorpusSource, dest: Path, scratch: Path,
               downloader: apt.AptDownloader, progress: ProgressCallback | None) -> SourceRecord:
    work = scratch / source.id
    shutil.rmtree(work, ignore_errors=True)
    _emit(progress, CorpusProgress(source.id, "download", 0, " ".join(source.packages)))
    try:
        packages = apt.fetch_packages(list(source.packages), work, downloader)
    except (apt.AptError, subprocess.TimeoutExpired) as exc:
        if not _transient(exc):
            raise
        _emit(progress, CorpusProgress(source.id, "retry", 0, f"{exc}; retrying once"))
        time.sleep(RETRY_DELAY_S)
        shutil.rmtree(work, ignore_errors=True)
        packages = apt.fetch_packages(list(source.packages), work, downloader)
    partial = dest / f".{source.id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        record = extract_source(source, packages, partial, progress)
        final = dest / source.id
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return record


def _write_manifest(manifest: CorpusManifest) -> None:
    root = manifest.root
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        record = load_source_record(folder)
        if record is not None and record.source not in manifest.sources:
            manifest.sources[record.source] = record  # complete sources from earlier runs
    (root / MANIFEST_NAME).write_text(json.dumps(manifest.to_dict(), indent=2),
                                      encoding="utf-8")
    write_licenses(root, manifest)


def fetch_corpus(dest: Path, *, sources: list[str] | None = None,
                 progress: ProgressCallback | None = None, work_dir: Path | None = None,
                 registry: Mapping[str, CorpusSource] | None = None) -> CorpusManifest:
    """Download, extract and store the real-audio corpus as 16 kHz mono FLAC.

    Sources are fetched quick and diverse first (:func:`~wakebuilder.corpus.order.fetch_order`).
    Each source goes to ``dest/<source>/`` with a ``SOURCE.json`` written last; a source
    whose folder already has one is skipped (idempotent, so a rerun resumes). A failing source
    (download, after one retry on network errors, or extraction) is recorded in
    ``manifest.failures`` with the reason, logged at the end as missing, and does not stop the
    others. ``dest/MANIFEST.json``
    and ``dest/LICENSES.md`` are rewritten at the end. ``work_dir`` holds the downloaded
    ``.deb`` files temporarily (a temporary folder by default). Raises
    :class:`~wakebuilder.corpus.model.AptUnavailableError` when a source must be fetched and
    ``apt-get``/``dpkg`` are missing, and :class:`~wakebuilder.errors.InvalidInputError` before
    anything is fetched when a source names a reserved package (:mod:`.reserved`).
    """
    table = dict(registry) if registry is not None else SOURCES
    ids = fetch_order(list(table) if sources is None else list(sources))
    if unknown := [i for i in ids if i not in table]:
        raise KeyError(f"unknown corpus source(s) {unknown}; known: {sorted(table)}")
    check_corpus_packages([p for i in ids for p in table[i].packages])
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = CorpusManifest(root=dest)
    todo = []
    for source_id in ids:
        record = load_source_record(dest / source_id)
        if record is not None:
            manifest.sources[source_id] = record
            manifest.skipped.append(source_id)
            _emit(progress, CorpusProgress(source_id, "skipped", record.clips, "already complete"))
        else:
            todo.append(table[source_id])
    if todo:
        apt.require_apt()
    downloader = apt.AptDownloader()
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wakebuilder-corpus-", dir=work_dir) as scratch:
        for source in todo:
            try:
                record = _fetch_one(source, dest, Path(scratch), downloader, progress)
            except Exception as exc:  # noqa: BLE001 - any failure is reported per source
                reason = f"{type(exc).__name__}: {exc}"
                manifest.failures[source.id] = reason
                log.warning("corpus source %s failed: %s", source.id, reason)
                _emit(progress, CorpusProgress(source.id, "failed", 0, reason))
                continue
            manifest.sources[source.id] = record
            _emit(progress, CorpusProgress(source.id, "done", record.clips,
                                           f"{record.hours:.2f} h"))
    _write_manifest(manifest)
    if manifest.failures:
        log.warning("corpus incomplete: missing %s; rerun `wakebuilder corpus fetch` to retry "
                    "them (complete sources are skipped)",
                    ", ".join(f"{sid} ({why})" for sid, why in sorted(manifest.failures.items())))
    return manifest

"""Progressive first run: a small diverse slice of the negative store first, the rest after.

Order of work (each step commits to the store, so a training job started meanwhile uses what
is there at its start):

1. the generated corpus (needed by every job; a job would otherwise make it itself);
2. fetch the quick first-wave corpus sources (:mod:`wakebuilder.corpus.order`), then embed a
   slice of every source present: up to :data:`SLICE_SECONDS_PER_SOURCE` of files spread
   over each source. The state file then says ``slice_ready``;
3. the other sources, fetched while the files of every source already complete are
   embedded; then the full build (prune, mixtures) as ``cache build`` does.

Without a custom ``fetcher``, one spawned process fetches the first wave and then the rest
from the start, so downloads overlap the generated corpus and the embedding.

Progress, ETA and the hours by kind of the slice go to ``BUILD_STATE.json``
(:mod:`.status`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import soundfile as sf

from wakebuilder.corpus.local import iter_negative_files, source_of
from wakebuilder.errors import CancelledError
from wakebuilder.negstore.build import build_negative_cache
from wakebuilder.negstore.generated import add_generated
from wakebuilder.negstore.paths import NegativePaths, store_root
from wakebuilder.negstore.status import READY, StatusWriter
from wakebuilder.negstore.store import NegativeStore
from wakebuilder.processes import exit_with_parent

log = logging.getLogger(__name__)

SLICE_SECONDS_PER_SOURCE = 240.0
"""Audio of each source in the first slice (files spread over the whole source)."""
POLL_S = 5.0
Fetcher = Callable[[Path, list[str]], dict[str, str]]
"""``(corpus_dir, source ids) -> {source: failure reason}``."""


def _duration(path: Path) -> float:
    try:
        return float(sf.info(str(path)).duration)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return path.stat().st_size / 32_000.0  # about 16 kHz 16-bit


def _spread(n: int) -> list[int]:
    """Indices 0..n-1 in an order that covers the range evenly from the start."""
    golden = 0.6180339887498949
    return sorted(range(n), key=lambda i: (i * golden) % 1.0)


def pick_slice(files: Sequence[tuple[str, Path]],
               seconds_per_source: float | None = None) -> list[tuple[str, Path]]:
    """Up to ``seconds_per_source`` (default :data:`SLICE_SECONDS_PER_SOURCE`) of every
    source's files, spread over the source (sorted paths, so speakers, chapters and languages
    are all sampled)."""
    cap = SLICE_SECONDS_PER_SOURCE if seconds_per_source is None else seconds_per_source
    by_source: dict[str, list[Path]] = defaultdict(list)
    for source, path in files:
        by_source[source].append(path)
    per_source: list[list[tuple[str, Path]]] = []
    for source, paths in sorted(by_source.items()):
        paths = sorted(paths)
        picked: list[tuple[str, Path]] = []
        total = 0.0
        for i in _spread(len(paths)):
            if total >= cap:
                break
            picked.append((source, paths[i]))
            total += _duration(paths[i])
        per_source.append(picked)
    # Round-robin over sources, so what is committed first already holds every kind.
    out: list[tuple[str, Path]] = []
    for k in range(max((len(p) for p in per_source), default=0)):
        out.extend(p[k] for p in per_source if k < len(p))
    return out


def _files(root: Path) -> list[tuple[str, Path]]:
    return [(source_of(p, root), p) for p in iter_negative_files(root)]


def hours_by_kind(store: NegativeStore) -> dict[str, float]:
    """Hours of the store per kind (all splits)."""
    out: dict[str, float] = defaultdict(float)
    for e in store.entries():
        out[e.kind] += e.seconds / 3600
    return {k: round(h, 3) for k, h in sorted(out.items())}


def _default_fetch(corpus_dir: Path, ids: list[str]) -> dict[str, str]:
    from wakebuilder.corpus.fetch import fetch_corpus

    return dict(fetch_corpus(corpus_dir, sources=ids).failures)


def _fetch_process(corpus_dir: str, waves: list[list[str]], marker: str, parent: int) -> None:
    """Fetch each wave in turn; after wave k, write its failures to ``marker.format(k)``.
    Exits when ``parent`` (the build) is gone."""
    import json

    exit_with_parent(parent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    for k, ids in enumerate(waves):
        failures = _default_fetch(Path(corpus_dir), ids)
        tmp = Path(marker.format(k) + ".tmp")
        tmp.write_text(json.dumps(failures), encoding="utf-8")
        tmp.replace(marker.format(k))


def _wave_failures(marker: Path) -> dict[str, str] | None:
    """The failures a fetch wave recorded, or None while it runs."""
    import json

    try:
        return dict(json.loads(marker.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def _read_failures(corpus_dir: Path) -> dict[str, str]:
    import json

    try:
        data = json.loads((corpus_dir / "MANIFEST.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return dict(data.get("failures", {}))


def prepare_negatives(paths: NegativePaths, corpus_dir: Path, *, fetch: bool = True,
                      source_ids: Sequence[str] | None = None,
                      fetcher: Fetcher | None = None,
                      should_cancel: Callable[[], bool] | None = None,
                      progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """Run the progressive first-run build (see the module docstring); returns a summary.

    ``fetch=False`` only embeds what is under ``data/negative/`` (slice first, then all).
    ``fetcher`` replaces the Debian download (tests); with it, the rest is fetched in this
    process, else in a spawned one so embedding proceeds meanwhile.
    """
    from wakebuilder.corpus.order import fetch_order, first_wave
    from wakebuilder.corpus.sources import SOURCES

    cancel = should_cancel or (lambda: False)
    root = store_root(paths)
    status = StatusWriter(root)
    store = NegativeStore(root)
    t0 = time.monotonic()
    summary: dict[str, Any] = {}

    def note(overall: float, message: str, frac: float | None = None) -> None:
        status.progress(overall, frac, message)
        if progress is not None:
            progress(overall, message)

    ids = fetch_order(list(source_ids) if source_ids is not None else list(SOURCES))
    fetching = fetch and bool(ids)
    first = first_wave(ids) if fetching else []
    marker = str(root / ".fetch-wave-{}.json")
    proc = None
    try:
        with status.failures_recorded():
            if fetching and fetcher is None:
                # One fetch process, first wave then the rest, running while this process works.
                for k in (0, 1):
                    Path(marker.format(k)).unlink(missing_ok=True)
                proc = multiprocessing.get_context("spawn").Process(
                    target=_fetch_process,
                    args=(str(corpus_dir), [first, ids], marker, os.getpid()),
                    name="wakebuilder-corpus-fetch")
                proc.start()
            status.stage("generated corpus", 0.0)
            add_generated(store, paths, should_cancel=cancel,
                          progress=lambda f, m: note(0.05 * f, m, f))
            failures: dict[str, str] = {}
            if fetching:
                status.stage("fetching the first slice", 0.05,
                             f"downloading {len(first)} quick sources")
                if fetcher is not None:
                    failures.update(fetcher(corpus_dir, first))
                else:  # embed each source's slice as soon as the source is complete
                    failures.update(_wait_wave(
                        proc, Path(marker.format(0)), cancel,
                        lambda: store.build_from_files(pick_slice(_files(paths.negative_dir)),
                                                       root=paths.negative_dir,
                                                       should_cancel=cancel).added))
                status.update(missing_sources=dict(failures))
            status.stage("embedding the first slice", 0.2)
            sliced = pick_slice(_files(paths.negative_dir))
            report = store.build_from_files(
                sliced, root=paths.negative_dir, should_cancel=cancel,
                progress=lambda d, t, m: note(0.2 + 0.1 * d / max(t, 1), m, d / max(t, 1)))
            slice_hours = hours_by_kind(store)
            status.update(slice_ready=True, slice_hours_by_kind=slice_hours,
                          slice_ready_after_s=round(time.monotonic() - t0, 1))
            summary["slice"] = {"files": report.total, "added": report.added,
                                "hours_by_kind": slice_hours,
                                "after_s": round(time.monotonic() - t0, 1)}
            log.info("first slice ready after %.0f s: %s", time.monotonic() - t0, slice_hours)
            if fetching:
                status.stage("fetching and embedding the rest", 0.3,
                             f"downloading {len(ids)} sources (complete ones are skipped)")
                if fetcher is not None:
                    failures = dict(fetcher(corpus_dir, ids))
                else:
                    _embed_while_fetching(proc, paths, corpus_dir, ids, store, cancel, note)
                    rest = _wave_failures(Path(marker.format(1)))
                    failures = rest if rest is not None else {
                        **_read_failures(corpus_dir),
                        "fetch": f"the fetch process exited ({proc.exitcode if proc else None}) "
                                 "before it finished"}
                status.update(missing_sources=dict(failures))
            status.stage("embedding the full store", 0.6)
            # build_negative_cache reports 0.2 at once when the generated corpus is skipped
            full = build_negative_cache(paths, generated=False, should_cancel=cancel,
                                        progress=lambda f, m: note(0.6 + 0.4 * f, m,
                                                                   max(0.0, (f - 0.2) / 0.8)))
            summary["full"] = full
            summary["missing_sources"] = failures
            summary["elapsed_s"] = round(time.monotonic() - t0, 1)
            missing = (f"; missing sources (rerun to retry): {', '.join(sorted(failures))}"
                       if failures else "")
            status.update(full_ready_after_s=summary["elapsed_s"],
                          hours_by_kind=hours_by_kind(NegativeStore(root)))
            status.finish(READY, f"negative store ready{missing}")
            return summary
    finally:
        if proc is not None:
            if proc.is_alive():
                proc.terminate()
            proc.join()


def _wait_wave(proc: BaseProcess | None, marker: Path, cancel: Callable[[], bool],
               meanwhile: Callable[[], int]) -> dict[str, str]:
    """Until the fetch process finished a wave (or died), run ``meanwhile`` (returns how
    many files it embedded; none: wait a second); the wave's failures."""
    while True:
        done = _wave_failures(marker)
        if done is not None:
            return done
        if proc is None or not proc.is_alive():
            return {"fetch": f"the fetch process exited ({proc.exitcode if proc else None}) "
                    "before the first wave was complete"}
        if cancel():
            raise CancelledError("negative store build cancelled")
        if meanwhile() == 0:
            proc.join(1.0)


def _embed_while_fetching(proc: BaseProcess | None, paths: NegativePaths, corpus_dir: Path,
                          ids: list[str], store: NegativeStore, cancel: Callable[[], bool],
                          note: Callable[[float, str, float | None], None]) -> None:
    """While the fetch process runs, embed every source that completes."""
    while proc is not None and proc.is_alive():
        if cancel():
            raise CancelledError("negative store build cancelled")
        done = {s.name for s in corpus_dir.iterdir() if s.is_dir()} \
            if corpus_dir.is_dir() else set()
        frac = len(done & set(ids)) / max(len(ids), 1)
        report = store.build_from_files(_files(paths.negative_dir), root=paths.negative_dir,
                                        should_cancel=cancel)
        note(0.3 + 0.3 * frac, f"{len(done & set(ids))}/{len(ids)} sources fetched, "
             f"{report.added} files embedded meanwhile", frac)
        if report.added == 0:
            proc.join(POLL_S)


def build_with_status(paths: NegativePaths, *, progress: Callable[[float, str], None] | None
                      = None, should_cancel: Callable[[], bool] | None = None,
                      **kwargs: Any) -> dict[str, Any]:
    """:func:`build_negative_cache` that also writes ``BUILD_STATE.json`` (for a cache job or
    ``cache build``: state, progress and ETA are then visible to ``cache info``)."""
    status = StatusWriter(store_root(paths), slice_ready=True)
    status.stage("embedding the store", 0.0)

    def note(fraction: float, message: str) -> None:
        status.progress(fraction, fraction, message)
        if progress is not None:
            progress(fraction, message)

    with status.failures_recorded():
        report = build_negative_cache(paths, progress=note, should_cancel=should_cancel,
                                      **kwargs)
    status.update(hours_by_kind=hours_by_kind(NegativeStore(store_root(paths))))
    status.finish(READY, "negative store ready")
    return report

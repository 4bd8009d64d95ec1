"""Filling, describing and clearing the negative store: the generated corpus, every file
under ``data/negative/`` (the real-speech corpus and any audio a user drops there), and the
mixtures made from the corpus."""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wakebuilder.corpus.local import iter_negative_files, source_of
from wakebuilder.negstore.generated import Progress, add_generated
from wakebuilder.negstore.mixtures import add_mixtures
from wakebuilder.negstore.paths import NegativePaths, store_root
from wakebuilder.negstore.status import read_status
from wakebuilder.negstore.store import NegativeStore

FILE_COUNT_MAX_AGE_S = 60.0
"""The count of files under ``data/negative`` is walked again at least this often (sooner
when a folder near the top changed): a walk of the full corpus costs about a second of CPU."""
_memo_lock = threading.Lock()
_stats_memo: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}
_files_memo: dict[Path, tuple[tuple[tuple[str, int], ...], float, int]] = {}


def build_negative_cache(paths: NegativePaths, *, max_workers: int = 1,
                         progress: Progress | None = None,
                         should_cancel: Callable[[], bool] | None = None,
                         generated: bool = True, mixtures: bool = True) -> dict[str, Any]:
    """Fill the store: the generated corpus (unless ``generated`` is False; training adds it
    when missing), then every file under ``data/negative/``, then the mixtures of the corpus
    (unless ``mixtures`` is False; only the missing ones are embedded).

    ``max_workers`` is capped at half the CPU count: each worker runs the front end on two
    threads, and on 2 cores one process embedding batches of files is the fastest (measured).
    On cancel, what was committed stays (complete entries only) and CancelledError is raised;
    the next build resumes from it.
    """
    max_workers = max(1, min(max_workers, (os.cpu_count() or 2) // 2))
    store = NegativeStore(store_root(paths))
    gen: dict[str, Any] = {"generated": "skipped"}
    if generated:
        gen = add_generated(store, paths, progress=(lambda f, m: progress(0.2 * f, m))
                            if progress else None, should_cancel=should_cancel)
    root = paths.negative_dir
    files = [(source_of(p, root), p) for p in iter_negative_files(root)]
    report = store.build_from_files(
        files, root=root, prune=True, max_workers=max_workers, should_cancel=should_cancel,
        progress=(lambda d, t, m: progress(0.2 + 0.7 * d / max(t, 1), m)) if progress else None)
    mix: dict[str, Any] = {"mixtures": "skipped"}
    if mixtures:
        mix = add_mixtures(store, root, should_cancel=should_cancel,
                           progress=(lambda f, m: progress(0.9 + 0.1 * f, m))
                           if progress else None)
    if progress:
        progress(1.0, "negative store ready")
    return {"generated": gen, "mixtures": mix, "files": report.total, "added": report.added,
            "updated": report.updated, "skipped": report.skipped, "pruned": report.pruned,
            "failed": report.failed[:50], "failed_count": report.failed_count,
            "seconds_added": round(report.seconds_added, 1),
            "elapsed_s": round(report.elapsed_s, 1)}


def _index_key(root: Path) -> tuple[int, int, int] | None:
    """Identity of the committed index (replaced atomically on every commit), or None."""
    try:
        st = (root / "index.json").stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def store_stats(root: Path) -> dict[str, Any]:
    """``NegativeStore(root).stats()``, computed once per committed index: reading and
    planning the index of the full store costs most of a second of CPU, and the Train page
    asks every few seconds while a build runs."""
    key = _index_key(root)
    with _memo_lock:
        hit = _stats_memo.get(root)
    if key is not None and hit is not None and hit[0] == key:
        return copy.deepcopy(hit[1])
    stats = NegativeStore(root).stats()
    if key is not None and _index_key(root) == key:  # not replaced while it was read
        with _memo_lock:
            _stats_memo[root] = (key, copy.deepcopy(stats))
    return stats


def _folders_key(root: Path) -> tuple[tuple[str, int], ...]:
    """Modification times of ``root`` and the folders two levels under it (a source's
    extraction, a new user folder or file there changes one of them)."""
    out: list[tuple[str, int]] = []
    todo = [(root, 0)]
    while todo:
        folder, depth = todo.pop()
        try:
            out.append((str(folder), folder.stat().st_mtime_ns))
            if depth < 2:
                todo += [(Path(e.path), depth + 1) for e in os.scandir(folder)
                         if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
    return tuple(sorted(out))


def negative_file_count(negative_dir: Path) -> int:
    """How many audio files ``data/negative`` holds: walked again when a folder near the top
    changed or after :data:`FILE_COUNT_MAX_AGE_S`."""
    root = Path(negative_dir)
    key = _folders_key(root)
    with _memo_lock:
        hit = _files_memo.get(root)
    if hit is not None and hit[0] == key and time.monotonic() - hit[1] < FILE_COUNT_MAX_AGE_S:
        return hit[2]
    count = len(iter_negative_files(root))
    with _memo_lock:
        _files_memo[root] = (key, time.monotonic(), count)
    return count


def cache_info(paths: NegativePaths) -> dict[str, Any]:
    """The API's cache info (available, chunk_count, size_mb, last_built) plus details: hours
    per split (``hours_by_split``), per split and kind (``hours_by_split_kind``, every split
    listed), the held-out sources, entry counts per split and kind."""
    stats = store_stats(store_root(paths))
    pending = negative_file_count(paths.negative_dir)
    return {"available": stats["available"], "chunk_count": int(stats["windows"]),
            "size_mb": round(stats["size_mb"], 2), "last_built": stats["last_built"],
            "entries": stats["entries"], "hours": round(stats["hours"], 3),
            "hours_by_split": {split: round(sum(kinds.values()), 3)
                               for split, kinds in stats["by_split_kind"].items()},
            "hours_by_split_kind": {split: {k: round(h, 3) for k, h in kinds.items()}
                                    for split, kinds in stats["by_split_kind"].items()},
            "heldout_sources": stats["heldout_sources"],
            "by_split": stats["by_split"], "by_kind": stats["by_kind"],
            "has_natural_speech": stats["has_natural_speech"],
            "negative_files": pending,
            "build_state": read_status(store_root(paths))}


def clear_cache(paths: NegativePaths) -> None:
    """Remove every stored negative embedding."""
    NegativeStore(store_root(paths)).clear()

"""The negative store: embeddings of long negative audio, computed once, reused by jobs.

Layout of ``root``:

- ``embeddings-<gen>.f16``: one growing array of float16 rows ``(N, 96)``, appended to;
- ``index.json``: entries (source, name, segment, offset, frames, seconds, base split, kind,
  fingerprint) plus the committed row count, replaced atomically after each append batch;
- ``.lock``: an ``fcntl`` lock held by every writer, so builds never interleave.

Rows past the committed count (an interrupted build) are ignored by readers and truncated by
the next writer. Readers map the data file read-only. Readers see each entry in its effective
split (train, validation, calibration or heldout), derived from the index by
:func:`~wakebuilder.negstore.splits.plan_splits`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wakebuilder.audio.format import Samples
from wakebuilder.errors import CancelledError
from wakebuilder.features.frontend import EMBEDDING_DIM, WINDOW_FRAMES
from wakebuilder.negstore.embedding import (
    Embedder,
    FileResult,
    Segment,
    default_embedder,
    embed_samples,
    fingerprint,
    run_files,
)
from wakebuilder.negstore.index import IndexState, NegativeEntry, group_of, load_index, save_index
from wakebuilder.negstore.kinds import KINDS, entry_excluded, entry_selected, guess_kind
from wakebuilder.negstore.splits import (
    CALIBRATION,
    SPLITS,
    STORED_SPLITS,
    TRAIN,
    SplitPlan,
    assign_splits,
    hash_split,
    plan_splits,
)

__all__ = ["BuildReport", "NegativeEntry", "NegativeStore", "guess_kind", "CALIBRATION",
           "TRAIN", "KINDS"]

ROW_BYTES = EMBEDDING_DIM * 2
# Per eligible entry: window counts, first-row offsets, cumulative window counts.
_WindowTable = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]
COMMIT_INTERVAL_S = 5.0
COMPACT_GARBAGE_FRACTION = 0.3

ProgressFn = Callable[[int, int, str], None]
KindFn = Callable[[str, Path], str | None]


@dataclass
class BuildReport:
    """Outcome of :meth:`NegativeStore.build_from_files`."""

    total: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    pruned: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    frames_added: int = 0
    seconds_added: float = 0.0
    elapsed_s: float = 0.0
    cancelled: bool = False

    @property
    def failed_count(self) -> int:
        """Files that could not be decoded or read."""
        return len(self.failed)


class NegativeStore:
    """A directory of negative embeddings; cheap to open, safe to share between processes."""

    def __init__(self, root: Path, *, embedder: Embedder | None = None) -> None:
        """Open (without creating) the store at ``root``; ``embedder`` replaces the front end."""
        self.root = Path(root)
        self._embedder = embedder
        self._mutex = threading.RLock()
        self._lock_fd: int | None = None
        self._depth = 0
        self._state: IndexState | None = None
        self._mmap: npt.NDArray[np.float16] | None = None
        self._batch_new: list[NegativeEntry] | None = None
        self._last_commit = 0.0
        self._tables: dict[tuple[Any, ...], tuple[list[NegativeEntry], _WindowTable | None]] = {}
        self._view: tuple[list[NegativeEntry], list[NegativeEntry], SplitPlan] | None = None

    # ----------------------------------------------------------------- reading
    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    def _current(self) -> IndexState:
        if self._state is None:
            self._state = load_index(self.index_path)
            self._mmap = None
        return self._state

    def refresh(self) -> None:
        """Re-read the index (to see another process's build)."""
        with self._mutex:
            if self._depth == 0:  # a writer keeps its own, newer state
                self._state = None
                self._mmap = None

    def _data(self) -> npt.NDArray[np.float16]:
        state = self._current()
        if self._mmap is None or len(self._mmap) != state.frames:
            if state.frames == 0:
                self._mmap = np.zeros((0, EMBEDDING_DIM), np.float16)
                return self._mmap
            try:
                self._mmap = np.memmap(self.root / state.data_file, dtype="<f2", mode="r",
                                       shape=(state.frames, EMBEDDING_DIM))
            except FileNotFoundError:
                # Another process compacted or cleared the store since our index was read.
                self.refresh()
                raise RuntimeError("the negative store changed; entries are stale, "
                                   "re-read them") from None
        return self._mmap

    def _effective(self) -> tuple[list[NegativeEntry], SplitPlan]:
        """Entries in their effective splits, and the plan, memoised per index version.

        The entries come in a canonical order, by file key (each file's segments in their
        own order), not in the index's insertion order: that order is the build's history (a
        progressive first run embeds files as their downloads finish), and every draw of
        :meth:`sample_windows` and every stream order follows this list, so the same stored
        audio must give the same list however it was built."""
        version = self._current().entries
        if self._view is None or self._view[0] is not version:
            ordered = sorted(version, key=lambda e: e.key)  # stable: segments keep their order
            plan = plan_splits(ordered)
            view = [e if (split := plan.split_of(e)) == e.split else replace(e, split=split)
                    for e in ordered]
            self._view = (version, view, plan)
        return self._view[1], self._view[2]

    def split_plan(self) -> SplitPlan:
        """The derived splits of the current index (held-out sources, validation files)."""
        return self._effective()[1]

    def entries(self, split: str | None = None, kind: str | Sequence[str] | None = None,
                *, exclude_sources: Sequence[str] = (),
                only_sources: Sequence[str] | None = None) -> list[NegativeEntry]:
        """Stored entries in their effective split, optionally only one split and one kind
        (or several kinds), without the sources named in ``exclude_sources`` and, when
        ``only_sources`` is given, only the sources it names (both: exact ids or ``prefix/``,
        see :func:`~wakebuilder.negstore.kinds.source_matches`). A mixture is excluded when any
        of its components is, and selected when all of them are."""
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        kinds = {kind} if isinstance(kind, str) else (set(kind) if kind is not None else None)
        return [e for e in self._effective()[0]
                if (split is None or e.split == split) and (kinds is None or e.kind in kinds)
                and not entry_excluded(e.source, e.name, exclude_sources)
                and (only_sources is None or entry_selected(e.source, e.name, only_sources))]

    def embeddings(self, entry: NegativeEntry, dtype: npt.DTypeLike = np.float32
                   ) -> npt.NDArray[Any]:
        """Embeddings ``(frames, 96)`` of one entry (a read-only view when dtype is float16)."""
        rows = self._data()[entry.offset:entry.offset + entry.frames]
        return rows if np.dtype(dtype) == np.float16 else rows.astype(dtype)

    def _window_table(self, split: str, kinds: Sequence[str] | None,
                      exclude_sources: Sequence[str],
                      only_sources: Sequence[str] | None = None) -> _WindowTable | None:
        """Window counts, offsets and their cumulative sum for eligible entries, memoised until
        the index changes (a training job samples every step; scanning the index each time
        cost more than the optimiser step). The index builds a new entry list on every change,
        so the list's identity is the version."""
        version = self._current().entries
        key = (split, tuple(sorted(kinds)) if kinds is not None else None,
               tuple(exclude_sources), None if only_sources is None else tuple(only_sources))
        cached = self._tables.get(key)
        if cached is not None and cached[0] is version:
            return cached[1]
        eligible = [e for e in self.entries(split, kinds, exclude_sources=exclude_sources,
                                            only_sources=only_sources)
                    if e.frames >= WINDOW_FRAMES]
        table = None
        if eligible:
            counts = np.array([e.frames - WINDOW_FRAMES + 1 for e in eligible], np.int64)
            offsets = np.array([e.offset for e in eligible], np.int64)
            table = (counts, offsets, np.cumsum(counts))
        self._tables[key] = (version, table)
        return table

    def sample_windows(self, n: int, rng: np.random.Generator, *, split: str = TRAIN,
                       kinds: Sequence[str] | None = None,
                       exclude_sources: Sequence[str] = (),
                       only_sources: Sequence[str] | None = None) -> npt.NDArray[np.float32]:
        """``n`` random 16-frame windows ``(n, 16, 96)``, uniform over all windows of eligible
        entries (entries of at least 16 frames); a window never crosses an entry boundary."""
        table = self._window_table(split, kinds, exclude_sources, only_sources)
        if n <= 0 or table is None:
            if n > 0:
                raise ValueError(f"no {split} negatives of kinds {kinds} with "
                                 f">= {WINDOW_FRAMES} frames")
            return np.zeros((0, WINDOW_FRAMES, EMBEDDING_DIM), np.float32)
        counts, offsets, cum = table
        pick = rng.integers(0, int(cum[-1]), size=n)
        which = np.searchsorted(cum, pick, side="right")
        starts = offsets[which] + pick - (cum[which] - counts[which])
        order = np.argsort(starts, kind="stable")
        rows = starts[order, None] + np.arange(WINDOW_FRAMES)
        out = np.empty((n, WINDOW_FRAMES, EMBEDDING_DIM), np.float32)
        out[order] = self._data()[rows.reshape(-1)].reshape(n, WINDOW_FRAMES, EMBEDDING_DIM)
        return out

    def streams(self, split: str = CALIBRATION, kinds: Sequence[str] | None = None,
                exclude_sources: Sequence[str] = (), only_sources: Sequence[str] | None = None
                ) -> Iterator[tuple[NegativeEntry, npt.NDArray[np.float32]]]:
        """Each entry of a split with its float32 embeddings, for calibration streams."""
        for entry in self.entries(split, kinds, exclude_sources=exclude_sources,
                                  only_sources=only_sources):
            yield entry, self.embeddings(entry)

    def stats(self) -> dict[str, Any]:
        """Counts, hours per split, per kind and per split and kind, the held-out sources,
        size, last build time, natural speech present."""
        state = self._current()
        entries, plan = self._effective()
        by: dict[str, dict[str, dict[str, float]]] = {"split": {}, "kind": {}}
        by_split_kind: dict[str, dict[str, float]] = {s: {} for s in SPLITS}
        for e in entries:
            for axis, key in (("split", e.split), ("kind", e.kind)):
                slot = by[axis].setdefault(key, {"entries": 0, "frames": 0, "hours": 0.0})
                slot["entries"] += 1
                slot["frames"] += e.frames
                slot["hours"] += e.seconds / 3600.0
            cell = by_split_kind[e.split]
            cell[e.kind] = cell.get(e.kind, 0.0) + e.seconds / 3600.0
        size = state.frames * ROW_BYTES
        if self.index_path.exists():
            size += self.index_path.stat().st_size
        return {
            "available": bool(state.entries),
            "entries": len(state.entries),
            "frames": sum(e.frames for e in state.entries),
            "windows": sum(max(0, e.frames - WINDOW_FRAMES + 1) for e in state.entries),
            "hours": sum(e.seconds for e in state.entries) / 3600.0,
            "by_split": by["split"],
            "by_kind": by["kind"],
            "by_split_kind": by_split_kind,
            "heldout_sources": plan.heldout_sources,
            "size_mb": size / 1e6,
            "last_built": state.last_built,
            "has_natural_speech": any(e.kind == "speech" for e in entries),
        }

    # ----------------------------------------------------------------- locking
    @contextmanager
    def _writing(self, should_cancel: Callable[[], bool] | None = None) -> Iterator[IndexState]:
        """Hold the store lock (re-entrant in this object), yielding the writable state."""
        with self._mutex:
            if self._depth == 0:
                self.root.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    while True:
                        try:
                            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                            break
                        except BlockingIOError:
                            if should_cancel is not None and should_cancel():
                                raise CancelledError("negative store build cancelled") from None
                            time.sleep(0.1)
                    self._state = None
                    self._mmap = None
                    self._truncate_garbage_tail(self._current())
                except BaseException:
                    os.close(fd)  # closing the descriptor releases the lock
                    raise
                self._lock_fd = fd
            self._depth += 1
            try:
                yield self._current()
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                    os.close(self._lock_fd)
                    self._lock_fd = None

    def _truncate_garbage_tail(self, state: IndexState) -> None:
        """Drop rows an interrupted writer appended but never committed."""
        path = self.root / state.data_file
        if path.exists() and path.stat().st_size != state.frames * ROW_BYTES:
            with open(path, "r+b") as fh:
                fh.truncate(state.frames * ROW_BYTES)

    def _append(self, state: IndexState, source: str, name: str, segments: list[Segment], *,
                kind: str, split: str, fp: str) -> list[NegativeEntry]:
        """Append rows to the data file (uncommitted until :meth:`_commit`)."""
        new: list[NegativeEntry] = []
        with open(self.root / state.data_file, "ab") as fh:
            for k, (secs, emb) in enumerate(segments):
                fh.write(np.ascontiguousarray(emb, dtype="<f2").tobytes())
                new.append(NegativeEntry(source, name, k, state.frames, len(emb), round(secs, 3),
                                         split, kind, fp))
                state.frames += len(emb)
        state.put((source, name), new)
        return new

    def _commit(self, state: IndexState) -> None:
        path = self.root / state.data_file
        if path.exists():
            with open(path, "r+b") as fh:
                os.fsync(fh.fileno())
        state.last_built = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        save_index(self.index_path, state)
        self._mmap = None
        self._last_commit = time.monotonic()

    # ----------------------------------------------------------------- writing
    @contextmanager
    def batch(self) -> Iterator[NegativeStore]:
        """Hold the lock for many :meth:`add_audio` calls and commit once at the end."""
        with self._writing() as state:
            outer = self._batch_new is None
            if outer:
                self._batch_new = []
            try:
                yield self
            finally:
                if outer:
                    self._rebalance(state, self._batch_new or [])
                    self._batch_new = None
                    self._commit(state)

    def add_audio(self, source: str, name: str, samples: Samples, *, kind: str,
                  split: str | None = None) -> list[NegativeEntry]:
        """Embed and store a signal (replacing any earlier ``(source, name)``); returns entries.

        ``split`` None assigns it by source group. Outside :meth:`batch`, commits at once.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if split is not None and split not in STORED_SPLITS:
            raise ValueError(f"split must be one of {STORED_SPLITS}, not {split!r}")
        embed = self._embedder or default_embedder()
        segments = embed_samples(samples, embed)
        digest = hashlib.sha1(np.asarray(samples, np.float32).tobytes()).hexdigest()[:16]
        with self.batch() as _, self._writing() as state:
            # Provisional; the batch's end assigns splits of all its new groups together.
            chosen = split or hash_split(group_of(source, name))
            new = self._append(state, source, name, segments, kind=kind, split=chosen,
                               fp=f"sha1:{digest}")
            if split is None and self._batch_new is not None:
                self._batch_new.extend(new)
        return new

    def _rebalance(self, state: IndexState, new: list[NegativeEntry]) -> None:
        """Give calibration audio to kinds that got none, choosing among this batch's groups."""
        live = {id(e) for e in state.entries}
        keys = list(dict.fromkeys(e.key for e in new if id(e) in live))
        if not keys:
            return
        new_keys = set(keys)
        old = [e for e in state.entries if e.key not in new_keys]
        items = [(state.files[k][0].kind, *k) for k in keys]
        for key, split in zip(keys, assign_splits(items, old), strict=True):
            state.put(key, [replace(e, split=split) for e in state.files[key]])

    def build_from_files(self, files: Sequence[tuple[str, Path]], *,
                         kind_of: KindFn | None = None, progress: ProgressFn | None = None,
                         should_cancel: Callable[[], bool] | None = None,
                         max_workers: int = 1, root: Path | None = None,
                         prune: bool | Iterable[str] = False) -> BuildReport:
        """Embed ``(source, path)`` files incrementally; unchanged files (size, mtime) are skipped.

        Names are paths relative to ``root`` when given (else absolute). Undecodable files are
        listed in the report. ``prune`` drops entries of the listed sources whose files are no
        longer listed; an iterable of source names also prunes those sources (so a source
        folder deleted entirely can be dropped). On cancel, work done so far is committed,
        then CancelledError is raised.
        ``max_workers > 1`` embeds in spawned processes, each loading its own front end (a
        custom ``embedder`` must then be picklable); only this process writes the store.
        Other processes' stores see the result after :meth:`refresh`.
        """
        t0 = time.monotonic()
        report = BuildReport(total=len(files))
        cancel = should_cancel or (lambda: False)
        self._last_commit = time.monotonic()
        with self._writing(cancel) as state:
            plan = self._plan(state, files, kind_of or guess_kind, root, report)
            if prune:
                extra = set() if prune is True else set(prune)
                report.pruned = self._prune(state, files, root, extra)
            splits = assign_splits([(k, s, n) for s, n, _, k, _ in plan], state.entries)
            done = report.skipped + report.failed_count
            if progress:
                progress(done, report.total, f"{len(plan)} files to embed")
            results = run_files([p for _, _, p, _, _ in plan], embedder=self._embedder,
                                max_workers=max(1, max_workers), should_stop=cancel)
            for i, result in results:
                self._apply(state, plan[i], splits[i], result, report)
                done += 1
                if progress:
                    progress(done, report.total, f"{plan[i][0]}/{plan[i][1]}")
                if time.monotonic() - self._last_commit > COMMIT_INTERVAL_S:
                    self._commit(state)
            report.cancelled = done < report.total and cancel()
            self._commit(state)
            if not report.cancelled:
                self._maybe_compact(state)
        report.elapsed_s = time.monotonic() - t0
        if report.cancelled:
            raise CancelledError("negative store build cancelled",
                                 {"done": done, "total": report.total})
        return report

    @staticmethod
    def _name(path: Path, root: Path | None) -> str:
        if root is not None:
            try:
                return path.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                pass
        return path.resolve().as_posix()

    def _plan(self, state: IndexState, files: Sequence[tuple[str, Path]], kind_of: KindFn,
              root: Path | None, report: BuildReport) -> list[tuple[str, str, Path, str, str]]:
        """``(source, name, path, kind, fingerprint)`` of files that need embedding."""
        known: dict[tuple[str, str], set[str]] = {}
        for e in state.entries:
            known.setdefault(e.key, set()).add(e.fingerprint)
        plan = []
        for source, path in files:
            name = self._name(Path(path), root)
            try:
                fp = fingerprint(Path(path))
            except OSError as exc:
                report.failed.append({"source": source, "name": name,
                                      "reason": f"unreadable: {exc}"})
                continue
            if known.get((source, name)) == {fp}:
                report.skipped += 1
                continue
            kind = kind_of(source, Path(path)) or guess_kind(source, Path(path))
            if kind not in KINDS:
                raise ValueError(f"kind_of returned {kind!r}; expected one of {KINDS}")
            plan.append((source, name, Path(path), kind, fp))
        return plan

    def _prune(self, state: IndexState, files: Sequence[tuple[str, Path]],
               root: Path | None, extra_sources: set[str]) -> int:
        listed = {(s, self._name(Path(p), root)) for s, p in files}
        sources = {s for s, _ in files} | extra_sources
        gone = {k for k in state.files if k[0] in sources and k not in listed}
        state.drop(gone)
        return len(gone)

    def _apply(self, state: IndexState, item: tuple[str, str, Path, str, str], split: str,
               result: FileResult, report: BuildReport) -> None:
        source, name, _, kind, fp = item
        existed = (source, name) in state.files
        if result.error is not None:
            state.drop([(source, name)])
            report.failed.append({"source": source, "name": name, "reason": result.error})
            return
        new = self._append(state, source, name, result.segments, kind=kind, split=split, fp=fp)
        report.updated += existed
        report.added += not existed
        report.frames_added += sum(e.frames for e in new)
        report.seconds_added += sum(e.seconds for e in new)

    def _maybe_compact(self, state: IndexState) -> None:
        """Rewrite the data file without dead rows once they exceed 30 % of it."""
        live = state.live_frames()
        if state.frames == 0 or state.frames - live <= COMPACT_GARBAGE_FRACTION * state.frames:
            return
        old_path = self.root / state.data_file
        gen = int(state.data_file.split("-")[1].split(".")[0]) + 1
        new_file = f"embeddings-{gen}.f16"
        src = np.memmap(old_path, dtype="<f2", mode="r", shape=(state.frames, EMBEDDING_DIM))
        entries, offset = [], 0
        with open(self.root / new_file, "wb") as fh:
            for e in state.entries:
                fh.write(np.ascontiguousarray(src[e.offset:e.offset + e.frames]).tobytes())
                entries.append(replace(e, offset=offset))
                offset += e.frames
        del src
        state.data_file, state.frames = new_file, offset
        state.set_entries(entries)
        self._commit(state)
        old_path.unlink(missing_ok=True)

    def drop_files(self, keys: Iterable[tuple[str, str]]) -> int:
        """Forget the entries of the given ``(source, name)`` files (their rows become garbage,
        compacted by a later build); returns how many files were dropped."""
        with self._writing() as state:
            gone = [k for k in set(keys) if k in state.files]
            if gone:
                state.drop(gone)
                self._commit(state)
        return len(gone)

    def clear(self) -> None:
        """Remove every entry and data file."""
        with self._writing() as state:
            for path in self.root.glob("embeddings-*.f16"):
                path.unlink()
            self.index_path.unlink(missing_ok=True)
            state.set_entries([])
            state.frames = 0
            state.data_file, state.last_built = "embeddings-0.f16", None
            self._mmap = None

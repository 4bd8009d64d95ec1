"""SQLite job store: one row per job plus an append-only event log.

Every process (the API server and each worker) opens its own short-lived connections, so the
store is safe across threads and processes. WAL mode lets readers poll while a worker writes.

Status values: ``pending`` -> ``training`` (train jobs) or ``running`` (other kinds) ->
``completed`` | ``failed`` | ``cancelled``.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wakebuilder.errors import InvalidInputError, JobNotFoundError
from wakebuilder.modelstore.manifest import utc_now
from wakebuilder.wakeword import is_valid_id

PENDING, TRAINING, RUNNING = "pending", "training", "running"
COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
ACTIVE = (PENDING, TRAINING, RUNNING)
FINISHED = (COMPLETED, FAILED, CANCELLED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    wake_word TEXT,
    status TEXT NOT NULL,
    phase TEXT NOT NULL DEFAULT 'Queued',
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    current_epoch INTEGER,
    total_epochs INTEGER,
    metrics TEXT NOT NULL DEFAULT '{}',
    history TEXT NOT NULL DEFAULT '[]',
    data_stats TEXT NOT NULL DEFAULT '{}',
    timings TEXT NOT NULL DEFAULT '{}',
    config TEXT NOT NULL DEFAULT '{}',
    inputs TEXT NOT NULL DEFAULT '{}',
    result TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    model_id TEXT,
    cancel_requested REAL,
    pid INTEGER,
    created_at TEXT NOT NULL,
    created_ts REAL NOT NULL,
    started_ts REAL,
    finished_ts REAL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    ts REAL NOT NULL,
    level TEXT NOT NULL,
    phase TEXT,
    progress REAL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job ON events(job_id, id);
"""

_JSON_FIELDS = ("metrics", "history", "data_stats", "timings", "config", "inputs", "result")


@dataclass
class JobRecord:
    """One job row, JSON columns decoded."""

    id: str
    kind: str
    status: str
    wake_word: str | None = None
    phase: str = "Queued"
    progress: float = 0.0
    message: str = ""
    current_epoch: int | None = None
    total_epochs: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    data_stats: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    model_id: str | None = None
    cancel_requested: float | None = None
    pid: int | None = None
    created_at: str = ""
    created_ts: float = 0.0
    started_ts: float | None = None
    finished_ts: float | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def elapsed_s(self, now: float | None = None) -> float:
        """Seconds since the job started (0 while pending), frozen once it finished."""
        if self.started_ts is None:
            return 0.0
        end = self.finished_ts if self.finished_ts is not None else (now or time.time())
        return max(0.0, end - self.started_ts)


def _record(row: sqlite3.Row) -> JobRecord:
    data = dict(row)
    for name in _JSON_FIELDS:
        data[name] = json.loads(data[name] or ("[]" if name == "history" else "{}"))
    data["error"] = json.loads(data["error"]) if data["error"] else None
    return JobRecord(**data)


def check_job_id(job_id: str) -> str:
    """Validate a job id (same alphabet as model ids)."""
    if not is_valid_id(job_id):
        raise InvalidInputError("invalid job id: use 1-64 characters of a-z, 0-9 and _",
                                {"job_id": job_id[:100]})
    return job_id


class JobStore:
    """Jobs and their events in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA synchronous=NORMAL")  # durable enough under WAL, fewer fsyncs
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- creating and reading ----------------------------------------------------------------
    def create(self, *, kind: str, wake_word: str | None = None,
               config: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
               job_id: str | None = None) -> JobRecord:
        """Insert a pending job and return it."""
        job_id = check_job_id(job_id or uuid.uuid4().hex[:16])
        with self._tx() as db:
            db.execute(
                "INSERT INTO jobs (id, kind, wake_word, status, config, inputs, created_at,"
                " created_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, kind, wake_word, PENDING, json.dumps(config or {}),
                 json.dumps(inputs or {}), utc_now(), time.time()))
            self._event(db, job_id, "info", "Queued", 0.0, "Job created")
        return self.get(job_id)

    def new_id(self) -> str:
        """A fresh job id."""
        return uuid.uuid4().hex[:16]

    def get(self, job_id: str) -> JobRecord:
        check_job_id(job_id)
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return _record(row)

    def list(self, *, kind: str | None = None, statuses: tuple[str, ...] | None = None
             ) -> builtins.list[JobRecord]:
        """Jobs, newest first, optionally filtered by kind and status."""
        sql, args = "SELECT * FROM jobs WHERE 1=1", []
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args.extend(statuses)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY created_ts DESC, rowid DESC", args).fetchall()
        return [_record(r) for r in rows]

    def pending(self) -> builtins.list[JobRecord]:
        """Pending jobs, oldest first (the queue)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM jobs WHERE status = ? ORDER BY created_ts, rowid",
                              (PENDING,)).fetchall()
        return [_record(r) for r in rows]

    def queue_position(self, job_id: str) -> int | None:
        """1-based place of a pending job in the queue, else None."""
        ids = [j.id for j in self.pending()]
        return ids.index(job_id) + 1 if job_id in ids else None

    def events(self, job_id: str, *, limit: int = 200) -> builtins.list[dict[str, Any]]:
        """The newest ``limit`` events of a job, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT ts, level, phase, progress, message FROM events"
                              " WHERE job_id = ? ORDER BY id DESC LIMIT ?",
                              (job_id, limit)).fetchall()
        return [dict(r) for r in reversed(rows)]

    # -- state transitions -------------------------------------------------------------------
    @staticmethod
    def _event(db: sqlite3.Connection, job_id: str, level: str, phase: str | None,
               progress: float | None, message: str) -> None:
        db.execute("INSERT INTO events (job_id, ts, level, phase, progress, message)"
                   " VALUES (?, ?, ?, ?, ?, ?)",
                   (job_id, time.time(), level, phase, progress, message[:2000]))

    def log(self, job_id: str, message: str, *, level: str = "info") -> None:
        """Append a log line to a job."""
        with self._tx() as db:
            self._event(db, job_id, level, None, None, message)

    def claim(self, job_id: str) -> bool:
        """Move a pending job to its running status; False if it is no longer pending."""
        with self._tx() as db:
            row = db.execute("SELECT kind FROM jobs WHERE id = ? AND status = ?",
                             (job_id, PENDING)).fetchone()
            if row is None:
                return False
            status = TRAINING if row["kind"] == "train" else RUNNING
            db.execute("UPDATE jobs SET status = ?, phase = 'Starting', started_ts = ?"
                       " WHERE id = ?", (status, time.time(), job_id))
            self._event(db, job_id, "info", "Starting", 0.0, "Job started")
        return True

    def set_pid(self, job_id: str, pid: int | None) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET pid = ? WHERE id = ?", (pid, job_id))

    def update_progress(self, job_id: str, *, phase: str, progress: float, message: str = "",
                        current_epoch: int | None = None, total_epochs: int | None = None,
                        metrics: dict[str, Any] | None = None,
                        data_stats: dict[str, Any] | None = None,
                        timings: dict[str, float] | None = None) -> None:
        """Record a progress event of an active job (ignored once the job finished)."""
        with self._tx() as db:
            row = db.execute("SELECT status, metrics, history, data_stats, current_epoch"
                             " FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["status"] not in ACTIVE:
                return
            merged = json.loads(row["metrics"])
            history = json.loads(row["history"])
            if metrics:
                merged.update(metrics)
                if current_epoch is not None:
                    entry = {"epoch": current_epoch, **metrics}
                    if history and history[-1].get("epoch") == current_epoch:
                        history[-1].update(entry)
                    else:
                        history.append(entry)
            stats = {**json.loads(row["data_stats"]), **(data_stats or {})}
            sets = ["phase = ?", "progress = ?", "message = ?", "metrics = ?", "history = ?",
                    "data_stats = ?"]
            args: list[Any] = [phase, float(max(0.0, min(100.0, progress))), message,
                               json.dumps(merged), json.dumps(history), json.dumps(stats)]
            for col, val in (("current_epoch", current_epoch), ("total_epochs", total_epochs)):
                if val is not None:
                    sets.append(f"{col} = ?")
                    args.append(val)
            if timings is not None:
                sets.append("timings = ?")
                args.append(json.dumps(timings))
            db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", (*args, job_id))
            self._event(db, job_id, "info", phase, progress, message or phase)

    def finish(self, job_id: str, status: str, *, error: dict[str, Any] | None = None,
               result: dict[str, Any] | None = None, model_id: str | None = None,
               metrics: dict[str, Any] | None = None, timings: dict[str, float] | None = None,
               only_if_active: bool = True) -> bool:
        """Move a job to a final status; returns False if it had already finished."""
        if status not in FINISHED:
            raise ValueError(f"not a final status: {status}")
        with self._tx() as db:
            row = db.execute("SELECT status, metrics, timings FROM jobs WHERE id = ?",
                             (job_id,)).fetchone()
            if row is None or (only_if_active and row["status"] not in ACTIVE):
                return False
            merged = {**json.loads(row["metrics"]), **(metrics or {})}
            phase = {COMPLETED: "Completed", FAILED: "Failed", CANCELLED: "Cancelled"}[status]
            sets = ("status = ?, phase = ?, error = ?, result = ?, model_id = ?, metrics = ?,"
                    " timings = ?, finished_ts = ?, pid = NULL")
            args = [status, phase, json.dumps(error) if error else None,
                    json.dumps(result or {}), model_id, json.dumps(merged),
                    json.dumps(timings if timings is not None else json.loads(row["timings"])),
                    time.time()]
            if status == COMPLETED:
                sets += ", progress = 100"
            db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*args, job_id))
            message = error["message"] if error else phase
            self._event(db, job_id, "error" if status == FAILED else "info", phase, None,
                        message)
        return True

    def request_cancel(self, job_id: str) -> JobRecord:
        """Cancel a pending job at once, or flag a running one for its worker to stop."""
        with self._tx() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(job_id)
            if row["status"] == PENDING:
                db.execute("UPDATE jobs SET status = ?, phase = 'Cancelled', finished_ts = ?,"
                           " cancel_requested = ? WHERE id = ?",
                           (CANCELLED, time.time(), time.time(), job_id))
                self._event(db, job_id, "info", "Cancelled", None, "Cancelled while queued")
            elif row["status"] in ACTIVE:
                db.execute("UPDATE jobs SET cancel_requested = COALESCE(cancel_requested, ?)"
                           " WHERE id = ?", (time.time(), job_id))
                self._event(db, job_id, "info", None, None, "Cancellation requested")
        return self.get(job_id)

    def cancel_requested(self, job_id: str) -> bool:
        """True if the job was asked to stop (or vanished, or already finished)."""
        with self._connect() as db:
            row = db.execute("SELECT status, cancel_requested FROM jobs WHERE id = ?",
                             (job_id,)).fetchone()
        return row is None or row["status"] not in ACTIVE or row["cancel_requested"] is not None

    def delete(self, job_id: str) -> None:
        """Remove a job row and its events."""
        with self._tx() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def recover_interrupted(self) -> builtins.list[str]:
        """After a restart: mark jobs that were running as failed (``interrupted``)."""
        ids = [j.id for j in self.list(statuses=(TRAINING, RUNNING))]
        for job_id in ids:
            self.finish(job_id, FAILED, error={
                "error": "internal_error", "message": "The server stopped while the job was "
                "running (reason: interrupted)", "details": {"reason": "interrupted"}})
        return ids

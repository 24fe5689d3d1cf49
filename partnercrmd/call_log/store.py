"""The call log database (SQLite in the user's data directory): the calls reported, and the activity outbox.

The outbox holds one entry per (CallId, address book), keyed by an
idempotency key, so a call reported twice, or logged both at call end and
by DoAction, is written once. An entry moves

    pending --claim--> sending --(CRM write)--> done
                          |-> pending (retry later, with backoff) / failed

and every move is committed (synchronous=FULL) before the next step, so a
crash at any point leaves the entry in a state the worker can resume from:
an entry that was claimed before (``attempts > 0``) may have reached the CRM,
and the worker reads the record's activities back before writing it again.

Methods block (sqlite3): call them in a thread.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATABASE_NAME = "calls.sqlite3"
KEEP_DAYS = 90.0
"""How long the call history and the outbox's finished entries are kept (the CRMs keep the activities)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    direction TEXT NOT NULL,
    caller_number TEXT NOT NULL DEFAULT '',
    caller_name TEXT NOT NULL DEFAULT '',
    called_number TEXT NOT NULL DEFAULT '',
    called_name TEXT NOT NULL DEFAULT '',
    start_utc TEXT NOT NULL DEFAULT '',
    duration_seconds INTEGER NOT NULL DEFAULT 0,
    notes TEXT NOT NULL DEFAULT '',
    matches TEXT NOT NULL DEFAULT '',
    popped TEXT NOT NULL DEFAULT '',
    first_seen REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_recent ON calls (updated);
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY,
    call_id TEXT NOT NULL,
    book_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    contact_name TEXT NOT NULL DEFAULT '',
    number TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    direction TEXT NOT NULL,
    start_utc TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    activity_id TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt);
CREATE INDEX IF NOT EXISTS outbox_call ON outbox (call_id);
"""

PENDING, SENDING, DONE, FAILED, SKIPPED = "pending", "sending", "done", "failed", "skipped"
STATUSES = (PENDING, SENDING, DONE, FAILED, SKIPPED)


def idempotency_key(call_id: str, book_id: str) -> str:
    """The key of a call's activity in one book: the same call and book always give the same key."""
    if not call_id:
        return f"x{secrets.token_hex(12)}"  # a call without an id cannot be recognised again
    return hashlib.sha256(f"{call_id}\x00{book_id}".encode()).hexdigest()[:24]


def marker(key: str) -> str:
    """The text written into the activity so the activity can be recognised in the CRM later."""
    return f"pcrmd-{key}"


@dataclass
class OutboxEntry:
    key: str
    call_id: str
    book_id: str
    contact_id: str
    subject: str
    body: str
    direction: str
    start_utc: str
    duration_seconds: int = 0
    contact_name: str = ""
    number: str = ""
    """The number to look the contact up by when `contact_id` is empty (the CRM was down when the call ended)."""
    status: str = PENDING
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str = ""
    activity_id: str = ""
    source: str = "CallEnd"
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    done_at: float | None = None

    @property
    def marker(self) -> str:
        return marker(self.key)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OutboxEntry:
        return cls(**{k: row[k] for k in row.keys()})  # noqa: SIM118  (sqlite3.Row is not a mapping)


@dataclass
class CallRecord:
    """A call as reported by CallEvent, with what matched and what popped."""

    call_id: str
    state: str
    direction: str
    caller_number: str = ""
    caller_name: str = ""
    called_number: str = ""
    called_name: str = ""
    start_utc: str = ""
    duration_seconds: int = 0
    notes: str = ""
    matches: list[dict[str, Any]] | None = None
    """[{AddinId, AddinName, ContactId, DisplayText}] from the search for the other party (None: not searched)."""
    popped: str = ""
    first_seen: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> CallRecord:
        data = {k: row[k] for k in row.keys()}  # noqa: SIM118  (sqlite3.Row is not a mapping)
        data["matches"] = json.loads(data["matches"]) if data["matches"] else None
        return cls(**data)


class CallStore:
    """The calls and the outbox, in one SQLite file; safe to use from several threads."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        """Open (or create) the database at `path`; `clock` is the time every change is stamped with (tests)."""
        self.path = path
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _lazy(self, sql: str, params: Any) -> int:
        """Run one statement without waiting for the disk (the caller holds the lock).

        For writes whose loss in a power cut (not a process crash: WAL keeps those) is harmless: a lost
        "done" leaves the entry claimed, and claimed entries are read back from the CRM before any rewrite.
        """
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            return self._db.execute(sql, params).rowcount
        finally:
            self._db.execute("PRAGMA synchronous=FULL")

    # --- calls ---------------------------------------------------------------------------------

    def call(self, call_id: str) -> CallRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        return CallRecord.from_row(row) if row else None

    def save_call(self, call: CallRecord) -> None:
        call.updated = self._clock()
        values = {
            **call.__dict__,
            "matches": json.dumps(call.matches) if call.matches is not None else "",
        }
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        with self._lock:
            self._lazy(f"INSERT OR REPLACE INTO calls ({columns}) VALUES ({marks})", values)  # noqa: S608

    def recent_calls(self, limit: int = 100) -> list[CallRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM calls ORDER BY first_seen DESC LIMIT ?", (limit,)).fetchall()
        return [CallRecord.from_row(r) for r in rows]

    # --- outbox --------------------------------------------------------------------------------

    def add(self, entry: OutboxEntry) -> tuple[OutboxEntry, bool]:
        """Store a new entry unless one with its key exists; (the stored entry, whether it is new)."""
        values = dict(entry.__dict__)
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        with self._lock:
            added = self._db.execute(
                f"INSERT OR IGNORE INTO outbox ({columns}) VALUES ({marks})",  # noqa: S608  (fixed column names)
                values,
            ).rowcount
            row = self._db.execute("SELECT * FROM outbox WHERE key = ?", (entry.key,)).fetchone()
        return OutboxEntry.from_row(row), bool(added)

    def entry(self, key: str) -> OutboxEntry | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM outbox WHERE key = ?", (key,)).fetchone()
        return OutboxEntry.from_row(row) if row else None

    def entries(self, statuses: tuple[str, ...] = STATUSES, limit: int = 500) -> list[OutboxEntry]:
        marks = ", ".join("?" for _ in statuses)
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM outbox WHERE status IN ({marks}) ORDER BY created DESC LIMIT ?",  # noqa: S608
                (*statuses, limit),
            ).fetchall()
        return [OutboxEntry.from_row(r) for r in rows]

    def entries_of_call(self, call_id: str) -> list[OutboxEntry]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM outbox WHERE call_id = ? ORDER BY book_id", (call_id,)).fetchall()
        return [OutboxEntry.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def recover(self) -> int:
        """After a start: entries left `sending` by a crash become pending again (they are checked before resending)."""
        with self._lock:
            return self._db.execute(
                "UPDATE outbox SET status = ?, next_attempt = ? WHERE status = ?", (PENDING, self._clock(), SENDING)
            ).rowcount

    def prune(self, keep_days: float = KEEP_DAYS) -> int:
        """Forget calls, and entries that are done or skipped, older than `keep_days`; waiting ones always stay."""
        cutoff = self._clock() - keep_days * 86400
        with self._lock:
            calls = self._lazy("DELETE FROM calls WHERE updated < ?", (cutoff,))
            entries = self._lazy("DELETE FROM outbox WHERE status IN (?, ?) AND updated < ?", (DONE, SKIPPED, cutoff))
        return calls + entries

    def due_books(self, now: float) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT book_id FROM outbox WHERE status = ? AND next_attempt <= ?", (PENDING, now)
            ).fetchall()
        return [str(r[0]) for r in rows]

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(next_attempt) FROM outbox WHERE status = ?", (PENDING,)).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def claim(self, key: str) -> OutboxEntry | None:
        """Take a pending entry for sending (committed before the CRM is written); None if not pending.

        The entry returned carries the attempts made *before* this one.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT * FROM outbox WHERE key = ? AND status = ?", (key, PENDING)).fetchone()
                if row is not None:
                    self._db.execute(
                        "UPDATE outbox SET status = ?, attempts = attempts + 1, updated = ? WHERE key = ?",
                        (SENDING, self._clock(), key),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return OutboxEntry.from_row(row) if row else None

    def claim_next(self, book_id: str, now: float) -> OutboxEntry | None:
        """The oldest due pending entry of a book, claimed; None when nothing is due."""
        with self._lock:
            row = self._db.execute(
                "SELECT key FROM outbox WHERE book_id = ? AND status = ? AND next_attempt <= ? "
                "ORDER BY next_attempt, created LIMIT 1",
                (book_id, PENDING, now),
            ).fetchone()
        return self.claim(str(row[0])) if row else None

    def finish(self, key: str, status: str, *, activity_id: str = "", error: str = "", contact_id: str = "") -> None:
        """Mark an entry done, skipped or failed."""
        now = self._clock()
        with self._lock:
            self._lazy(
                "UPDATE outbox SET status = ?, activity_id = ?, last_error = ?, updated = ?, done_at = ?, "
                "contact_id = CASE WHEN ? = '' THEN contact_id ELSE ? END WHERE key = ?",
                (status, activity_id, error, now, now, contact_id, contact_id, key),
            )

    def postpone(self, key: str, delay: float, error: str, *, contact_id: str = "") -> None:
        """Back to pending, to be tried again after `delay` seconds."""
        now = self._clock()
        with self._lock:
            self._lazy(
                "UPDATE outbox SET status = ?, next_attempt = ?, last_error = ?, updated = ?, "
                "contact_id = CASE WHEN ? = '' THEN contact_id ELSE ? END WHERE key = ?",
                (PENDING, now + delay, error, now, contact_id, contact_id, key),
            )

    def retry(self, keys: list[str] | None = None) -> int:
        """Failed (and waiting) entries are tried again now: all of them, or those whose key starts with one given."""
        now = self._clock()
        with self._lock:
            if keys is None:
                return self._db.execute(
                    "UPDATE outbox SET status = ?, next_attempt = ?, updated = ? WHERE status IN (?, ?)",
                    (PENDING, now, now, PENDING, FAILED),
                ).rowcount
            changed = 0
            for key in keys:
                changed += self._db.execute(
                    "UPDATE outbox SET status = ?, next_attempt = ?, updated = ? WHERE key LIKE ? AND status IN (?, ?)",
                    (PENDING, now, now, f"{key}%", PENDING, FAILED),
                ).rowcount
            return changed

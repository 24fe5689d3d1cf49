"""A local index of an address book's phone numbers, for backends that cannot match numbers exactly.

CardDAV servers and many CRMs compare numbers as literal text: "1234567"
does not find "+1 (555) 123-4567". An add-in for such a backend keeps a
`PhoneIndex` of (contact id, number) pairs in its book's data directory,
refreshed from the backend in the background (when, and what happens to writes
made meanwhile, is a `RefreshCoordinator`'s job), and answers number searches
from it: `lookup` returns the ids of contacts whose numbers match (by the same
rules the host uses), which the add-in then reads from the backend.

Blocking (SQLite): call it from a `BlockingConnector` or through `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from . import phone

INDEX_FILE_PREFIX = "numbers-"


def index_file(data_dir: Path, *identity: str) -> Path:
    """The index file for the settings that decide which contacts a book sees (server, account, filters…).

    Other settings see other contacts, so they get a file of their own; `remove_other_index_files` then
    deletes the files of earlier settings.
    """
    fingerprint = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:16]
    return data_dir / f"{INDEX_FILE_PREFIX}{fingerprint}.sqlite3"


def remove_other_index_files(data_dir: Path, keep: Path | None) -> None:
    """Delete the book's index files other than `keep` (all of them with None: the index is turned off)."""
    for path in data_dir.glob(f"{INDEX_FILE_PREFIX}*.sqlite3*"):
        if keep is None or not path.name.startswith(keep.name):
            path.unlink(missing_ok=True)


SCHEMA = """
CREATE TABLE IF NOT EXISTS numbers (contact_id TEXT NOT NULL, number TEXT NOT NULL, tail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS numbers_tail ON numbers (tail);
CREATE INDEX IF NOT EXISTS numbers_contact ON numbers (contact_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class PhoneIndex:
    def __init__(self, path: Path, region: str | None) -> None:
        self.path = path
        self.region = region
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _rows(self, contact_id: str, numbers: Iterable[str]) -> list[tuple[str, str, str]]:
        return [(contact_id, n, phone.index_tail(n, self.region)) for n in numbers if phone.looks_like_number(n)]

    def replace_all(self, entries: Iterable[tuple[str, Iterable[str]]]) -> int:
        """Replace the whole index with (contact id, numbers) pairs read from the backend; returns the count."""
        rows = [row for contact_id, numbers in entries for row in self._rows(contact_id, numbers)]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM numbers")
                self._db.executemany("INSERT INTO numbers (contact_id, number, tail) VALUES (?, ?, ?)", rows)
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('refreshed', ?)", (repr(time.time()),)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(rows)

    def clear(self) -> None:
        """Forget every number and the last refresh (the backend changed: server, user, address book)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM numbers")
            self._db.execute("DELETE FROM meta WHERE key = 'refreshed'")
            self._db.execute("COMMIT")

    def _held(self, contact_id: str) -> list[tuple[str, str, str]]:
        """The rows the index holds for a contact, in the order they were written (call with the lock held)."""
        query = "SELECT contact_id, number, tail FROM numbers WHERE contact_id = ? ORDER BY rowid"
        return [(str(c), str(n), str(t)) for c, n, t in self._db.execute(query, (contact_id,))]

    def update(self, contact_id: str, numbers: Iterable[str]) -> None:
        """Record one contact's numbers after the add-in created or changed it."""
        self.update_many([(contact_id, numbers)])

    def update_many(self, entries: Iterable[tuple[str, Iterable[str]]]) -> int:
        """Record several contacts' numbers, read from the backend just now, in one transaction; a contact whose
        numbers the index already holds, in that order, is not written (an add-in that re-reads the same contacts
        at every search then writes nothing). Returns how many contacts were written."""
        wanted = [(contact_id, self._rows(contact_id, numbers)) for contact_id, numbers in entries]
        with self._lock:
            changed = [(contact_id, rows) for contact_id, rows in wanted if self._held(contact_id) != rows]
            if not changed:
                return 0
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for contact_id, rows in changed:
                    self._db.execute("DELETE FROM numbers WHERE contact_id = ?", (contact_id,))
                    self._db.executemany("INSERT INTO numbers (contact_id, number, tail) VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(changed)

    def remove(self, contact_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM numbers WHERE contact_id = ?", (contact_id,))

    def lookup(self, number: str) -> list[str]:
        """Ids of contacts with a number that matches `number`, verified, without repeats."""
        wanted = phone.phone_key(number, self.region)
        with self._lock:
            rows = self._db.execute(
                "SELECT contact_id, number FROM numbers WHERE tail = ?", (phone.index_tail(number, self.region),)
            ).fetchall()
        ids: dict[str, None] = {}
        for contact_id, stored in rows:
            if phone.numbers_match(wanted, phone.phone_key(stored, self.region)):
                ids[contact_id] = None
        return list(ids)

    def note(self, key: str) -> str | None:
        """A value an add-in stored with the index (`set_note`), or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"note:{key}",)).fetchone()
        return str(row[0]) if row else None

    def set_note(self, key: str, value: str | None) -> None:
        """Store a value with the index, in the same file (None removes it); kept until the file is deleted."""
        with self._lock:
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (f"note:{key}",))
            else:
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"note:{key}", value))

    def refreshed_at(self) -> float | None:
        """When `replace_all` last ran (epoch seconds), or None if never."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'refreshed'").fetchone()
        return float(row[0]) if row else None

    def age(self) -> float:
        """Seconds since the last full refresh (infinite if never)."""
        refreshed = self.refreshed_at()
        return float("inf") if refreshed is None else max(0.0, time.time() - refreshed)

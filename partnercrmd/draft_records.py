"""Draft records: `CreateNewRecord` with `RecordTypeId` alone, then `SaveRecord` of that draft (issue #20).

The published client creates a contact in two steps: `CreateNewRecord` returns
a new, empty record, and `SaveRecord` with that record's `UniqueId` and the
fields creates it. A draft costs the CRM nothing: its id is a signed record id
whose payload names the book, the record type and a random draft number (so it
cannot be forged into another book or type), and nothing is stored until it
is saved.

Saving a draft creates the contact exactly once: the draft number is written
to a small SQLite table (``drafts.sqlite3`` in the data directory) as
``creating`` before the CRM is asked and ``created`` with the new contact's id
after, one save of a draft at a time. A second save of the same draft (a
client retrying after a lost answer, or the user correcting a field) changes
the contact it created instead of creating another. Should the daemon stop
between the CRM's create and the ``created`` mark, the draft stays
``creating`` and later saves are refused (409 ``draft_uncertain``) rather
than risking a second contact.

Methods of `DraftStore` block (sqlite3): call them in a thread.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BadRequest, Conflict
from .signing import Signer

DATABASE_NAME = "drafts.sqlite3"
DRAFT_TTL = 30 * 86400.0
"""A draft can be saved for this long after CreateNewRecord gave it."""
KEEP_SECONDS = 90 * 86400.0
"""How long a saved draft's mapping is kept: longer than a draft lives, so an old draft is never created twice."""
CREATING, CREATED = "creating", "created"

SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    draft TEXT PRIMARY KEY,
    book_id TEXT NOT NULL,
    contact_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Draft:
    """What a draft record's signed id says: the book, the record type, the draft's own number, when it was made."""

    book_id: str
    record_type: str
    number: str
    issued: float


def draft_id(signer: Signer, book_id: str, record_type: str, *, now: float | None = None) -> str:
    """A new draft's `UniqueId`: a record id (SaveRecord takes it) that no CRM has seen."""
    issued = int(time.time() if now is None else now)
    return signer.sign("record", {"b": book_id, "t": record_type, "d": secrets.token_urlsafe(12), "at": issued})


def draft_of(payload: dict[str, Any]) -> Draft | None:
    """The draft a verified record id's payload describes; None for the id of a real record."""
    if "d" not in payload:
        return None
    try:
        draft = Draft(str(payload["b"]), str(payload["t"]), str(payload["d"]), float(payload["at"]))
    except (KeyError, TypeError, ValueError):
        raise BadRequest("The record id is not one this daemon issued.", code="invalid_id") from None
    if time.time() - draft.issued > DRAFT_TTL:
        raise BadRequest(
            "This new record was started more than 30 days ago; create it again (CreateNewRecord).", code="invalid_id"
        )
    return draft


class DraftStore:
    """Which drafts were saved, and as which contact; safe to use from several threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            self._db.execute("DELETE FROM drafts WHERE updated < ?", (time.time() - KEEP_SECONDS,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def saved(self, number: str) -> tuple[str, str] | None:
        """(state, contact id) of a draft saved (or being saved) before; None for a draft never saved."""
        with self._lock:
            row = self._db.execute("SELECT state, contact_id FROM drafts WHERE draft = ?", (number,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def begin(self, number: str, book_id: str) -> None:
        """Mark the draft as being created (committed before the CRM is asked)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO drafts (draft, book_id, state, updated) VALUES (?, ?, ?, ?)",
                (number, book_id, CREATING, time.time()),
            )

    def created(self, number: str, contact_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE drafts SET state = ?, contact_id = ?, updated = ? WHERE draft = ?",
                (CREATED, contact_id, time.time(), number),
            )

    def abandon(self, number: str) -> None:
        """The CRM refused the create: the draft may be saved again."""
        with self._lock:
            self._db.execute("DELETE FROM drafts WHERE draft = ? AND state = ?", (number, CREATING))


class DraftRecords:
    """Saves drafts into their books, each exactly once."""

    def __init__(self, store: DraftStore) -> None:
        self.store = store
        self._locks: dict[str, asyncio.Lock] = {}

    async def save(
        self, draft: Draft, create: Callable[[], Awaitable[str]], change: Callable[[str], Awaitable[None]]
    ) -> str:
        """The id of the contact the draft became: `create()` on its first save, `change(id)` on any later one."""
        lock = self._locks.setdefault(draft.number, asyncio.Lock())
        try:
            async with lock:  # two saves of one draft at once: the second waits and changes what the first made
                return await self._save(draft, create, change)
        finally:
            if not lock.locked():
                self._locks.pop(draft.number, None)

    async def _save(
        self, draft: Draft, create: Callable[[], Awaitable[str]], change: Callable[[str], Awaitable[None]]
    ) -> str:
        saved = await asyncio.to_thread(self.store.saved, draft.number)
        if saved is not None:
            state, contact_id = saved
            if state != CREATED:
                raise Conflict(
                    "This new record may have been created already (the daemon stopped while the address book "
                    "created it): search for it before creating it again.",
                    code="draft_uncertain",
                )
            await change(contact_id)
            return contact_id
        await asyncio.to_thread(self.store.begin, draft.number, draft.book_id)
        try:
            contact_id = await create()
        except Exception:  # the CRM refused it; a cancelled create stays `creating` (it may have gone through)
            await asyncio.to_thread(self.store.abandon, draft.number)
            raise
        await asyncio.to_thread(self.store.created, draft.number, contact_id)
        return contact_id

"""SQLite storage of the local address book, with phone numbers indexed by normalised tail digits.

Blocking: the host calls it from worker threads (see `BlockingConnector`);
one connection, serialised by a lock, in WAL mode so the CLI can import while
the daemon reads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from .. import phone, word_search
from ..model import Activity, CallDirection, Contact, ContactPatch, Phone, PhoneKind, Picture

SCHEMA_VERSION = "2"
"""2: trigram full-text index of search_text (built from the contacts when a version-1 book is opened)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def search_text(contact: Contact) -> str:
    parts = [contact.display_name, contact.first_name, contact.last_name, contact.company, *contact.emails]
    return " ".join(p for p in parts if p).lower()


class LocalStore:
    def __init__(self, path: Path, region: str | None) -> None:
        self.path = path
        self.region = region
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        schema = resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")
        with self._lock:
            self._db.executescript(schema + word_search.fts_schema("contacts", "search_text"))
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is not None and row[0] == "1":
                self._db.execute(word_search.rebuild_sql("contacts"))
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM contacts").fetchone()[0])

    # --- reading -------------------------------------------------------------------------------

    def _load(self, ids: Sequence[str]) -> list[Contact]:
        """Contacts by id, in the order given (call with the lock held)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = {r["id"]: r for r in self._db.execute(f"SELECT * FROM contacts WHERE id IN ({marks})", ids)}
        phones: dict[str, list[Phone]] = {}
        query = f"SELECT contact_id, kind, number FROM phones WHERE contact_id IN ({marks}) ORDER BY position"
        for row in self._db.execute(query, ids):
            phones.setdefault(row["contact_id"], []).append(Phone(row["number"], PhoneKind(row["kind"])))
        return [self._contact(rows[i], phones.get(i, [])) for i in ids if i in rows]

    @staticmethod
    def _contact(row: sqlite3.Row, phones: list[Phone]) -> Contact:
        picture = Picture(row["picture_mime"], bytes(row["picture"])) if row["picture"] is not None else None
        return Contact(
            id=row["id"],
            display_name=row["display_name"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            company=row["company"],
            job_title=row["job_title"],
            phones=phones,
            emails=json.loads(row["emails"]),
            address=row["address"],
            notes=row["notes"],
            url=row["url"],
            picture=picture,
            custom=json.loads(row["custom"]),
        )

    def get(self, contact_id: str) -> Contact | None:
        with self._lock:
            found = self._load([contact_id])
        return found[0] if found else None

    def find_by_number(self, number: str, limit: int) -> list[Contact]:
        """Candidates sharing the number's index tail; the caller verifies them."""
        tail = phone.index_tail(number, self.region)
        with self._lock:
            ids = [
                r[0]
                for r in self._db.execute(
                    "SELECT DISTINCT contact_id FROM phones WHERE tail = ? LIMIT ?", (tail, max(limit, 1) * 4)
                )
            ]
            return self._load(ids)

    def find_by_text(self, text: str, limit: int) -> list[Contact]:
        """Contacts whose name, company or email contain every word of `text` (through the trigram index)."""
        words = text.lower().split()[:8]
        if not words:
            return []
        where, params = word_search.words_where("contacts", "search_text", words)
        sql = f"SELECT id FROM contacts WHERE {where} ORDER BY display_name COLLATE NOCASE, id LIMIT ?"
        with self._lock:
            ids = [r[0] for r in self._db.execute(sql, [*params, limit])]
            return self._load(ids)

    def activities(self, contact_id: str, limit: int) -> list[Activity]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM activities WHERE contact_id = ? ORDER BY start_utc DESC, created DESC LIMIT ?",
                (contact_id, limit),
            ).fetchall()
        return [
            Activity(
                subject=r["subject"],
                body=r["body"],
                direction=CallDirection(r["direction"]),
                start_utc=datetime.fromisoformat(r["start_utc"]),
                duration_seconds=r["duration_seconds"],
                id=r["id"],
            )
            for r in rows
        ]

    # --- writing -------------------------------------------------------------------------------

    def _write_phones(self, contact: Contact) -> None:
        self._db.execute("DELETE FROM phones WHERE contact_id = ?", (contact.id,))
        self._db.executemany(
            "INSERT INTO phones (contact_id, position, kind, number, tail) VALUES (?, ?, ?, ?, ?)",
            [
                (contact.id, i, str(p.kind), p.number, phone.index_tail(p.number, self.region))
                for i, p in enumerate(contact.phones)
                if p.number.strip()
            ],
        )

    def _row(self, contact: Contact) -> dict[str, Any]:
        return {
            "id": contact.id,
            "display_name": contact.display_name or contact.name,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "company": contact.company,
            "job_title": contact.job_title,
            "emails": json.dumps(contact.emails),
            "address": contact.address,
            "notes": contact.notes,
            "url": contact.url,
            "picture_mime": contact.picture.mime_type if contact.picture else None,
            "picture": contact.picture.data if contact.picture else None,
            "custom": json.dumps(contact.custom),
            "search_text": search_text(contact),
        }

    def add_many(self, contacts: Iterable[Contact]) -> list[Contact]:
        """Insert contacts (new ids for those without one or whose id is taken) in one transaction."""
        added: list[Contact] = []
        now = _now()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for contact in contacts:
                    taken = (
                        contact.id and self._db.execute("SELECT 1 FROM contacts WHERE id = ?", (contact.id,)).fetchone()
                    )
                    if not contact.id or taken:
                        contact.id = uuid.uuid4().hex
                    row = self._row(contact) | {"created": now, "updated": now}
                    columns = ", ".join(row)
                    self._db.execute(
                        f"INSERT INTO contacts ({columns}) VALUES ({', '.join(':' + c for c in row)})", row
                    )
                    self._write_phones(contact)
                    added.append(contact)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return added

    def add(self, contact: Contact) -> Contact:
        return self.add_many([contact])[0]

    def update(self, contact_id: str, patch: ContactPatch) -> Contact | None:
        with self._lock:
            found = self._load([contact_id])
            if not found:
                return None
            contact = patch.apply_to(found[0])
            if patch.display_name is None and (patch.first_name is not None or patch.last_name is not None):
                contact.display_name = f"{contact.first_name} {contact.last_name}".strip() or contact.display_name
            row = self._row(contact) | {"updated": _now()}
            assignments = ", ".join(f"{c} = :{c}" for c in row if c != "id")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(f"UPDATE contacts SET {assignments} WHERE id = :id", row)
                self._write_phones(contact)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return contact

    def add_activity(self, contact_id: str, activity: Activity) -> str | None:
        activity_id = uuid.uuid4().hex
        start = activity.start_utc if activity.start_utc.tzinfo else activity.start_utc.replace(tzinfo=UTC)
        with self._lock:
            if not self._db.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone():
                return None
            self._db.execute(
                "INSERT INTO activities"
                " (id, contact_id, subject, body, direction, start_utc, duration_seconds, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    activity_id,
                    contact_id,
                    activity.subject,
                    activity.body,
                    str(activity.direction),
                    start.astimezone(UTC).isoformat(),
                    activity.duration_seconds,
                    _now(),
                ),
            )
        return activity_id

"""A local index of an address book's contacts by name, for backends whose own name search is costly.

Tryton answers a name search by running ILIKE subqueries over every party's code, identifiers, name and contact
mechanisms (about 70 ms of its CPU with 10,000 parties); Active Directory compares a substring filter
(`displayName=*word*`) with every user (Samba: about 300 ms with 10,000 users). An add-in for such a backend keeps
a `NameIndex` beside its `PhoneIndex` (in the same SQLite file): for each contact, its id, its name (for the order
of results) and a searchable text, folded (`searchable_text`). A name search finds the ids here (every folded
word a substring of the text: `words_where`, through a trigram index) and reads just those contacts from the
backend, checking each one again with `holds_every_word` (it may have changed since it was indexed).

Filling it, and knowing whether it is current, is the add-in's job (a full read, a change counter...): the index
only stores and finds. A file whose name index has another schema, or none, is emptied by `prepare`, which says
so; the add-in then fills it in full.

Blocking (SQLite): call it from a `BlockingConnector` or through `asyncio.to_thread`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from .word_search import fold, fts_schema, words_where

SCHEMA_VERSION = "2"
"""Stored in the file's meta table (`names_schema`); version 1 was the Tryton add-in's own table (`party_words`)."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS names (
    rowid INTEGER PRIMARY KEY, contact_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, words TEXT NOT NULL
);
""" + fts_schema("names", "words")
OLD_TABLES = ("party_words",)
"""Name tables of earlier schemas, dropped when a file is prepared."""


def query_words(text: str) -> list[str]:
    """The folded words of a name search, without repeats; every one must be in a contact's text."""
    return list(dict.fromkeys(word for word in (fold(part) for part in text.split()) if word))


def searchable_text(values: Iterable[str]) -> str:
    """What a name search looks in for one contact: each value (names, company, e-mails...) folded, one per line,
    so that a word never spans two values."""
    return "\n".join(fold(value.strip()) for value in values if value.strip())


def holds_every_word(text: str, words: Iterable[str]) -> bool:
    """Whether every folded word is a substring of a `searchable_text`."""
    return all(word in text for word in words)


class NameIndex:
    """Contact id -> (name, folded searchable text), in an index file; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")

    def prepare(self) -> bool:
        """Create the tables; True when the file had no name index of this schema (then it is empty: the caller
        fills it in full, and should also distrust anything else it keeps in the file about names)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                row = self._db.execute("SELECT value FROM meta WHERE key = 'names_schema'").fetchone()
                stale = row is None or row[0] != SCHEMA_VERSION
                if stale:
                    for table in (*OLD_TABLES, "names_fts", "names"):
                        self._db.execute(f"DROP TABLE IF EXISTS {table}")
                    self._db.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('names_schema', ?)", (SCHEMA_VERSION,)
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.executescript(SCHEMA)  # every statement IF NOT EXISTS: a second process preparing is harmless
        return stale

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def replace_all(self, entries: Iterable[tuple[str, str, str]]) -> int:
        """Replace every contact with (id, name, searchable text) rows read from the backend; returns how many."""
        rows = list({contact_id: (contact_id, name, text) for contact_id, name, text in entries}.values())
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM names")
                self._db.executemany("INSERT INTO names (contact_id, name, words) VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(rows)

    def update_many(self, entries: Iterable[tuple[str, str, str]]) -> None:
        """Record contacts' (id, name, searchable text) as the backend holds them now, in one transaction; an empty
        text removes the contact (it has none, or it is gone). Unchanged rows are not rewritten."""
        rows = list(entries)
        gone = [(contact_id,) for contact_id, _, text in rows if not text]
        kept = [row for row in rows if row[2]]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("DELETE FROM names WHERE contact_id = ?", gone)
                self._db.executemany(
                    "INSERT INTO names (contact_id, name, words) VALUES (?, ?, ?) "
                    "ON CONFLICT (contact_id) DO UPDATE SET name = excluded.name, words = excluded.words "
                    "WHERE name != excluded.name OR words != excluded.words",
                    kept,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def update(self, contact_id: str, name: str, text: str) -> None:
        """`update_many` of one contact."""
        self.update_many([(contact_id, name, text)])

    def find(self, words: list[str], limit: int) -> list[str]:
        """Ids of the contacts whose text holds every folded word, ordered by name (then as they were stored);
        at most `limit`."""
        if not words or limit <= 0:
            return []
        where, parameters = words_where("names", "words", words)
        sql = f"SELECT contact_id, words FROM names WHERE {where} ORDER BY name, rowid"  # noqa: S608 (checked names)
        with self._lock:
            rows = self._db.execute(sql, parameters).fetchall()
        return [str(contact_id) for contact_id, text in rows if holds_every_word(text, words)][:limit]

    def count(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM names").fetchone()
        return int(count)

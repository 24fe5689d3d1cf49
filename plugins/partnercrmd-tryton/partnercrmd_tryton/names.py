"""The book's local index of party names: what a name search looks in, folded, in SQLite FTS5.

Tryton answers a name search (`rec_name ilike %word%`) by searching each party's code, identifiers,
name and every contact mechanism with ILIKE subqueries, once per word: about 70 ms of the server's CPU
with 10,000 parties. This store keeps, for each party, its name and code and the values of its contact
mechanisms (e-mails, phones, websites...), case and accents folded, one per line; a name search finds
the ids here and reads just those parties by id. Identifiers are not kept: the add-in's server search,
which runs when the index finds no one, still finds parties by them.

It lives in the same SQLite file as the number index (`numbers.sqlite`), in an FTS5 table with the
trigram tokenizer: a word of three characters or more is found through the trigram index (0.2-1 ms with
10,000 parties, against 2-5 ms for a LIKE scan of a plain table, measured with
SQLite 3.40); a shorter word is matched with LIKE over the table. Every hit is checked in Python
against the stored text, so the trigram match only narrows the candidates.

Blocking (SQLite): the add-in calls it through `asyncio.to_thread`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from partnercrmd.sdk import TRIGRAM, fold, like_pattern, match_expression

NAMES_SCHEMA = "1"
"""Stored in the file's meta table; a file without it (or with another) has its name index rebuilt."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS party_words USING fts5(name UNINDEXED, words, tokenize='trigram');
"""


def query_words(text: str) -> list[str]:
    """The folded words of a name search, without repeats; every one must be in a party's text."""
    return list(dict.fromkeys(word for word in (fold(part) for part in text.split()) if word))


def party_text(name: str, code: str, values: Iterable[str]) -> str:
    """What a name search looks in for one party: folded name, code and contact values, one per line."""
    parts = [name, code, *values]
    return "\n".join(fold(part.strip()) for part in parts if part.strip())


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def record_text(record: Mapping[str, Any]) -> str:
    """`party_text` of a party read with PARTY_FIELDS (its dotted `contact_mechanisms.` rows)."""
    mechanisms = record.get("contact_mechanisms.")
    rows = [m for m in mechanisms if isinstance(m, dict)] if isinstance(mechanisms, list) else []
    return party_text(_text(record.get("name")), _text(record.get("code")), (_text(m.get("value")) for m in rows))


def holds_every_word(text: str, words: Iterable[str]) -> bool:
    return all(word in text for word in words)


class NameStore:
    """Party id -> (name, folded searchable text), in the book's index file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")

    def prepare(self) -> bool:
        """Create the table; True when the file had no name index of this schema (the caller refills it all)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                row = self._db.execute("SELECT value FROM meta WHERE key = 'names_schema'").fetchone()
                stale = row is None or row[0] != NAMES_SCHEMA
                if stale:
                    self._db.execute("DROP TABLE IF EXISTS party_words")
                    self._db.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('names_schema', ?)", (NAMES_SCHEMA,)
                    )
                for statement in SCHEMA.strip().split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return stale

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def replace_all(self, entries: Iterable[tuple[int, str, str]]) -> int:
        """Replace every party with (id, name, text) rows read from the server; returns how many."""
        rows = list(entries)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM party_words")
                self._db.executemany("INSERT INTO party_words (rowid, name, words) VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(rows)

    def update(self, pid: int, name: str, text: str) -> None:
        """Record one party's name and text after the add-in created or changed it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM party_words WHERE rowid = ?", (pid,))
                self._db.execute("INSERT INTO party_words (rowid, name, words) VALUES (?, ?, ?)", (pid, name, text))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def find(self, words: list[str], limit: int) -> list[int]:
        """Ids of the parties whose text holds every folded word, in Tryton's order (name, id); at most `limit`."""
        if not words or limit <= 0:
            return []
        long_words = [w for w in words if len(w) >= TRIGRAM]  # the rest: a LIKE scan, then the check below
        if long_words:
            sql = "SELECT rowid, words FROM party_words WHERE party_words MATCH ? ORDER BY name, rowid"
            parameter = match_expression(long_words)
        else:
            sql = "SELECT rowid, words FROM party_words WHERE words LIKE ? ESCAPE '\\' ORDER BY name, rowid"
            parameter = like_pattern(max(words, key=len))
        with self._lock:
            rows = self._db.execute(sql, (parameter,)).fetchall()
        return [int(pid) for pid, text in rows if holds_every_word(text, words)][:limit]

    def count(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM party_words").fetchone()
        return int(count)

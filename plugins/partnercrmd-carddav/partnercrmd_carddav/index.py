"""The local index: what the add-in remembers of the address book between runs (ETag, UID, numbers, names).

Kept in SQLite in the book's data directory beside partnercrmd's `PhoneIndex`,
so a restart answers searches at once and the next refresh fetches only the
cards whose ETag changed. The folded words (name, company, emails, nickname)
answer name searches without the server's addressbook-query, which on a big
address book is slow (Radicale: about 15 s for 10,000 cards). Blocking: call
it from a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from partnercrmd.sdk import fts_schema, rebuild_sql, words_where

SCHEMA_VERSION = "3"
"""3: a trigram index of the words (name searches no longer read every row)."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    name TEXT PRIMARY KEY, etag TEXT NOT NULL, uid TEXT NOT NULL, numbers TEXT NOT NULL,
    words TEXT NOT NULL, sort_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""" + fts_schema("cards", "words")


INSERT_CARD = "INSERT OR REPLACE INTO cards (name, etag, uid, numbers, words, sort_key) VALUES (?, ?, ?, ?, ?, ?)"


@dataclass(frozen=True)
class CardRecord:
    name: str
    etag: str
    uid: str
    numbers: tuple[str, ...]
    words: str
    """Folded name, company, emails and nickname, one per line (a query word never spans two)."""
    sort_key: str


class CardStore:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        version = self._meta("schema")
        if version == "2":  # the same cards, without the word index yet: index them
            self._db.execute(rebuild_sql("cards"))
            self._set_meta("schema", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:  # an older layout: start afresh, the server has everything
            self._db.executescript("DROP TABLE IF EXISTS cards_fts; DROP TABLE cards; DROP TABLE meta;" + SCHEMA)
            self._set_meta("schema", SCHEMA_VERSION)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def bind(self, source: str) -> bool:
        """Use the store for `source` (server, user, address book); True if kept, False if it held another's cards."""
        with self._lock:
            if self._meta("source") == source:
                return True
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM cards")
            self._db.execute("DELETE FROM meta")
            self._set_meta("schema", SCHEMA_VERSION)
            self._set_meta("source", source)
            self._db.execute("COMMIT")
            return False

    @property
    def filled(self) -> bool:
        """Whether one full listing has been stored (the indexes can answer)."""
        with self._lock:
            return self._meta("filled") is not None

    def token(self) -> str:
        with self._lock:
            return self._meta("token") or ""

    def listed_at(self) -> float:
        """When the last full listing was stored (epoch seconds; 0 if never)."""
        with self._lock:
            return float(self._meta("listed") or 0)

    def count(self) -> int:
        """How many cards the store holds."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM cards").fetchone()[0])

    def etags(self) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT name, etag FROM cards").fetchall())

    def uid(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT uid FROM cards WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def numbers(self) -> list[tuple[str, list[str]]]:
        """(card name, numbers) of every card, for rebuilding the phone index."""
        with self._lock:
            rows = self._db.execute("SELECT name, numbers FROM cards").fetchall()
        return [(str(name), list(json.loads(numbers))) for name, numbers in rows]

    def find_words(self, words: list[str], limit: int) -> list[str]:
        """Names of the cards holding every (folded) word, in name order; at most `limit`."""
        if not words:
            return []
        where, params = words_where("cards", "words", words)
        with self._lock:
            rows = self._db.execute(
                f"SELECT name FROM cards WHERE {where} ORDER BY sort_key, name LIMIT ?",  # noqa: S608  (no input)
                [*params, max(limit, 1)],
            ).fetchall()
        return [str(name) for (name,) in rows]

    def apply(self, changed: Iterable[CardRecord], removed: Iterable[str], *, listing: bool = False) -> None:
        """Record changed and removed cards.

        For a refresh's `listing`, the token is cleared until `finish` stores the new one, so a crash in between
        shows as an empty token and the next refresh rebuilds the phone index.
        """
        rows = [(r.name, r.etag, r.uid, json.dumps(list(r.numbers)), r.words, r.sort_key) for r in changed]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(INSERT_CARD, rows)
                self._db.executemany("DELETE FROM cards WHERE name = ?", [(name,) for name in removed])
                if listing:
                    self._set_meta("token", "")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def finish(self, token: str) -> None:
        """A full listing up to `token` is stored and the phone index is in step with it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._set_meta("token", token)
            self._set_meta("listed", repr(time.time()))
            self._set_meta("filled", "1")
            self._db.execute("COMMIT")

"""What the connector needs from a database, whichever driver serves it, and a small pool of connections.

A `Driver` knows how to reach one database (an SQLite file, a PostgreSQL server) and
the few SQL spellings that differ between them; a `Database` is one open connection.
Every driver error leaves a `Database` method as an `AddinError` with a stable key and
words for the user, so the connector never sees `sqlite3` or `psycopg` exceptions.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TypeVar

from partnercrmd.sdk import AddinError

from .sqltext import Statement, quote

T = TypeVar("T")
Params = Mapping[str, object]
ResultRow = dict[str, object]


class Database(ABC):
    """One open connection; used by one thread at a time (the pool sees to that)."""

    broken = False
    """Set when the connection can no longer be used (server gone, connection lost)."""

    @abstractmethod
    def fetch(self, statement: Statement, params: Params, limit: int) -> list[ResultRow]:
        """At most `limit` rows of a query, as {column name: value}."""

    @abstractmethod
    def write(self, statement: Statement, params: Params) -> str | None:
        """Run an insert or update; the first column of the row it returns (RETURNING id), else the new rowid."""

    @abstractmethod
    def write_and_roll_back(self, statement: Statement, params: Params) -> None:
        """Run a write inside a transaction that is rolled back: proves permission without changing anything."""

    @abstractmethod
    def ping(self) -> None:
        """A cheap round trip; raises when the connection is dead."""

    @abstractmethod
    def close(self) -> None: ...


class Driver(ABC):
    """How to reach one database, and the SQL spellings that differ between engines."""

    name: str
    """"SQLite", "PostgreSQL", "MariaDB" or "MySQL", for messages."""

    version_sql: str
    """A query whose one value is the database's version (for diagnostics)."""

    @abstractmethod
    def connect(self) -> Database:
        """A new connection; AddinError (`cannot_connect`, `invalid_auth`, `timeout`) when there is none."""

    @abstractmethod
    def where(self) -> str:
        """The database in words ("the SQLite file /srv/crm.db", "PostgreSQL at db.example:5432")."""

    @abstractmethod
    def digits(self, expression: str) -> str:
        """SQL for the digits of a value, every other character dropped."""

    @abstractmethod
    def contains(self, expression: str, parameter: str) -> str:
        """SQL true when the value contains the LIKE pattern `:parameter` (escaped with \\), ignoring case."""

    @abstractmethod
    def fold(self, text: str) -> str:
        """A search word as `contains` compares it."""

    def quote(self, name: str) -> str:
        """A checked table or column name as a quoted identifier."""
        return quote(name)

    def login(self) -> str:
        """Who the driver signs in as, for the connection check ("" when there is no sign-in)."""
        return ""


class ConnectionPool:
    """A few open connections shared by the book's worker threads, each used by one thread at a time.

    A connection that failed with `broken` set is closed, never reused. A read that fails on a
    reused connection which turns out to be dead (the server restarted since) is tried once more
    on a fresh one; a write first checks a reused connection with a ping, so a write is never sent twice.
    """

    def __init__(self, driver: Driver, size: int = 4) -> None:
        self.driver = driver
        self.size = size
        self._idle: list[Database] = []
        self._lock = threading.Lock()
        self._closed = False

    def _take(self) -> tuple[Database, bool]:
        with self._lock:
            if self._closed:
                raise AddinError("This address book has been closed.", code="unknown")
            if self._idle:
                return self._idle.pop(), True
        return self.driver.connect(), False

    def _give_back(self, database: Database, discard: bool) -> None:
        with self._lock:
            keep = not (discard or database.broken or self._closed) and len(self._idle) < self.size
            if keep:
                self._idle.append(database)
        if not keep:
            _close_quietly(database)

    def run(self, work: Callable[[Database], T], *, write: bool = False) -> T:
        """`work` with a connection of the pool."""
        for attempt in (1, 2):
            database, reused = self._take()
            sent = False
            try:
                if write and reused:
                    database.ping()
                sent = True
                result = work(database)
            except AddinError:
                self._give_back(database, discard=True)
                if reused and database.broken and attempt == 1 and not (write and sent):
                    continue  # a connection the server dropped while idle: try a fresh one
                raise
            except BaseException:
                self._give_back(database, discard=True)
                raise
            self._give_back(database, discard=False)
            return result
        raise AssertionError("unreachable")  # pragma: no cover  (the loop returns or raises)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for database in idle:
            _close_quietly(database)


def _close_quietly(database: Database) -> None:
    with contextlib.suppress(AddinError):
        database.close()

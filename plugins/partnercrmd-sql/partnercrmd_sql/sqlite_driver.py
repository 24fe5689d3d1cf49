"""SQLite files, through the standard library's `sqlite3`.

The file is opened read-write but never created (a wrong path is an error, not a new
empty database). Each connection gets two SQL functions for matching: `digits(x)` (the
digits of a value, so "+44 (0)20 7946-0958" compares as 4402079460958) and `fold(x)`
(case and accents ignored, so "societe" finds "Société"); the user's own queries may use them too.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import quote as quote_url

import phonenumbers

from partnercrmd.sdk import AddinError

from .client import Database, Driver, Params, ResultRow
from .sqltext import Statement, quote_brackets

RETURNING_SINCE = (3, 35, 0)
"""SQLite understands INSERT … RETURNING from this version on."""


_NOT_DIGITS = re.compile(r"\D")


def sql_digits(value: object) -> str | None:
    """The `digits()` SQL function: every digit of a value (other scripts' digits as 0-9)."""
    if value is None:
        return None
    found = _NOT_DIGITS.sub("", str(value))  # called for every row a number search reads: keep it quick
    return found if found.isascii() else phonenumbers.normalize_digits_only(found)


def sql_fold(value: object) -> str | None:
    """The `fold()` SQL function: text without case and accents."""
    if value is None:
        return None
    decomposed = unicodedata.normalize("NFKD", str(value).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _bindable(params: Params) -> dict[str, object]:
    """Parameters as sqlite3 takes them: times as ISO 8601 text (the module's own adapter is deprecated)."""
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in params.items()}


class SqliteDatabase(Database):
    def __init__(self, connection: sqlite3.Connection, driver: SqliteDriver) -> None:
        self.connection = connection
        self.driver = driver

    @contextmanager
    def _guard(self, statement: Statement | None) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self.driver.translate(exc, statement) from None

    def fetch(self, statement: Statement, params: Params, limit: int) -> list[ResultRow]:
        with self._guard(statement):
            cursor = self.connection.execute(statement.sql, _bindable(params))
            try:
                names = [column[0] for column in cursor.description or ()]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchmany(limit)]
            finally:
                cursor.close()

    def write(self, statement: Statement, params: Params) -> str | None:
        with self._guard(statement):
            cursor = self.connection.execute(statement.sql, _bindable(params))
            try:
                rows = cursor.fetchall() if cursor.description else []
                if rows and rows[0][0] is not None:
                    return str(rows[0][0])
                return str(cursor.lastrowid) if cursor.lastrowid else None
            finally:
                cursor.close()

    def write_and_roll_back(self, statement: Statement, params: Params) -> None:
        with self._guard(statement):
            self.connection.execute("BEGIN")
            try:
                self.connection.execute(statement.sql, _bindable(params)).close()
            finally:
                self.connection.execute("ROLLBACK")

    def ping(self) -> None:
        with self._guard(None):
            self.connection.execute("SELECT 1").close()

    def close(self) -> None:
        self.connection.close()


class SqliteDriver(Driver):
    name = "SQLite"
    version_sql = "SELECT sqlite_version()"

    def __init__(self, path: Path, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout

    def where(self) -> str:
        return f"the SQLite file {self.path}"

    def connect(self) -> Database:
        if not self.path.exists():
            raise AddinError(
                f"The SQLite file {self.path} does not exist; check the setting 'path'.", code="cannot_connect"
            )
        if not self.path.is_file():
            raise AddinError(
                f"{self.path} is not a file; the setting 'path' must name the database file.", code="cannot_connect"
            )
        uri = f"file:{quote_url(str(self.path))}?mode=rw"
        try:
            connection = sqlite3.connect(
                uri, uri=True, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self.translate(exc, None) from None
        try:
            connection.create_function("digits", 1, sql_digits, deterministic=True)
            connection.create_function("fold", 1, sql_fold, deterministic=True)
            connection.execute("SELECT count(*) FROM sqlite_master").close()  # fails now if it is no database
        except sqlite3.Error as exc:
            connection.close()
            raise self.translate(exc, None) from None
        return SqliteDatabase(connection, self)

    def quote(self, name: str) -> str:
        return quote_brackets(name)

    def digits(self, expression: str) -> str:
        return f"digits({expression})"

    def contains(self, expression: str, parameter: str) -> str:
        return f"fold({expression}) LIKE :{parameter} ESCAPE '\\'"

    def fold(self, text: str) -> str:
        return sql_fold(text) or ""

    def translate(self, exc: sqlite3.Error, statement: Statement | None) -> AddinError:
        """Words and a stable key for an sqlite3 error."""
        detail = str(exc).strip()[:300] or type(exc).__name__
        lowered = detail.lower()
        origin = statement.origin if statement else "opening the file"
        if isinstance(exc, sqlite3.IntegrityError):
            return AddinError(f"The database refused the record ({detail}).", code="invalid_data")
        if "locked" in lowered or "busy" in lowered:
            return AddinError(
                f"{self.where()} is locked by another program; try again in a moment ({detail}).", code="timeout"
            )
        if "readonly" in lowered or "read-only" in lowered:
            return AddinError(
                f"partnercrmd may not write to {self.where()} ({detail}); check the file's permissions.",
                code="invalid_auth",
            )
        if "unable to open" in lowered or "disk i/o" in lowered:
            return AddinError(f"{self.where()} cannot be opened ({detail}).", code="cannot_connect")
        if "not a database" in lowered:
            return AddinError(
                f"{self.where()} is not an SQLite database; check the setting 'path'.", code="invalid_data"
            )
        if re.match(r"no such (table|column|function)", lowered):
            return AddinError(
                f"{_capital(origin)} does not match the database: {detail}; check the table and column names.",
                code="invalid_data",
            )
        if "syntax error" in lowered or isinstance(exc, sqlite3.ProgrammingError):
            return AddinError(f"{_capital(origin)} is not SQL SQLite can run: {detail}.", code="invalid_data")
        return AddinError(f"{_capital(origin)} failed in {self.where()}: {detail}.", code="unknown")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def sqlite_version() -> tuple[int, ...]:
    return tuple(int(part) for part in sqlite3.sqlite_version.split("."))

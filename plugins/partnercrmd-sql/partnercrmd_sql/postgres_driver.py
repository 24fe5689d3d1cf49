"""PostgreSQL, through psycopg 3 (synchronous; the host runs every call in the book's worker threads).

Connections are made with a connect timeout, so an unreachable server fails fast, and a
statement timeout, so a runaway query cannot hold a worker thread for long. The password
comes from its own secret setting, never from the connection string, and never appears in
an error message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from partnercrmd.sdk import AddinError, ConfigError

from .client import Database, Driver, Params, ResultRow
from .sqltext import Statement, to_pyformat

STATEMENT_TIMEOUT_MS = 10_000
_AUTH_WORDS = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "no pg_hba.conf entry",
)

Connection = psycopg.Connection[ResultRow]


def parse_dsn(dsn: str) -> dict[str, str]:
    """The connection string's parts; ConfigError when it cannot be read or holds a password."""
    try:
        parts = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    except psycopg.ProgrammingError as exc:
        # libpq quotes the string back; leave that out when it may hold a password typed in the wrong place
        detail = "" if "password" in dsn.lower() else f" ({str(exc).strip()[:200]})"
        raise ConfigError(
            "The setting 'dsn' is not a PostgreSQL connection string such as "
            f"'host=db.example port=5432 dbname=crm user=partnercrmd'{detail}."
        ) from None
    if "password" in parts:
        raise ConfigError(
            "The setting 'dsn' contains a password; remove it from there and put it in the setting 'password', "
            "which partnercrmd keeps encrypted."
        )
    return parts


class PostgresDatabase(Database):
    def __init__(self, connection: Connection, driver: PostgresDriver) -> None:
        self.connection = connection
        self.driver = driver

    @contextmanager
    def _guard(self, statement: Statement | None) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            self.broken = self.connection.broken or self.connection.closed
            raise self.driver.translate(exc, statement, lost=self.broken) from None

    def fetch(self, statement: Statement, params: Params, limit: int) -> list[ResultRow]:
        with self._guard(statement), self.connection.cursor() as cursor:
            cursor.execute(to_pyformat(statement.sql), params)
            return cursor.fetchmany(limit) if cursor.description else []

    def write(self, statement: Statement, params: Params) -> str | None:
        with self._guard(statement), self.connection.cursor() as cursor:
            cursor.execute(to_pyformat(statement.sql), params)
            row = cursor.fetchone() if cursor.description else None
            if row:
                first = next(iter(row.values()))
                return None if first is None else str(first)
            return None

    def write_and_roll_back(self, statement: Statement, params: Params) -> None:
        with self._guard(statement), self.connection.transaction(force_rollback=True):
            self.connection.execute(to_pyformat(statement.sql), params)

    def ping(self) -> None:
        with self._guard(None):
            self.connection.execute("SELECT 1")

    def close(self) -> None:
        self.connection.close()


class PostgresDriver(Driver):
    name = "PostgreSQL"
    version_sql = "SHOW server_version"

    def __init__(self, dsn: str, password: str, connect_timeout: int) -> None:
        self.dsn = dsn
        self.parts = parse_dsn(dsn)
        self.password = password
        self.connect_timeout = connect_timeout

    def where(self) -> str:
        host = self.parts.get("host") or self.parts.get("hostaddr") or "localhost"
        port = self.parts.get("port") or "5432"
        place = f"the socket in {host}" if host.startswith("/") else f"{host}:{port}"
        database = self.parts.get("dbname")
        return f"PostgreSQL at {place}" + (f" (database {database})" if database else "")

    def login(self) -> str:
        return self.parts.get("user", "")

    def connect(self) -> Database:
        try:
            connection = psycopg.Connection.connect(
                self.dsn,
                row_factory=dict_row,
                autocommit=True,
                connect_timeout=max(2, self.connect_timeout),
                password=self.password or None,  # None: libpq's own sources (.pgpass, PGPASSWORD)
                application_name=None if "application_name" in self.parts else "partnercrmd",
            )
        except psycopg.Error as exc:
            raise self.connect_failure(exc) from None
        # Never prepared statements: PostgreSQL plans a prepared search once for any pattern (a generic plan, after
        # five runs), and `LIKE $1` then cannot use the trigram index the README recommends; every search would scan
        # the table again (30 ms instead of 3 at 10,000 rows). Unprepared, each search is planned for its pattern.
        connection.prepare_threshold = None
        try:
            connection.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS:d}")
        except psycopg.Error as exc:
            connection.close()
            raise self.translate(exc, None, lost=True) from None
        return PostgresDatabase(connection, self)

    def digits(self, expression: str) -> str:
        return f"regexp_replace(CAST({expression} AS text), '[^0-9]', '', 'g')"

    def contains(self, expression: str, parameter: str) -> str:
        return f"CAST({expression} AS text) ILIKE :{parameter} ESCAPE '\\'"

    def fold(self, text: str) -> str:
        return text

    def _detail(self, exc: psycopg.Error) -> str:
        """The server's own words, without libpq's preamble, and never the password."""
        text = str(exc).strip()
        text = text.rsplit(" failed: ", 1)[-1]
        text = text.removeprefix("FATAL:").strip().splitlines()[0] if text else type(exc).__name__
        if self.password:
            text = text.replace(self.password, "***")
        return text[:300]

    def connect_failure(self, exc: psycopg.Error) -> AddinError:
        """Why no connection could be made: refused, timed out, wrong login, no such database."""
        detail = self._detail(exc)
        lowered = str(exc).lower()
        where = self.where()
        if "database" in lowered and "does not exist" in lowered:
            return AddinError(
                f"{where} has no such database ({detail}); check 'dbname' in the setting 'dsn'.", code="cannot_connect"
            )
        unknown_role = "role" in lowered and "does not exist" in lowered
        if unknown_role or any(words in lowered for words in _AUTH_WORDS):
            user = self.login() or "(default user)"
            return AddinError(
                f"{where} refused the login of user {user}: wrong password or unknown user ({detail}). "
                "Check the user in the setting 'dsn' and the setting 'password'.",
                code="invalid_auth",
            )
        if "timeout expired" in lowered or "timed out" in lowered:
            return AddinError(
                f"{where} did not answer within {max(2, self.connect_timeout)} s; check the host and port in 'dsn' "
                "and that no firewall drops the connection.",
                code="timeout",
            )
        if "connection refused" in lowered:
            return AddinError(
                f"Cannot reach {where} (connection refused): is the server running and listening there?",
                code="cannot_connect",
            )
        return AddinError(f"Cannot reach {where} ({detail}).", code="cannot_connect")

    def translate(self, exc: psycopg.Error, statement: Statement | None, *, lost: bool) -> AddinError:
        """Words and a stable key for an error of a statement."""
        detail = self._detail(exc) if lost else (exc.diag.message_primary or self._detail(exc))
        origin = statement.origin if statement else "a check of the connection"
        state = exc.sqlstate or ""
        if lost or (isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and not state):
            return AddinError(
                f"The connection to {self.where()} was lost ({detail}); is the server running?", code="cannot_connect"
            )
        message, key = _statement_failure(state, origin, detail, self.where())
        return AddinError(message, code=key)


def _statement_failure(state: str, origin: str, detail: str, where: str) -> tuple[str, str]:
    """(message, key) for a statement the server refused, by its SQLSTATE."""
    subject = origin[:1].upper() + origin[1:]
    if state == "42501":
        return f"The database user may not do what {origin} needs ({detail}); ask for the permission.", "invalid_auth"
    if state.startswith("28"):
        return f"{where} refused the login ({detail}).", "invalid_auth"
    if state in {"42P01", "42703", "42883", "3F000"}:
        return f"{subject} does not match the database: {detail}; check the table and column names.", "invalid_data"
    if state.startswith("42"):
        return f"{subject} is not SQL PostgreSQL can run: {detail}.", "invalid_data"
    if state == "57014":
        return f"{subject} took longer than {STATEMENT_TIMEOUT_MS // 1000} s and was stopped.", "timeout"
    if state.startswith(("57P", "08")):
        return f"The connection to {where} was lost ({detail}); is the server running?", "cannot_connect"
    if state.startswith(("22", "23")):
        return f"The database refused the values ({detail}).", "invalid_data"
    return f"{subject} failed in {where}: {detail}.", "unknown"

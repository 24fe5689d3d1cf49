"""MariaDB and MySQL, through PyMySQL (synchronous; the host runs every call in the book's worker threads).

PyMySQL is pure Python, well kept and needs no client library, so the add-in installs the same
way on Linux, Windows and macOS. It is synchronous like psycopg here: the add-in is a
`BlockingConnector` whose methods the host runs in the book's own worker threads, with a
small pool of connections (client.py), so an async driver would only add a second event loop.

Connections are made with a connect timeout and a read timeout, and each session gets a
statement time limit (`max_statement_time` in MariaDB, `max_execution_time` in MySQL), so
neither an unreachable server nor a runaway query holds a worker thread for long. Times are
exchanged in UTC (the session's `time_zone` is `+00:00`). The password comes from its own
secret setting, never from the connection setting, and never appears in an error message.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pymysql
import pymysql.cursors

from partnercrmd.sdk import AddinError, ConfigError

from .client import Database, Driver, Params, ResultRow
from .sqltext import IDENTIFIER, Statement, to_pyformat

STATEMENT_TIMEOUT_S = 10
READ_TIMEOUT_S = STATEMENT_TIMEOUT_S + 5
"""A server that stops answering mid-statement is given up after this long (the statement limit, and some)."""
DEFAULT_PORT = 3306
URL_SCHEMES = ("mariadb", "mysql")
TLS_MODES = ("disabled", "preferred", "required", "verify_ca", "verify_identity")
KEYS = frozenset(
    {"host", "port", "user", "database", "dbname", "unix_socket", "ssl_mode", "ssl_ca", "ssl_cert", "ssl_key"}
)
"""What the connection setting may hold (`dbname` is accepted as another word for `database`)."""

# MySQL/MariaDB error numbers (the server's own, and the client library's 2xxx)
_ACCESS_DENIED = {1045, 1044, 1698, 1251}
_UNKNOWN_DATABASE = 1049
_NO_PERMISSION = {1142, 1143, 1227, 1370}
_NOT_MATCHING = {1146, 1054, 1305, 1109, 1051}
_TIMEOUTS = {1969, 3024, 1205, 1317}
_REFUSED_VALUES = {1048, 1062, 1216, 1217, 1264, 1265, 1292, 1364, 1366, 1406, 1451, 1452, 4025, 3819}
_LOST = {2006, 2013, 2055, 1053, 1927, 4031}


def parse_connection(text: str, setting: str = "dsn") -> dict[str, str]:
    """The connection setting's parts: `mariadb://user@host:port/db?ssl_mode=…` or `host=… port=… database=… user=…`.

    ConfigError when it cannot be read, names an unknown key, or holds a password.
    """
    text = text.strip()
    example = "'host=db.example port=3306 database=crm user=partnercrmd' or mariadb://partnercrmd@db.example/crm"
    parts: dict[str, str] = {}
    if "://" in text:
        url = urlsplit(text)
        if url.scheme.lower() not in URL_SCHEMES:
            raise ConfigError(f"The setting '{setting}' must start with mariadb:// or mysql://, e.g. {example}.")
        if url.password is not None:
            raise _password_refused(setting)
        try:
            port = url.port
        except ValueError:
            raise ConfigError(f"The setting '{setting}' has a port that is not a number; e.g. {example}.") from None
        if url.hostname:
            parts["host"] = url.hostname
        if port is not None:
            parts["port"] = str(port)
        if url.username:
            parts["user"] = unquote(url.username)
        if url.path.strip("/"):
            parts["database"] = unquote(url.path.strip("/"))
        pairs = parse_qsl(url.query, keep_blank_values=True)
    else:
        pairs = []
        for item in text.split():
            key, equals, value = item.partition("=")
            if not equals:
                raise ConfigError(f"The setting '{setting}' must be key=value pairs or an address, e.g. {example}.")
            pairs.append((key, value))
    for key, value in pairs:
        key = key.strip().lower()
        if key in {"password", "passwd"}:
            raise _password_refused(setting)
        if key not in KEYS:
            raise ConfigError(
                f"The setting '{setting}' has the unknown key {key[:40]!r}; use {', '.join(sorted(KEYS))}."
            )
        parts["database" if key == "dbname" else key] = value.strip()
    return _checked(parts, setting)


def _password_refused(setting: str) -> ConfigError:
    return ConfigError(
        f"The setting '{setting}' contains a password; remove it from there and put it in the setting 'password', "
        "which partnercrmd keeps encrypted."
    )


def _checked(parts: dict[str, str], setting: str) -> dict[str, str]:
    if "port" in parts and not (parts["port"].isdigit() and 0 < int(parts["port"]) < 65536):
        raise ConfigError(f"The setting '{setting}' has the port {parts['port'][:20]!r}; give a number such as 3306.")
    mode = parts.get("ssl_mode", "").lower()
    if mode and mode not in TLS_MODES:
        raise ConfigError(f"The setting '{setting}' has ssl_mode={mode[:30]!r}; use one of {', '.join(TLS_MODES)}.")
    if mode:
        parts["ssl_mode"] = mode
    if mode == "verify_ca" and not parts.get("ssl_ca"):
        raise ConfigError(f"The setting '{setting}' asks for ssl_mode=verify_ca: give ssl_ca, the CA file to trust.")
    if bool(parts.get("ssl_cert")) != bool(parts.get("ssl_key")):
        raise ConfigError(f"The setting '{setting}' needs both ssl_cert and ssl_key for a client certificate.")
    if "database" in parts and parts["database"] and not IDENTIFIER.fullmatch(parts["database"]):
        raise ConfigError(f"The setting '{setting}' names the database {parts['database'][:80]!r}; use a plain name.")
    return parts


def tls_context(parts: Mapping[str, str]) -> ssl.SSLContext | None:
    """The TLS the connection setting asks for; None: PyMySQL's own default (TLS when the server offers it).

    `ssl_ca` alone means verify_identity: a CA given is a CA to check the server against, host name included.
    """
    mode = parts.get("ssl_mode") or ("verify_identity" if parts.get("ssl_ca") else "preferred")
    if mode in {"disabled", "preferred"}:
        return None
    context = ssl.create_default_context(cafile=parts.get("ssl_ca") or None)
    if mode == "required" and not parts.get("ssl_ca"):
        context.check_hostname = False  # encrypted, the server not verified: what 'required' says (as libpq's)
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = mode == "verify_identity"
    if parts.get("ssl_cert"):
        context.load_cert_chain(parts["ssl_cert"], parts["ssl_key"])
    return context


def _bindable(params: Params) -> dict[str, object]:
    """Parameters as the server takes them: aware times as UTC without an offset (the session's time zone is UTC)."""
    return {
        key: value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo else value
        for key, value in params.items()
    }


class MariaDbDatabase(Database):
    def __init__(self, connection: pymysql.connections.Connection[Any], driver: MariaDbDriver) -> None:
        self.connection = connection
        self.driver = driver

    @contextmanager
    def _guard(self, statement: Statement | None) -> Iterator[None]:
        try:
            yield
        except (pymysql.MySQLError, OSError) as exc:
            number = _number(exc)
            self.broken = (
                number in _LOST or not self.connection.open or isinstance(exc, OSError | pymysql.InterfaceError)
            )
            raise self.driver.translate(exc, statement, lost=self.broken) from None

    def _cursor(self) -> pymysql.cursors.DictCursor:
        return self.connection.cursor(pymysql.cursors.DictCursor)

    def fetch(self, statement: Statement, params: Params, limit: int) -> list[ResultRow]:
        with self._guard(statement), self._cursor() as cursor:
            cursor.execute(to_pyformat(statement.sql), _bindable(params))
            return [dict(row) for row in cursor.fetchmany(limit)] if cursor.description else []

    def write(self, statement: Statement, params: Params) -> str | None:
        with self._guard(statement), self._cursor() as cursor:
            cursor.execute(to_pyformat(statement.sql), _bindable(params))
            row = cursor.fetchone() if cursor.description else None  # MariaDB's INSERT … RETURNING
            if row:
                first = next(iter(row.values()))
                return None if first is None else str(first)
            return str(cursor.lastrowid) if cursor.lastrowid else None  # AUTO_INCREMENT; 0 when the table has none

    def write_and_roll_back(self, statement: Statement, params: Params) -> None:
        with self._guard(statement):
            self.connection.begin()
            try:
                with self._cursor() as cursor:
                    cursor.execute(to_pyformat(statement.sql), _bindable(params))
            finally:
                if self.connection.open:
                    self.connection.rollback()

    def ping(self) -> None:
        with self._guard(None), self._cursor() as cursor:
            cursor.execute("SELECT 1")

    def close(self) -> None:
        if self.connection.open:
            self.connection.close()


class MariaDbDriver(Driver):
    """MariaDB or MySQL (`name` says which the user chose, for messages; the server's own kind picks the SQL)."""

    version_sql = "SELECT VERSION()"

    def __init__(self, connection: str, password: str, connect_timeout: int, name: str = "MariaDB") -> None:
        self.name = name
        self.parts = parse_connection(connection)
        self.password = password
        self.connect_timeout = max(2, connect_timeout)
        self.tls = tls_context(self.parts)

    def where(self) -> str:
        socket_path = self.parts.get("unix_socket")
        if socket_path:
            place = f"the socket {socket_path}"
        else:
            place = f"{self.parts.get('host') or 'localhost'}:{self.parts.get('port') or DEFAULT_PORT}"
        database = self.parts.get("database")
        return f"{self.name} at {place}" + (f" (database {database})" if database else "")

    def login(self) -> str:
        return self.parts.get("user", "")

    def connect(self) -> Database:
        parts = self.parts
        try:
            connection: pymysql.connections.Connection[Any] = pymysql.connect(
                host=parts.get("host") or "localhost",
                port=int(parts.get("port") or DEFAULT_PORT),
                unix_socket=parts.get("unix_socket") or None,
                user=parts.get("user") or None,
                password=self.password,
                database=parts.get("database") or None,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=self.connect_timeout,
                read_timeout=READ_TIMEOUT_S,
                write_timeout=READ_TIMEOUT_S,
                ssl=self.tls,
                ssl_disabled=parts.get("ssl_mode") == "disabled" or None,
                program_name="partnercrmd",
            )
        except (pymysql.MySQLError, OSError, ssl.SSLError) as exc:
            raise self.connect_failure(exc) from None
        # A time limit on every statement, and times in UTC; MariaDB and MySQL spell the limit differently.
        server_info: str = connection.get_server_info()  # type: ignore[no-untyped-call]  # PyMySQL's is untyped
        limit = (
            f"max_statement_time = {STATEMENT_TIMEOUT_S:d}"
            if "mariadb" in server_info.lower()
            else f"max_execution_time = {STATEMENT_TIMEOUT_S * 1000:d}"
        )
        database = MariaDbDatabase(connection, self)
        try:
            with database._guard(None), connection.cursor() as cursor:
                cursor.execute(f"SET SESSION {limit}, time_zone = '+00:00'")
        except AddinError:
            database.close()
            raise
        return database

    def quote(self, name: str) -> str:
        assert IDENTIFIER.fullmatch(name), name
        return f"`{name}`"

    def digits(self, expression: str) -> str:
        return f"REGEXP_REPLACE(CAST({expression} AS CHAR), '[^0-9]', '')"

    def contains(self, expression: str, parameter: str) -> str:
        # CAST AS CHAR: the connection's utf8mb4 collation, which ignores case and accents whatever the column's own
        # (a _bin column would otherwise match case-sensitively). '\\' is one backslash in MySQL's string syntax.
        return f"CAST({expression} AS CHAR) LIKE :{parameter} ESCAPE '\\\\'"

    def fold(self, text: str) -> str:
        return text

    def _detail(self, exc: BaseException) -> str:
        """The server's own words, without the error number, and never the password."""
        args: tuple[object, ...] = getattr(exc, "args", ())
        text = str(args[1]) if len(args) >= 2 else str(exc)
        text = (text.strip().splitlines() or [type(exc).__name__])[0]
        if self.password:
            text = text.replace(self.password, "***")
        return text[:300]

    def connect_failure(self, exc: BaseException) -> AddinError:
        """Why no connection could be made: refused, timed out, wrong login, no such database, TLS."""
        number = _number(exc)
        detail = self._detail(exc)
        lowered = detail.lower()
        where = self.where()
        if number == _UNKNOWN_DATABASE:
            return AddinError(
                f"{where} has no such database ({detail}); check 'database' in the setting 'dsn'.",
                code="cannot_connect",
            )
        if number in _ACCESS_DENIED:
            user = self.login() or "(default user)"
            return AddinError(
                f"{where} refused the login of user {user}: wrong password or unknown user ({detail}). "
                "Check the user in the setting 'dsn' and the setting 'password'.",
                code="invalid_auth",
            )
        if isinstance(exc, ssl.SSLError) or "ssl" in lowered or "certificate" in lowered or number == 2026:
            return AddinError(
                f"The TLS connection to {where} failed ({detail}); check ssl_mode and ssl_ca in the setting 'dsn' "
                "(the CA file must be the one that signed the server's certificate).",
                code="cannot_connect",
            )
        if "timed out" in lowered or isinstance(exc, TimeoutError):
            return AddinError(
                f"{where} did not answer within {self.connect_timeout} s; check the host and port in 'dsn' "
                "and that no firewall drops the connection.",
                code="timeout",
            )
        if "refused" in lowered or isinstance(exc, ConnectionRefusedError):
            return AddinError(
                f"Cannot reach {where} (connection refused): is the server running and listening there?",
                code="cannot_connect",
            )
        return AddinError(f"Cannot reach {where} ({detail}).", code="cannot_connect")

    def translate(self, exc: BaseException, statement: Statement | None, *, lost: bool) -> AddinError:
        """Words and a stable key for an error of a statement."""
        number = _number(exc)
        detail = self._detail(exc)
        origin = statement.origin if statement else "a check of the connection"
        subject = origin[:1].upper() + origin[1:]
        if lost:
            return AddinError(
                f"The connection to {self.where()} was lost ({detail}); is the server running?", code="cannot_connect"
            )
        if number in _NO_PERMISSION:
            return AddinError(
                f"The database user may not do what {origin} needs ({detail}); ask for the permission.",
                code="invalid_auth",
            )
        if number in _ACCESS_DENIED:
            return AddinError(f"{self.where()} refused the login ({detail}).", code="invalid_auth")
        if number in _NOT_MATCHING:
            return AddinError(
                f"{subject} does not match the database: {detail}; check the table and column names.",
                code="invalid_data",
            )
        if number in _TIMEOUTS:
            return AddinError(f"{subject} took longer than {STATEMENT_TIMEOUT_S} s and was stopped.", code="timeout")
        if number in _REFUSED_VALUES or isinstance(exc, pymysql.IntegrityError | pymysql.DataError):
            return AddinError(f"The database refused the values ({detail}).", code="invalid_data")
        if isinstance(exc, pymysql.ProgrammingError) or 1000 <= number < 2000:
            return AddinError(f"{subject} is not SQL {self.name} can run: {detail}.", code="invalid_data")
        return AddinError(f"{subject} failed in {self.where()}: {detail}.", code="unknown")


def _number(exc: BaseException) -> int:
    """The MySQL error number of a PyMySQL error (0 for anything else)."""
    args = getattr(exc, "args", ())
    return args[0] if isinstance(exc, pymysql.MySQLError) and args and isinstance(args[0], int) else 0

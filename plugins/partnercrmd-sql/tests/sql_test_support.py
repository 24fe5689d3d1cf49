"""Real databases for the SQL add-in's tests: PostgreSQL 15 and MariaDB servers on 127.0.0.1, and SQLite files.

`PostgresServer` runs the Debian server binaries (`initdb`, `pg_ctl`) in a temporary
directory on a free port, as the `postgres` user when the tests run as root (initdb refuses
root), with fsync off; it is stopped by the postmaster's PID. `MariaDbServer` runs Debian's
`mariadb-install-db` into a temporary data directory and `mariadbd` in the foreground on a free
port and a private socket (as root with `--user=root`), with TLS from a certificate authority
made for it; it is stopped by its PID. `Backend` gives every test a fresh contacts table with
the same people, in PostgreSQL (one schema per test), MariaDB (one database per test) or SQLite
(one file per test), plus a direct connection with the database's own client for reading
back what the add-in wrote.
"""

from __future__ import annotations

import contextlib
import glob
import ipaddress
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pymysql.cursors
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from partnercrmd_sql.sqltext import to_pyformat

PNG_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc000000301010018dd8db00000000049454e44ae426082"
)
ADMIN_USER = "postgres"
APP_USER = "crm_app"
APP_PASSWORD = "correct-horse-battery"
READER_USER = "crm_reader"
DATABASE = "crm"

# The same people in every backend; each number stored in a format none of the tests types.
PEOPLE: tuple[dict[str, Any], ...] = (
    {
        "first_name": "Dana",
        "last_name": "Whitfield",
        "company": "Northwind Traders",
        "email": "dana.whitfield@northwind.example",
        "work_phone": "+44 (0)20 7946-0958",
        "mobile": None,
        "photo": PNG_PIXEL,
    },
    {
        "first_name": "Eamon",
        "last_name": "O'Neill",
        "company": "Northwind Traders",
        "email": "eamon@northwind.example",
        "work_phone": "0113 946 0958",  # the same last seven digits as Dana's: must not be taken for her
        "mobile": "07700 900461",
        "photo": None,
    },
    {
        "first_name": "Zoë",
        "last_name": "Lefèvre",
        "company": "Société Contoso",
        "email": "zoe@contoso.example",
        "work_phone": None,
        "mobile": "0033 1 42 68 53 00",
        "photo": None,
    },
)

TABLE_SETTINGS: dict[str, str] = {
    "id_column": "id",
    "first_name_column": "first_name",
    "last_name_column": "last_name",
    "company_column": "company",
    "email_column": "email",
    "phone_columns": "work_phone, mobile:mobile",
    "notes_column": "notes",
    "picture_column": "photo",
    "activity_contact_column": "contact_id",
    "activity_id_column": "id",
    "activity_subject_column": "subject",
    "activity_body_column": "body",
    "activity_direction_column": "direction",
    "activity_start_column": "started_at",
    "activity_duration_column": "seconds",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_bin() -> Path:
    """The newest installed server's bin directory (Debian keeps it off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("PostgreSQL server binaries are missing: apt-get install postgresql (see apt.txt).")
    return Path(pg_ctl).resolve().parent


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie left to a PID 1 that does not reap counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


class PostgresServer:
    """A PostgreSQL cluster of its own in a temporary directory, on 127.0.0.1:`port`."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.base = Path(tempfile.mkdtemp(prefix="partnercrmd-sql-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.pid: int | None = None
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.base, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{tail}")

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            ADMIN_USER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        options = (
            f"-k {self.base} -c listen_addresses=127.0.0.1 -p {self.port} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.base / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        """Fast shutdown by PID (SIGINT: connections are cut, the server exits); SIGKILL after 10 s."""
        pid, self.pid = self.pid, None
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[tuple[Any, ...]]:
        """A superuser connection over the Unix socket (trusted)."""
        return psycopg.connect(host=str(self.base), port=self.port, user=ADMIN_USER, dbname=dbname, autocommit=True)

    def prepare(self) -> None:
        """The application's login and database, and a second login that may only read."""
        with self.admin() as db:
            db.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}'")
            db.execute(f"CREATE ROLE {READER_USER} LOGIN PASSWORD '{APP_PASSWORD}'")
            db.execute(f"CREATE DATABASE {DATABASE} OWNER {APP_USER}")

    def dsn(self, user: str = APP_USER) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={DATABASE} user={user}"


def _insert_people(execute: Any, table: str, placeholder: str) -> None:
    columns = list(PEOPLE[0])
    marks = ", ".join([placeholder] * len(columns))
    for person in PEOPLE:
        execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", [person[c] for c in columns])  # noqa: S608


class Book(ABC):
    """One test's tables and a direct connection to them with the database's own client."""

    settings: dict[str, Any]
    product = ""
    """The server's name as the add-in's messages say it ("PostgreSQL", "MariaDB"); "" for SQLite."""

    @abstractmethod
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run SQL with ? placeholders; `{contacts}` and `{calls}` name this test's tables."""

    @abstractmethod
    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run an insert for every row, in one transaction."""

    @abstractmethod
    def close(self) -> None: ...


class Backend(ABC):
    name: str

    @abstractmethod
    def new_book(self) -> Book: ...


class SqliteBook(Book):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(
            """
            CREATE TABLE contacts (
                id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, company TEXT, email TEXT,
                work_phone TEXT, mobile TEXT, notes TEXT, photo BLOB);
            CREATE TABLE calls (
                id INTEGER PRIMARY KEY, contact_id INTEGER NOT NULL REFERENCES contacts (id), subject TEXT,
                body TEXT, direction TEXT, started_at TEXT, seconds INTEGER);
            """
        )
        _insert_people(self.db.execute, "contacts", "?")
        self.settings = {"driver": "sqlite", "path": str(path), "table": "contacts", **TABLE_SETTINGS}
        self.settings["activity_table"] = "calls"

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql.format(contacts="contacts", calls="calls"), params).fetchall()

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(sql.format(contacts="contacts", calls="calls"), rows)

    def close(self) -> None:
        self.db.close()


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def new_book(self) -> Book:
        return SqliteBook(self.directory / f"crm-{uuid.uuid4().hex[:8]}.db")


class PostgresBook(Book):
    product = "PostgreSQL"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.reader_dsn = server.dsn(READER_USER)
        self.database = DATABASE
        self.schema = f"t_{uuid.uuid4().hex[:10]}"
        self.db = psycopg.connect(server.dsn(), password=APP_PASSWORD, autocommit=True)
        self.db.execute(f"CREATE SCHEMA {self.schema}")
        self.db.execute(
            f"""CREATE TABLE {self.schema}.contacts (
                id serial PRIMARY KEY, first_name text, last_name text, company text, email text,
                work_phone text, mobile text, notes text, photo bytea)"""
        )
        self.db.execute(
            f"""CREATE TABLE {self.schema}.calls (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                contact_id integer NOT NULL REFERENCES {self.schema}.contacts (id), subject text, body text,
                direction text, started_at timestamptz, seconds integer)"""
        )
        with self.db.cursor() as cursor:
            _insert_people(cursor.execute, f"{self.schema}.contacts", "%s")
        self.db.execute(f"GRANT USAGE ON SCHEMA {self.schema} TO {READER_USER}")
        self.db.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {self.schema} TO {READER_USER}")
        self.settings = {
            "driver": "postgresql",
            "dsn": server.dsn(),
            "password": APP_PASSWORD,
            "table": f"{self.schema}.contacts",
            "activity_table": f"{self.schema}.calls",
            **TABLE_SETTINGS,
        }

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        text = sql.format(contacts=f"{self.schema}.contacts", calls=f"{self.schema}.calls").replace("?", "%s")
        with self.db.cursor() as cursor:
            cursor.execute(text, params)
            return cursor.fetchall() if cursor.description else []

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        text = sql.format(contacts=f"{self.schema}.contacts", calls=f"{self.schema}.calls").replace("?", "%s")
        with self.db.transaction(), self.db.cursor() as cursor:
            cursor.executemany(text, rows)

    def explain(self, sql: str, params: dict[str, object]) -> str:
        """The plan PostgreSQL picks for one of the add-in's statements (`:name` parameters)."""
        with self.db.cursor() as cursor:
            cursor.execute(f"EXPLAIN {to_pyformat(sql)}", params)
            return "\n".join(str(row[0]) for row in cursor.fetchall())

    def close(self) -> None:
        self.db.close()


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server

    def new_book(self) -> Book:
        return PostgresBook(self.server)


# --- MariaDB ---------------------------------------------------------------------------------------------


def mariadb_programs() -> tuple[str, str]:
    """`mariadb-install-db` and `mariadbd` (Debian puts the server in /usr/sbin, off a normal user's PATH)."""
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    server = shutil.which("mariadbd", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/libexec")
    if install is None or server is None:
        raise RuntimeError("MariaDB server programs are missing: apt-get install mariadb-server (see apt.txt).")
    return install, server


def make_certificates(directory: Path) -> dict[str, Path]:
    """A certificate authority and a server certificate it signed for 127.0.0.1 and localhost (PEM files)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partnercrmd test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": directory / "ca.pem", "cert": directory / "server-cert.pem", "key": directory / "server-key.pem"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return files


class MariaDbServer:
    """A MariaDB server of its own: a data directory made by `mariadb-install-db`, `mariadbd` in the foreground."""

    def __init__(self) -> None:
        self.install, self.program = mariadb_programs()
        self.base = Path(tempfile.mkdtemp(prefix="partnercrmd-sql-mariadb-"))
        self.data = self.base / "data"
        self.socket = self.base / "mariadbd.sock"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.tls = make_certificates(self.base)
        self._as_root = os.geteuid() == 0

    def init(self) -> None:
        command = [
            self.install,
            "--no-defaults",
            f"--datadir={self.data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if self._as_root:
            command.append("--user=root")
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")

    def start(self) -> None:
        """Start the server and wait until it answers on its socket (about a second)."""
        command = [
            self.program,
            "--no-defaults",
            f"--datadir={self.data}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.socket}",
            f"--pid-file={self.base / 'mariadbd.pid'}",
            f"--log-error={self.base / 'server.log'}",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            "--skip-name-resolve",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-buffer-pool-size=64M",
            "--innodb-doublewrite=0",
            f"--ssl-ca={self.tls['ca']}",
            f"--ssl-cert={self.tls['cert']}",
            f"--ssl-key={self.tls['key']}",
        ]
        if self._as_root:
            command.append("--user=root")
        self.process = subprocess.Popen(  # its own messages go to --log-error
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                # a plain socket first: PyMySQL leaves its socket open when a connection to a missing file fails
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                    probe.connect(str(self.socket))
                self.admin().close()
                return
            except (OSError, pymysql.MySQLError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.base / "server.log"
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    self.stop()
                    raise RuntimeError(f"mariadbd did not start: {tail}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Shut down by PID (SIGTERM: connections are cut, the server exits cleanly); SIGKILL after 30 s."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def admin(self, database: str | None = None) -> pymysql.connections.Connection[Any]:
        """The server's root, over the private socket."""
        return pymysql.connect(
            unix_socket=str(self.socket), user="root", database=database, charset="utf8mb4", autocommit=True
        )

    def prepare(self) -> None:
        """The application's login, and a second login that may only read (each test's database grants them)."""
        with self.admin() as db, db.cursor() as cursor:
            for user in (APP_USER, READER_USER):
                cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{APP_PASSWORD}'")

    def dsn(self, database: str, user: str = APP_USER) -> str:
        return f"host=127.0.0.1 port={self.port} database={database} user={user}"


MARIADB_TABLES = (
    """CREATE TABLE contacts (
        id INT AUTO_INCREMENT PRIMARY KEY, first_name VARCHAR(100), last_name VARCHAR(100), company VARCHAR(100),
        email VARCHAR(200), work_phone VARCHAR(50), mobile VARCHAR(50), notes TEXT, photo BLOB)""",
    """CREATE TABLE calls (
        id BIGINT AUTO_INCREMENT PRIMARY KEY, contact_id INT NOT NULL, subject VARCHAR(255), body TEXT,
        direction VARCHAR(20), started_at DATETIME, seconds INT,
        FOREIGN KEY (contact_id) REFERENCES contacts (id))""",
)


class MariaDbBook(Book):
    """One test's database on the MariaDB server, with the contacts and calls tables."""

    product = "MariaDB"

    def __init__(self, server: MariaDbServer, tables: Sequence[str] = MARIADB_TABLES, people: bool = True) -> None:
        self.server = server
        self.database = f"t_{uuid.uuid4().hex[:10]}"
        with server.admin() as admin, admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {self.database}")
            cursor.execute(f"GRANT ALL ON {self.database}.* TO '{APP_USER}'@'%'")
            cursor.execute(f"GRANT SELECT ON {self.database}.* TO '{READER_USER}'@'%'")
        self.db = pymysql.connect(
            host="127.0.0.1",
            port=server.port,
            user=APP_USER,
            password=APP_PASSWORD,
            database=self.database,
            charset="utf8mb4",
            autocommit=True,
        )
        with self.db.cursor() as cursor:
            for statement in tables:
                cursor.execute(statement)
            if people:
                _insert_people(cursor.execute, "contacts", "%s")
        self.reader_dsn = server.dsn(self.database, READER_USER)
        self.settings = {
            "driver": "mariadb",
            "dsn": server.dsn(self.database),
            "password": APP_PASSWORD,
            "table": "contacts",
            "activity_table": "calls",
            **TABLE_SETTINGS,
        }

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        text = sql.format(contacts="contacts", calls="calls").replace("?", "%s")
        with self.db.cursor() as cursor:
            cursor.execute(text, tuple(params) or None)
            return list(cursor.fetchall()) if cursor.description else []

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        text = sql.format(contacts="contacts", calls="calls").replace("?", "%s")
        self.db.begin()
        with self.db.cursor() as cursor:
            cursor.executemany(text, rows)
        self.db.commit()

    def explain(self, sql: str, params: dict[str, object]) -> list[dict[str, Any]]:
        """The plan MariaDB picks for one of the add-in's statements (`:name` parameters), one row per table."""
        with self.db.cursor(pymysql.cursors.DictCursor) as cursor:
            cursor.execute(f"EXPLAIN {to_pyformat(sql)}", params)
            return list(cursor.fetchall())

    def close(self) -> None:
        self.db.close()
        with contextlib.suppress(pymysql.MySQLError), self.server.admin() as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {self.database}")


class MariaDbBackend(Backend):
    name = "mariadb"

    def __init__(self, server: MariaDbServer) -> None:
        self.server = server

    def new_book(self) -> Book:
        return MariaDbBook(self.server)

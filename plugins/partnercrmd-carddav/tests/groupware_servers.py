"""Real groupware CardDAV servers for the tests: DAViCal and SOGo, each on 127.0.0.1 with a free port.

Both come from Debian's packages (the plugin's apt.txt) and keep their data in PostgreSQL, so this module is
for Linux (like those packages): it uses `pwd`, `runuser` and process groups.

`PostgresCluster` runs Debian's server binaries (`initdb`, `pg_ctl`) in a temporary
folder, listening only on a Unix socket there, as the `postgres` user when the tests
run as root (initdb refuses root), with fsync off; it is stopped by the postmaster's PID.

`DavicalServer` is Debian's `davical` package as it ships: its database is made by
the package's own `dba/create-database.sh` in that cluster, its `htdocs` are served
by PHP's built-in server (`php -S`, several workers; no Apache), and its user and
address book are made through DAViCal itself (the administration pages: sign in as
`admin`, submit the "Create New Principal" form, which makes the user's home
collections `calendar` and `addresses`). The configuration is the test's own file:
DAViCal reads `/etc/davical/<SERVER_NAME>-conf.php` before the package's
`/etc/davical/config.php`, so a two-line router script gives PHP a SERVER_NAME
whose path leads from /etc/davical/ to the test's folder, and the configuration puts
the real name (127.0.0.1) back before DAViCal uses it. Nothing under /etc is written.

`SogoServer` is Debian's `sogo` package: sogod in the foreground, configured on its command line, with a
PostgreSQL cluster (on TCP, where SOGo signs in with a password) and memcached of its own.
"""

from __future__ import annotations

import contextlib
import glob
import http.cookiejar
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import ClassVar

from carddav_servers import RawDav, _Server, free_port

DAVICAL_SHARE = Path("/usr/share/davical")
DAVICAL_ADMIN_PASSWORD = "davical-admin-pw-1"


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie left to a PID 1 that does not reap counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def postgres_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder (Debian keeps it off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("PostgreSQL's server is missing: apt-get install postgresql (see the plugin's apt.txt).")
    return Path(pg_ctl).resolve().parent


class PostgresCluster:
    """A PostgreSQL cluster of its own in a new folder under the system's temporary folder (the `postgres` user
    must reach it, and the socket's path must stay short), reached through its Unix socket there (trusted, no TCP);
    the folder is removed when it stops."""

    SUPERUSER = "postgres"

    def __init__(self, tcp: bool = False) -> None:
        """`tcp`: also listen on 127.0.0.1 (a free port), where roles sign in with their passwords."""
        self.bin = postgres_bin()
        self.base = Path(tempfile.mkdtemp(prefix="partnercrmd-carddav-pg-"))
        self.data = self.base / "data"
        self.tcp = tcp
        self.port = free_port() if tcp else 5432  # without TCP the port only names the socket file
        self.pid: int | None = None
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.base, self.SUPERUSER, self.SUPERUSER)

    @property
    def environment(self) -> dict[str, str]:
        """libpq's variables that point psql, Perl's DBD::Pg and PHP's pgsql at this cluster as its superuser."""
        return {**os.environ, "PGHOST": str(self.base), "PGPORT": str(self.port), "PGUSER": self.SUPERUSER}

    def run(self, command: list[str], timeout: float = 120) -> str:
        """Run a command as the cluster's owner with `environment`; its output, or RuntimeError with it."""
        if self._as_root:
            command = ["runuser", "-u", self.SUPERUSER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, env=self.environment, cwd=self.base
        )
        if done.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{command} failed ({done.returncode}): {done.stdout}{done.stderr}{tail}")
        return done.stdout

    def start(self) -> PostgresCluster:
        self.run(
            [
                str(self.bin / "initdb"),
                *("-D", str(self.data), "-U", self.SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256"),
                *("-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"),
            ]
        )
        listen = "127.0.0.1" if self.tcp else ""
        options = f"-k {self.base} -c listen_addresses={listen} -p {self.port} -c fsync=off -c synchronous_commit=off"
        self.run(
            [
                str(self.bin / "pg_ctl"),
                *("-D", str(self.data), "-l", str(self.base / "server.log"), "-o", options, "-w", "-t", "30", "start"),
            ]
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    def stop(self) -> None:
        """Fast shutdown by PID (SIGINT: connections are cut, the server exits); SIGKILL after 10 s."""
        pid, self.pid = self.pid, None
        if pid is None:
            shutil.rmtree(self.base, ignore_errors=True)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


class DavicalServer(_Server):
    """DAViCal from Debian's package, served by `php -S` on a free port, on a PostgreSQL cluster of its own."""

    USER = "erin"
    PASSWORD = "erin-secret-5"
    USERS: ClassVar[dict[str, str]] = {USER: PASSWORD}

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.database = PostgresCluster()

    @property
    def home(self) -> str:
        """The user's home collection, where DAViCal keeps their address books and calendars."""
        return f"/caldav.php/{self.USER}/"

    def start(self) -> DavicalServer:
        if not (DAVICAL_SHARE / "dba" / "create-database.sh").exists():
            raise RuntimeError("DAViCal is missing: apt-get install davical php-cgi (see the plugin's apt.txt).")
        self.database.start()
        try:
            create = DAVICAL_SHARE / "dba" / "create-database.sh"
            self.database.run(["sh", str(create), "davical", DAVICAL_ADMIN_PASSWORD])
            self._write_configuration()
            self.serve()
            self.create_user(self.USER, self.PASSWORD, "Erin Davies")
        except BaseException:
            self.stop()
            raise
        return self

    def _write_configuration(self) -> None:
        (self.root / "sessions").mkdir(exist_ok=True)
        (self.root / "davical-conf.php").write_text(
            "<?php\n"
            "// The router named this file through SERVER_NAME; the server's real name goes back before it is used.\n"
            "$_SERVER['SERVER_NAME'] = $c->domain_name = '127.0.0.1';\n"
            f"$c->pg_connect[] = 'dbname=davical user=davical_app host={self.database.base} "
            f"port={self.database.port}';\n"
            "$c->admin_email = 'admin@example.invalid';\n"
            "$c->system_name = 'DAViCal for partnercrmd tests';\n"
        )
        (self.root / "router.php").write_text(
            "<?php\n"
            "// DAViCal includes /etc/davical/<SERVER_NAME>-conf.php first: point it at this test's configuration.\n"
            f"$_SERVER['SERVER_NAME'] = '../..{self.root / 'davical'}';\n"
            "return false;\n"
        )

    def serve(self) -> None:
        """Start (or start again) the web server: PHP's own, several workers, on the port chosen at the outset."""
        command = ["php", "-d", f"session.save_path={self.root / 'sessions'}", "-d", "display_errors=stderr"]
        command += ["-S", f"127.0.0.1:{self.port}", "-t", str(DAVICAL_SHARE / "htdocs"), str(self.root / "router.php")]
        self._start(command, env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4"}, group=True)

    def stop_web_server(self) -> None:
        """Stop PHP only (the database keeps running), as when the web server of a real installation goes down."""
        super().stop()

    def stop(self) -> None:
        super().stop()
        self.database.stop()

    def create_user(self, username: str, password: str, full_name: str) -> None:
        """Make a user as an administrator does: sign in to DAViCal's pages as admin and submit "Create Principal"."""
        cookies = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))

        def post(path: str, fields: dict[str, str]) -> str:
            data = urllib.parse.urlencode(fields).encode()
            with browser.open(self.url + path, data=data, timeout=30) as page:
                return str(page.read().decode("utf-8", "replace"))

        post("/index.php", {"username": "admin", "password": DAVICAL_ADMIN_PASSWORD, "submit": "GO!"})
        form_path = "/admin.php?action=edit&t=principal"
        with browser.open(self.url + form_path, timeout=30) as page:
            form = page.read().decode("utf-8", "replace")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form)
        if token is None:
            raise RuntimeError(f"DAViCal's principal form has no CSRF token (not signed in?): {form[-1500:]}")
        answer = post(
            form_path,
            {
                "xxxxusername": username,
                "newpass1": password,
                "newpass2": password,
                "fullname": full_name,
                "email": f"{username}@example.invalid",
                "type_id": "1",
                "user_active": "on",
                "is_admin": "off",
                "_editor_action[editor_1]": "insert",
                "submit": "Create",
                "csrf_token": token.group(1),
            },
        )
        if "Home addressbook added" not in answer:
            raise RuntimeError(f"DAViCal did not create the user {username!r}: {answer[-1500:]}")

    def raw(self, user: str = USER) -> RawDav:
        return RawDav(self.url, user, self.USERS[user])


class _Memcached(_Server):
    """memcached on 127.0.0.1 and a free port (SOGo keeps its sessions and caches there)."""

    def start(self) -> _Memcached:
        command = ["memcached", "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "32"]
        if os.geteuid() == 0:
            command += ["-u", "memcache" if _user_exists("memcache") else "nobody"]
        self._start(command)
        return self


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class SogoServer(_Server):
    """SOGo from Debian's package: `sogod` in the foreground on a free port, its folders and users in PostgreSQL.

    Its configuration is given on sogod's command line (GNUstep's argument domain, which comes before
    /etc/sogo/sogo.conf): the profile, folder-info and sessions tables in a PostgreSQL cluster of its own,
    memcached on a free port, and a SQL user source: a `sogo_users` table (plain passwords) that the test fills.
    SOGo makes its own tables and each user's "Personal Address Book" (Contacts/personal) on first use. As root,
    sogod (which will not run as root) runs as Debian's `sogo` user, with a home folder of its own.
    """

    USER = "frank"
    PASSWORD = "frank-secret-6"
    USERS: ClassVar[dict[str, str]] = {USER: PASSWORD}
    DB_PASSWORD = "sogo-db-pw-7"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.database = PostgresCluster(tcp=True)
        self.memcached = _Memcached(root)
        self.home_folder = Path(tempfile.mkdtemp(prefix="partnercrmd-carddav-sogo-"))
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.home_folder, "sogo", "sogo")

    @property
    def home(self) -> str:
        """The user's contacts folder, under which SOGo keeps their address books."""
        return f"/SOGo/dav/{self.USER}/Contacts/"

    @property
    def calendars(self) -> str:
        return f"/SOGo/dav/{self.USER}/Calendar/"

    def start(self) -> SogoServer:
        if not Path("/usr/sbin/sogod").exists():
            raise RuntimeError("SOGo is missing: apt-get install sogo (see the plugin's apt.txt).")
        try:
            self.database.start()
            psql = [str(self.database.bin / "psql"), "-v", "ON_ERROR_STOP=1", "-qX", "-d"]
            self.database.run([*psql, "postgres", "-c", f"CREATE ROLE sogo LOGIN PASSWORD '{self.DB_PASSWORD}'"])
            self.database.run([*psql, "postgres", "-c", "CREATE DATABASE sogo OWNER sogo"])
            rows = ", ".join(
                f"('{user}', '{user}', '{password}', '{user.title()} Sogo', '{user}@example.invalid')"
                for user, password in self.USERS.items()
            )
            table = (
                "CREATE TABLE sogo_users (c_uid varchar(128) PRIMARY KEY, c_name varchar(128) NOT NULL, "
                "c_password varchar(256) NOT NULL, c_cn varchar(128), mail varchar(128))"
            )
            fill = f"INSERT INTO sogo_users VALUES {rows}"  # noqa: S608 (the test's own constants)
            self.database.run([*psql, "sogo", "-c", table, "-c", "ALTER TABLE sogo_users OWNER TO sogo", "-c", fill])
            self.memcached.start()
            self.serve()
        except BaseException:
            self.stop()
            raise
        return self

    def serve(self) -> None:
        """Start (or start again) sogod on the port chosen at the outset."""
        database = f"postgresql://sogo:{self.DB_PASSWORD}@127.0.0.1:{self.database.port}/sogo"
        source = (
            f'({{type = sql; id = users; viewURL = "{database}/sogo_users"; canAuthenticate = YES; '
            "isAddressBook = NO; userPasswordAlgorithm = plain;})"
        )
        command = ["/usr/sbin/sogod", "-WONoDetach", "YES", "-WOPort", f"127.0.0.1:{self.port}", "-WOLogFile", "-"]
        command += ["-WOPidFile", str(self.home_folder / "sogo.pid"), "-WOWorkersCount", "3"]
        command += ["-SOGoProfileURL", f"{database}/sogo_user_profile"]
        command += ["-OCSFolderInfoURL", f"{database}/sogo_folder_info"]
        command += ["-OCSSessionsFolderURL", f"{database}/sogo_sessions_folder"]
        command += ["-SOGoMemcachedHost", f"127.0.0.1:{self.memcached.port}", "-SOGoTimeZone", "UTC"]
        command += ["-SOGoMailDomain", "example.invalid", "-SOGoUserSources", source]
        if self._as_root:
            command = ["runuser", "-u", "sogo", "--", *command]
        self._start(command, env={**os.environ, "HOME": str(self.home_folder)}, group=True)

    def stop_web_server(self) -> None:
        """Stop sogod only (its database and memcached keep running)."""
        super().stop()

    def stop(self) -> None:
        super().stop()
        self.memcached.stop()
        self.database.stop()
        shutil.rmtree(self.home_folder, ignore_errors=True)

    def raw(self, user: str = USER) -> RawDav:
        return RawDav(self.url, user, self.USERS[user])

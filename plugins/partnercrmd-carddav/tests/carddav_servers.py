"""Real CardDAV servers for the tests, on 127.0.0.1 with a free port and a temporary folder, and a raw DAV client.

`RadicaleServer` runs Radicale (htpasswd sign-in, each user sees only their own
collections); `XandikosServer` runs xandikos, either without sign-in or, since
it allows Basic authentication only behind HTTPS, with its self-signed
certificate and htpasswd. `RawDav` speaks HTTP with `http.client`, so what the
add-in wrote is read back without the add-in.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ClassVar
from urllib.parse import urlsplit

READY_TIMEOUT = 15.0
ADDRESSBOOK_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
    "<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>{name}</D:displayname>"
    "</D:prop></D:set></D:mkcol>"
)
CALENDAR_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
    "<D:displayname>{name}</D:displayname>"
    '<C:supported-calendar-component-set><C:comp name="{component}"/></C:supported-calendar-component-set>'
    "</D:prop></D:set></C:mkcalendar>"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"the server did not listen on port {port} within {READY_TIMEOUT:g} s")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


class RawDav:
    """WebDAV over `http.client`: what the tests use to seed the server and to read back what the add-in wrote."""

    def __init__(
        self, base_url: str, username: str = "", password: str = "", context: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.auth = base64.b64encode(f"{username}:{password}".encode()).decode() if username else ""
        self.context = context

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> Reply:
        connection = (
            http.client.HTTPSConnection(self.host, self.port, timeout=10, context=self.context)
            if self.context is not None
            else http.client.HTTPConnection(self.host, self.port, timeout=10)
        )
        try:
            sent = dict(headers or {})
            if self.auth:
                sent["Authorization"] = f"Basic {self.auth}"
            connection.request(method, path, body=body.encode("utf-8") if body else None, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode())
        finally:
            connection.close()

    def make_addressbook(self, path: str, name: str) -> None:
        reply = self.request("MKCOL", path, ADDRESSBOOK_BODY.format(name=name), {"Content-Type": "application/xml"})
        assert reply.status == 201, reply

    def make_calendar(self, path: str, name: str, component: str = "VJOURNAL") -> None:
        body = CALENDAR_BODY.format(name=name, component=component)
        reply = self.request("MKCALENDAR", path, body, {"Content-Type": "application/xml"})
        assert reply.status == 201, reply

    def put_card(self, path: str, text: str) -> str:
        """Store a card (created or replaced); its new ETag."""
        reply = self.request("PUT", path, text, {"Content-Type": "text/vcard; charset=utf-8"})
        assert reply.status in (201, 204), reply
        return reply.headers.get("etag", "")

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def listing(self, path: str) -> str:
        """The PROPFIND (Depth 1) answer for a collection: the hrefs of everything in it."""
        body = '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>'
        reply = self.request("PROPFIND", path, body, {"Depth": "1", "Content-Type": "application/xml"})
        assert reply.status == 207, reply
        return reply.body


class _Server:
    """A server process started by the tests and stopped by its PID."""

    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _group = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(
        self, command: list[str], host: str = "127.0.0.1", env: dict[str, str] | None = None, group: bool = False
    ) -> None:
        """Start `command` and wait until it listens. `group`: in a process group of its own, which `stop` ends as
        a whole (for a server that forks workers sharing its socket, such as PHP's)."""
        log_path = self.root / "server.log"
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.root, env=env, start_new_session=group
        )
        self._group = group
        try:
            wait_until_listening(self.port, self.process, log_path, host)
        except BaseException:
            self.stop()
            raise

    def _signal(self, kill: bool) -> None:
        assert self.process is not None
        if self._group:
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        elif kill:
            self.process.kill()
        else:
            self.process.terminate()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._signal(kill=False)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._signal(kill=True)
                self.process.wait(timeout=5)
        if self.process is not None and self._group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # workers the leader left behind
        if self._log is not None:
            self._log.close()
            self._log = None


class RadicaleServer(_Server):
    USERS: ClassVar[dict[str, str]] = {"alice": "alice-secret-1", "bob": "bob-secret-2", "carol": "carol-secret-3"}

    def start(self, any_layout: bool = False) -> RadicaleServer:
        """Start it. `any_layout`: every signed-in user may read and write collections at any depth, so that a
        hosted service's path layout (Nextcloud's /remote.php/dav/addressbooks/users/USER/contacts/) can be
        served; otherwise each user sees only /USER/ (Radicale's built-in rights allow two levels at most)."""
        users = self.root / "users"
        rights = "owner_only"
        if any_layout:
            rules = self.root / "rights"
            rules.write_text("[any-layout]\nuser: .+\ncollection: .*\npermissions: RrWw\n")
            rights = f"from_file\nfile = {rules}"
        users.write_text("".join(f"{name}:{password}\n" for name, password in self.USERS.items()))
        config = self.root / "config"
        config.write_text(
            "[server]\n"
            f"hosts = 127.0.0.1:{self.port}\n"
            "delay_on_error = 0\n"
            "[auth]\n"
            "type = htpasswd\n"
            f"htpasswd_filename = {users}\n"
            "htpasswd_encryption = plain\n"
            "delay = 0.2\n"
            "[rights]\n"
            f"type = {rights}\n"
            "[storage]\n"
            f"filesystem_folder = {self.root / 'collections'}\n"
            "[logging]\n"
            "level = warning\n"
        )
        self._start([sys.executable, "-m", "radicale", "--config", str(config)])
        return self

    def raw(self, user: str = "alice") -> RawDav:
        return RawDav(self.url, user, self.USERS[user])


class XandikosServer(_Server):
    """xandikos; `secure`: HTTPS with its own self-signed certificate for "localhost" and htpasswd sign-in."""

    USER = "dave"
    PASSWORD = "dave-secret-4"

    def __init__(self, root: Path, secure: bool = False) -> None:
        super().__init__(root)
        self.secure = secure

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}" if self.secure else f"http://127.0.0.1:{self.port}"

    @property
    def certificate(self) -> Path:
        return self.root / "state" / "certs" / "selfsigned.crt"

    def start(self) -> XandikosServer:
        python = os.environ.get("XANDIKOS_PYTHON", sys.executable)
        command = [python, "-m", "xandikos", "serve", "-d", str(self.root / "data"), "--autocreate"]
        command += ["-p", str(self.port), "--no-detect-systemd", "--state-dir", str(self.root / "state")]
        if not self.secure:
            self._start([*command, "-l", "127.0.0.1"])
            return self
        digest = base64.b64encode(hashlib.sha1(self.PASSWORD.encode()).digest()).decode()  # noqa: S324 (its format)
        htpasswd = self.root / "htpasswd"
        htpasswd.write_text(f"{self.USER}:{{SHA}}{digest}\n")
        self._start([*command, "-l", "localhost", "--autocert", "--htpasswd", str(htpasswd)], host="localhost")
        return self

    def raw(self) -> RawDav:
        if not self.secure:
            return RawDav(self.url)
        context = ssl.create_default_context(cafile=str(self.certificate))
        return RawDav(self.url, self.USER, self.PASSWORD, context)

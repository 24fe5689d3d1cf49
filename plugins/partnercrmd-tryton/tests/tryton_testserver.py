"""A real Tryton server for the tests, on 127.0.0.1, from a prepared SQLite database.

`trytond-admin` takes several seconds to create a database with the party module, so it runs once per
trytond version (`prepare`, called by prepare.sh and, if needed, by the first test) and the resulting
`.sqlite` file is copied for every server the tests start. Each server runs `trytond -d <database>` on a
free port with its own directory, is polled until it answers (bounded), and is stopped by its PID.

Run `python tryton_testserver.py prepare` to build the cached database.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

DATABASE = "partnercrmd"
ADMIN = "admin"
ADMIN_PASSWORD = "admin-pass-2026"
ADMIN_EMAIL = "admin@example.com"
START_TIMEOUT = 30.0
PREPARE_TIMEOUT = 300.0
TRYTOND_VERSION = f"{metadata.version('trytond')}-party-{metadata.version('trytond-party')}"
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
CACHE_DIR = CACHE_ROOT / "partnercrmd-tests" / "tryton" / TRYTOND_VERSION
"""The prepared database depends on the trytond (and trytond-party) release that built it."""
TEMPLATE = CACHE_DIR / f"{DATABASE}.sqlite"
HIDE_PHONENUMBERS = "raise ImportError('phonenumbers is hidden from this Tryton server')\n"


def config_text(directory: Path, port: int) -> str:
    return f"[database]\nuri = sqlite://\npath = {directory}\n[web]\nlisten = 127.0.0.1:{port}\n"


def prepare() -> Path:
    """The cached database with the party module activated; built once per trytond version (idempotent)."""
    if TEMPLATE.exists():
        return TEMPLATE
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        work = Path(tmp)
        (work / "trytond.conf").write_text(config_text(work, free_port()), encoding="utf-8")
        (work / "password").write_text(ADMIN_PASSWORD + "\n", encoding="utf-8")
        (work / f"{DATABASE}.sqlite").touch()
        command = [sys.executable, "-m", "trytond.cli.admin", "-c", str(work / "trytond.conf"), "-d", DATABASE]
        command += ["--all", "-u", "party", "--activate-dependencies", "--email", ADMIN_EMAIL]
        env = {**os.environ, "TRYTONPASSFILE": str(work / "password")}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PREPARE_TIMEOUT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"trytond-admin failed ({done.returncode}):\n{done.stderr[-3000:]}")
        os.replace(work / f"{DATABASE}.sqlite", TEMPLATE)  # atomic: a half-built file is never the template
    return TEMPLATE


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RpcError(Exception):
    pass


class SessionEnded(RpcError):
    pass


@dataclass
class RawTryton:
    """A minimal JSON-RPC client of the tests' own (http.client), to seed data and read back what the add-in wrote."""

    port: int
    user: str = ADMIN
    password: str = ADMIN_PASSWORD
    auth: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    def _post(self, path: str, method: str, params: list[Any], auth: str = "") -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Content-Type": "application/json"}
            if auth:
                headers["Authorization"] = auth
            body = json.dumps({"id": 1, "method": method, "params": params}, default=_encode)
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        return response.status, json.loads(raw) if raw.startswith(b"{") else raw

    def login(self) -> RawTryton:
        status, answer = self._post(
            f"/{DATABASE}/rpc/", "common.db.login", [self.user, {"password": self.password}, "en"]
        )
        if status != 200:
            raise RpcError(f"login as {self.user} failed: HTTP {status}")
        uid, session = answer["result"][:2]
        self.auth = "Session " + base64.b64encode(f"{self.user}:{uid}:{session}".encode()).decode()
        self.context = self.call_raw("model.res.user.get_preferences", [True, {}])
        return self

    def call_raw(self, method: str, params: list[Any]) -> Any:
        status, answer = self._post(f"/{DATABASE}/rpc/", method, params, self.auth)
        if status == 401:
            raise SessionEnded(method)
        if status != 200 or "error" in answer:
            raise RpcError(f"{method} failed: HTTP {status}: {answer!r:.500}")
        return answer["result"]

    def call(self, method: str, *args: Any) -> Any:
        if not self.auth:
            self.login()
        try:
            return self.call_raw(method, [*args, self.context])
        except SessionEnded:  # a test expired the sessions: sign in again
            self.login()
            return self.call_raw(method, [*args, self.context])

    def version(self) -> str:
        status, answer = self._post("/rpc/", "common.server.version", [])
        if status != 200:
            raise RpcError(f"HTTP {status}")
        return str(answer["result"])


def _encode(value: object) -> Any:
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode("ascii")}
    raise TypeError(type(value).__name__)


@dataclass
class TrytonServer:
    directory: Path
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    _admin: RawTryton | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_file(self) -> Path:
        return self.directory / f"{DATABASE}.sqlite"

    def admin(self) -> RawTryton:
        """The tests' own client, signed in as admin (once: Tryton's password check takes about half a second)."""
        if self._admin is None:
            self._admin = RawTryton(self.port).login()
        return self._admin

    def log_tail(self) -> str:
        self.log.flush()
        return (self.directory / "trytond.log").read_text(encoding="utf-8", errors="replace")[-3000:]

    def stop(self) -> None:
        """Stop the server by its PID (terminate, then kill after 10 s) and close its log."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            self.log.close()


def start(directory: Path, *, phonenumbers: bool = True) -> TrytonServer:
    """Copy the prepared database into `directory` and run trytond there; returns once it answers.

    `phonenumbers=False` hides that library from the server, as on installs without it: Tryton then keeps
    phone numbers exactly as typed (no validation, no E.164 `value_compact`).
    """
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(prepare(), directory / f"{DATABASE}.sqlite")
    port = free_port()
    config = directory / "trytond.conf"
    config.write_text(config_text(directory, port), encoding="utf-8")
    env = dict(os.environ)
    if not phonenumbers:
        hidden = directory / "hide" / "phonenumbers"
        hidden.mkdir(parents=True, exist_ok=True)
        (hidden / "__init__.py").write_text(HIDE_PHONENUMBERS, encoding="utf-8")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hidden.parent), env.get("PYTHONPATH")]))
    log = (directory / "trytond.log").open("wb")
    command = [sys.executable, "-m", "trytond.cli", "-c", str(config), "-d", DATABASE]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=directory)
    server = TrytonServer(directory, port, process, log)
    try:
        wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_ready(server: TrytonServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    raw = RawTryton(server.port)
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"trytond exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            raw.version()
            return
        except (OSError, RpcError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise RuntimeError(f"trytond did not answer within {START_TIMEOUT:g} s:\n{server.log_tail()}") from None
            time.sleep(0.05)


if __name__ == "__main__":
    if sys.argv[1:] != ["prepare"]:
        sys.exit("usage: python tryton_testserver.py prepare")
    started = time.monotonic()
    print(f"Tryton test database: {prepare()} ({time.monotonic() - started:.1f} s)")

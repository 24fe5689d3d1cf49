"""Black-box test helpers: run the real `partnercrmd` command, talk HTTP to it, look at its sockets.

A `Daemon` is one `partnercrmd serve --port 0 --region GB` process with its own
PARTNERCRMD_HOME and the keyring switched off (the vault key goes to a key file).
It is ready when `<home>/api.json` names its pid; it stops with SIGTERM. Tests
must always call `Daemon.close()` (fixtures do it in teardown), which kills the
process if SIGTERM was not enough.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

COMMAND = "partnercrmd"
SERVE_ARGS = ("--port", "0", "--region", "GB")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 60.0
HTTP_TIMEOUT = 10.0
LOOPBACK = "127.0.0.1"

T = TypeVar("T")

# Never use a proxy from the environment for requests to the daemon.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DaemonError(AssertionError):
    """The daemon did not start or stop as it should (the message carries its output)."""


# --- environment and CLI --------------------------------------------------------------------------------


def partnercrmd_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment with no PARTNERCRMD_* of its own, a private home and no keyring."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PARTNERCRMD_")}
    env["PARTNERCRMD_HOME"] = str(home)
    env["PARTNERCRMD_KEYRING"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # tests rewrite add-in modules in place
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_cli(
    home: Path, *args: str, extra_env: Mapping[str, str] | None = None, timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run `partnercrmd ARGS…` to completion with PARTNERCRMD_HOME=home; never raises on a non-zero exit."""
    return subprocess.run(
        [COMMAND, *args],
        env=partnercrmd_env(home, extra_env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A completed command, for assertion messages."""
    args = " ".join(str(a) for a in result.args)
    return f"`{args}` exited {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The last line the command wrote on stderr (its error message), or ''."""
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def wait_until(predicate: Callable[[], T | None], timeout: float, interval: float = 0.05, what: str = "condition") -> T:
    """Call `predicate` until it returns something truthy (returned); AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not reached within {timeout:g} s (last value {value!r})")
        time.sleep(interval)


def in_background(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Run `fn` in a daemon thread (never blocks interpreter exit); its outcome in the returned future."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001  (handed to the test through the future)
            future.set_exception(exc)

    threading.Thread(target=run, name=f"background-{getattr(fn, '__name__', 'call')}", daemon=True).start()
    return future


# --- HTTP -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.body[:500]!r}"


def http(
    method: str,
    url: str,
    fields: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = HTTP_TIMEOUT,
) -> Reply:
    """One request; a form-urlencoded body when `fields` is given (as the published client sends)."""
    data = urllib.parse.urlencode({k: str(v) for k, v in fields.items()}).encode() if fields is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Reply(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as exc:
        try:
            return Reply(exc.code, exc.read(), dict(exc.headers))
        finally:
            exc.close()


# --- the daemon process ---------------------------------------------------------------------------------


class Daemon:
    """A real `partnercrmd serve` process under a private home."""

    def __init__(
        self,
        home: Path,
        *,
        extra_env: Mapping[str, str] | None = None,
        args: Sequence[str] = SERVE_ARGS,
        launcher: Sequence[str] = (),
    ) -> None:
        self.home = home
        self.extra_env = dict(extra_env or {})
        self.args = tuple(args)
        self.launcher = tuple(launcher)
        """A command that runs `partnercrmd serve` for us, e.g. `prlimit --nofile=N:N` (none by default)."""
        self.output_file = home.with_name(f"{home.name}.serve-output.txt")
        """Where the current (or last) run writes its stdout and stderr; a new file for every start."""
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Daemon({str(self.home)!r}, pid={self.pid_or_none}, port={self.info.get('port')})"

    # files

    @property
    def discovery_file(self) -> Path:
        return self.home / "api.json"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "partnercrmd.log"

    def read_discovery(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.discovery_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def output(self) -> str:
        """What the process wrote on stdout and stderr in its current (or last) run."""
        try:
            return self.output_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    # process

    @property
    def pid_or_none(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the daemon is not running"
        return self.proc.pid

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def token(self) -> str:
        return str(self.info["token"])

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> Daemon:
        """Start `partnercrmd serve` and wait until its discovery file names it; DaemonError if it does not."""
        assert self.proc is None, "already started"
        self.home.parent.mkdir(parents=True, exist_ok=True)
        run = 1
        while (output_file := self.home.with_name(f"{self.home.name}.serve-output-{run}.txt")).exists():
            run += 1
        self.output_file = output_file
        with open(self.output_file, "xb") as out:
            self.proc = subprocess.Popen(
                [*self.launcher, COMMAND, "serve", *self.args],
                env=partnercrmd_env(self.home, self.extra_env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            info = self.read_discovery()
            if info is not None and info.get("pid") == self.proc.pid:
                self.info = info
                return self
            code = self.proc.poll()
            if code is not None:
                self.proc = None
                raise DaemonError(
                    f"`partnercrmd serve` exited {code} before writing {self.discovery_file}:\n{self.output()}"
                )
            if time.monotonic() >= deadline:
                self.kill()
                raise DaemonError(f"no {self.discovery_file} naming the daemon within {timeout:g} s:\n{self.output()}")
            time.sleep(0.05)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait; the exit code. DaemonError (after killing it) if it does not end in time."""
        assert self.proc is not None, "not running"
        proc = self.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise DaemonError(f"the daemon did not stop within {timeout:g} s of SIGTERM:\n{self.output()}") from None
        self.proc = None
        return code

    def kill(self) -> None:
        """SIGKILL if still running, and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def close(self) -> None:
        """Teardown: stop politely, else kill; never raises because of the daemon."""
        if self.proc is None:
            return
        try:
            self.stop(timeout=5)
        except DaemonError:
            pass
        finally:
            self.kill()

    def restart(self) -> int:
        """Stop (the exit code is returned) and start again under the same home."""
        code = self.stop()
        self.start()
        return code

    # HTTP

    def url(self, route: str, host: str = LOOPBACK) -> str:
        return f"http://{host}:{self.port}/api/v1/{route}"

    def request(
        self,
        method: str,
        route: str,
        fields: Mapping[str, Any] | None = None,
        *,
        app_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = HTTP_TIMEOUT,
    ) -> Reply:
        sent = dict(headers or {})
        if app_id is not None:
            sent["ApplicationId"] = app_id
        return http(method, self.url(route), fields, sent, timeout)

    def call(self, method: str, route: str, app_id: str, **fields: Any) -> Any:
        """A request expected to succeed: its JSON body (None for an empty one)."""
        reply = self.request(method, route, fields if method == "POST" else None, app_id=app_id)
        assert 200 <= reply.status < 300, f"{method} {route}: {reply}"
        return reply.json() if reply.body else None

    def register(self, app_id: str, name: str = "Black-box test", *, token: str | None = None) -> Reply:
        """POST Register; with `token` as `Authorization: Bearer` (approved at once) unless token is ''."""
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.request("POST", "Register", {"Name": name, "Id": app_id}, headers=headers)

    def register_trusted(self, name: str = "Black-box test") -> str:
        """Register a new application with the install token; its id."""
        app_id = str(uuid.uuid4())
        reply = self.register(app_id, name)
        assert reply.status == 204, f"Register with the install token: {reply}"
        return app_id

    def search(self, app_id: str, query: str, **fields: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("POST", "Search", app_id, query=query, **fields)
        return result

    def address_books(self, app_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "AddressBooks", app_id)
        return result


@contextmanager
def running_daemon(home: Path, *, extra_env: Mapping[str, str] | None = None) -> Iterator[Daemon]:
    """A started daemon, always stopped (or killed) on the way out."""
    daemon = Daemon(home, extra_env=extra_env)
    try:
        yield daemon.start()
    finally:
        daemon.close()


def display_texts(collection: Mapping[str, Any]) -> list[str]:
    return [str(record["DisplayText"]) for record in collection["Records"]]


def collection_of(collections: Sequence[Mapping[str, Any]], book_id: str) -> Mapping[str, Any]:
    """The AddinCollection of one book in a Search answer."""
    for collection in collections:
        if collection["AddinId"] == book_id:
            return collection
    raise AssertionError(f"no collection for book {book_id!r} in {[c['AddinId'] for c in collections]}")


# --- sockets --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostAddress:
    """An address of this machine; `scope_id` for IPv6 link-local ones."""

    address: str
    scope_id: int = 0
    interface: str = ""

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.address)

    def __str__(self) -> str:
        return f"{self.address}%{self.interface}" if self.scope_id else self.address


def machine_addresses() -> set[HostAddress]:
    """Every IPv4/IPv6 address of this machine (`ip -o addr`, plus what the host name resolves to)."""
    found: set[HostAddress] = set()
    try:
        listing = subprocess.run(
            ["ip", "-o", "addr", "show"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        listing = ""
    for line in listing.splitlines():
        match = re.match(r"^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F.:]+)/\d+", line)
        if not match:
            continue
        interface, family, address = match.groups()
        interface = interface.split("@")[0]
        scope = 0
        if family == "inet6" and ipaddress.ip_address(address).is_link_local:
            try:
                scope = socket.if_nametoindex(interface)
            except OSError:
                continue
        found.add(HostAddress(address, scope, interface))
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, proto=socket.IPPROTO_TCP)
    except OSError:
        infos = []
    for family, _, _, _, sockaddr in infos:
        if family == socket.AF_INET:
            found.add(HostAddress(str(sockaddr[0])))
        elif family == socket.AF_INET6:
            address = str(sockaddr[0]).split("%")[0]
            scope = int(sockaddr[3]) if len(sockaddr) == 4 else 0
            found.add(HostAddress(address, scope, str(scope) if scope else ""))
    return found


def connect_error(address: HostAddress, port: int, timeout: float = 3.0) -> OSError | None:
    """Try a TCP connection; the error it failed with, or None if something accepted it."""
    family = socket.AF_INET6 if address.ip.version == 6 else socket.AF_INET
    target: tuple[str, int] | tuple[str, int, int, int] = (
        (address.address, port, 0, address.scope_id) if family == socket.AF_INET6 else (address.address, port)
    )
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(target)
        except OSError as exc:
            return exc
    return None


def _proc_address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))  # four host-order 32-bit words
    return socket.inet_ntop(socket.AF_INET6, words)


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket process `pid` listens on, read from /proc (Linux)."""
    inodes: set[int] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            inodes.add(int(match.group(1)))
    listening: set[tuple[str, int]] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], int(parts[9])
            if state != "0A" or inode not in inodes:  # 0A: TCP_LISTEN
                continue
            hex_address, hex_port = local.split(":")
            listening.add((_proc_address(hex_address), int(hex_port, 16)))
    return listening


# --- raw connections, open files and log files (slow clients, floods) ------------------------------------


def open_file_descriptors(pid: int) -> int:
    """How many file descriptors process `pid` has open, from /proc (Linux)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def raw_exchange(port: int, data: bytes, timeout: float = HTTP_TIMEOUT) -> bytes:
    """Send `data` as-is on a new connection to the daemon and read until the daemon closes it (send
    `Connection: close` in a well-formed request); what came back (b"" if it reset the connection first)."""
    received = bytearray()
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            while chunk := sock.recv(65536):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass  # the daemon answered (or not) and closed before reading everything: a malformed request's fate
    return bytes(received)


def status_of(response: bytes) -> int | None:
    """The status code of a raw HTTP response, None if there is none."""
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", response)
    return int(match.group(1)) if match else None


def log_files_size(daemon: Daemon) -> int:
    """Bytes in all the daemon's log files (the current one and its rotated backups)."""
    return sum(path.stat().st_size for path in daemon.log_file.parent.glob(f"{daemon.log_file.name}*"))

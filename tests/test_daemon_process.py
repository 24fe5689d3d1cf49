"""The real `partnercrmd serve` process: discovery file, loopback-only socket, one instance per home,
approval of applications through the CLI, an add-in that fails to import.

Black-box: every test talks to a `partnercrmd` subprocess (PARTNERCRMD_HOME in a temporary directory,
keyring off) over HTTP on 127.0.0.1, and to the CLI. Only the registration timeout, 60 s in the real
daemon, is tested in process with the `partnercrmd.testing` fixtures (registration_wait=1.0).
"""

from __future__ import annotations

import os
import socket
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd.testing import addin_site
from tests.daemon_process import (
    Daemon,
    HostAddress,
    connect_error,
    describe,
    display_texts,
    error_line,
    in_background,
    listening_addresses,
    machine_addresses,
    run_cli,
    running_daemon,
    wait_until,
)

SAMPLE_NUMBER = "02079460958"
"""A sample contact of the embedded local book (Alice Hartley, +44 20 7946 0958)."""
SAMPLE_NAME = "Alice Hartley"
CHANGE_WINDOW = 1.5
"""How long a running daemon may take to notice a change another process made to the vault (~1 s)."""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for the module; its home does not exist before it starts (the daemon creates it)."""
    home = tmp_path_factory.mktemp("daemon-a") / "partnercrmd-home"
    with running_daemon(home) as running:
        yield running


@pytest.fixture(scope="module")
def app_id(daemon: Daemon) -> str:
    """An application registered with the install token."""
    return daemon.register_trusted()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- discovery file and install token --------------------------------------------------------------------


def test_discovery_file_describes_the_running_daemon(daemon: Daemon) -> None:
    info = daemon.read_discovery()
    assert info is not None
    assert set(info) == {"port", "https_port", "token", "pid", "version"}
    assert info["https_port"] is None, "no HTTPS before the local authority exists"
    assert info["pid"] == daemon.pid, "api.json must name the serving process"
    assert isinstance(info["port"], int) and 0 < info["port"] < 65536
    assert isinstance(info["token"], str) and len(info["token"]) >= 32
    version = daemon.request("GET", "Version")
    assert version.status == 200, version
    assert version.json()["ProductVersion"] == info["version"]


def test_discovery_file_and_home_are_private_to_the_user(daemon: Daemon) -> None:
    assert mode(daemon.discovery_file) == 0o600
    assert daemon.discovery_file.stat().st_uid == os.getuid()
    assert mode(daemon.home) == 0o700
    for directory in ("data", "logs"):
        assert mode(daemon.home / directory) == 0o700, directory
    for secret in ("vault.bin", "vault.key"):
        assert mode(daemon.home / secret) == 0o600, secret


def test_install_token_registers_an_application_at_once(daemon: Daemon) -> None:
    new_app = str(uuid.uuid4())
    started = time.monotonic()
    reply = daemon.register(new_app, "Token holder")
    assert reply.status == 204, reply
    assert reply.body == b""
    assert time.monotonic() - started < 5, "a token holder must not wait for approval"

    books = daemon.request("GET", "AddressBooks", app_id=new_app)
    assert books.status == 200, books
    assert "local" in [book["AddinId"] for book in books.json()]


def test_address_books_needs_an_approved_application(daemon: Daemon) -> None:
    for app_id in (None, str(uuid.uuid4())):
        reply = daemon.request("GET", "AddressBooks", app_id=app_id)
        assert reply.status == 401, reply
        body = reply.json()
        assert body["Message"] and body["Code"]


# --- loopback only ---------------------------------------------------------------------------------------


def test_listening_socket_is_bound_to_127_0_0_1_only(daemon: Daemon) -> None:
    listening = listening_addresses(daemon.pid)
    assert ("127.0.0.1", daemon.port) in listening, listening
    assert listening <= {("127.0.0.1", daemon.port), ("::1", daemon.port)}, f"non-loopback listener: {listening}"


def test_nothing_answers_on_any_address_but_127_0_0_1(daemon: Daemon) -> None:
    """Another loopback address always exists (127.0.0.2); the machine's network addresses are tried too."""
    error = connect_error(HostAddress("127.0.0.2"), daemon.port)
    assert isinstance(error, ConnectionRefusedError), f"127.0.0.2:{daemon.port} -> {error!r}"
    addresses = {a for a in machine_addresses() if not a.ip.is_loopback}
    answered = [str(a) for a in sorted(addresses, key=str) if connect_error(a, daemon.port) is None]
    assert not answered, f"the daemon's port {daemon.port} answers on {answered}"


def test_the_api_answers_on_127_0_0_1(daemon: Daemon) -> None:
    # The counterpart of the two tests above: the refusals are not because nothing listens at all.
    assert connect_error(HostAddress("127.0.0.1"), daemon.port) is None


# --- one instance per home, ports ------------------------------------------------------------------------


def test_second_serve_with_the_same_home_names_the_running_one(daemon: Daemon) -> None:
    before = daemon.read_discovery()
    result = run_cli(daemon.home, "serve", "--port", "0", "--region", "GB", timeout=30)
    assert result.returncode != 0, describe(result)
    message = error_line(result)
    assert message.startswith("partnercrmd: "), describe(result)
    assert "already running" in message, describe(result)
    assert str(daemon.pid) in message, f"the message must name the running daemon: {message}"
    assert "Traceback" not in result.stderr
    assert daemon.read_discovery() == before, "the failed second instance must leave api.json alone"
    assert daemon.request("GET", "Version").status == 200


def test_serve_on_a_taken_port_fails_naming_the_port(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(home, "serve", "--port", str(port), "--region", "GB", timeout=30)
    assert result.returncode != 0, describe(result)
    message = error_line(result)
    assert message.startswith("partnercrmd: "), describe(result)
    assert str(port) in message, describe(result)
    assert "taken" in message or "in use" in message, describe(result)
    assert "Traceback" not in result.stderr
    assert not (home / "api.json").exists()


def test_users_of_one_host_get_the_next_free_port_of_the_range(tmp_path: Path) -> None:
    """Terminal servers: with a port range every user's daemon takes the next free port and says which."""
    homes = [tmp_path / "user-a", tmp_path / "user-b"]
    for home in homes:
        assert run_cli(home, "settings", "set", "port_span=5").returncode == 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:  # another program holds the first port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        first = taken.getsockname()[1]
        daemons = [Daemon(home, args=("--port", str(first), "--region", "GB")) for home in homes]
        try:
            for daemon in daemons:
                daemon.start()
            ports = [daemon.port for daemon in daemons]
            assert len(set(ports)) == 2 and all(first < port < first + 5 for port in ports), ports
            for daemon in daemons:
                assert daemon.request("GET", "Version").status == 200
        finally:
            for daemon in daemons:
                daemon.close()


def test_two_homes_run_side_by_side_and_sigterm_stops_one(daemon: Daemon, app_id: str, tmp_path: Path) -> None:
    other = Daemon(tmp_path / "home-b")
    try:
        other.start()
        assert other.port != daemon.port
        assert other.pid != daemon.pid
        assert other.token != daemon.token
        other_app = other.register_trusted("Other home")
        assert other.address_books(other_app)
        assert daemon.address_books(app_id)
        # Each home has its own applications.
        assert other.request("GET", "AddressBooks", app_id=app_id).status == 401
        assert daemon.request("GET", "AddressBooks", app_id=other_app).status == 401

        other_pid = other.pid
        code = other.stop()
        assert code == 0, other.output()
        assert not other.discovery_file.exists(), "api.json must be removed on SIGTERM"
        with pytest.raises(ProcessLookupError):
            os.kill(other_pid, 0)
        assert "Traceback" not in other.output()
    finally:
        other.close()
    assert daemon.read_discovery() is not None, "stopping one daemon must not touch the other's api.json"
    assert daemon.request("GET", "Version").status == 200


# --- approval of applications ----------------------------------------------------------------------------


def _app_line(home: Path, app_id: str) -> str:
    listed = run_cli(home, "apps", "list")
    assert listed.returncode == 0, describe(listed)
    return next((line for line in listed.stdout.splitlines() if app_id in line), "")


def test_register_without_token_waits_for_cli_approval_then_revoke(daemon: Daemon) -> None:
    waiting_app = str(uuid.uuid4())
    pending = in_background(daemon.register, waiting_app, "Waiting app", token="")
    line = wait_until(lambda: _app_line(daemon.home, waiting_app), timeout=10, what="the app listed")
    assert "pending" in line, line
    assert not pending.done(), f"Register answered before approval: {pending.result()}"

    approved = run_cli(daemon.home, "apps", "approve", waiting_app)
    assert approved.returncode == 0, describe(approved)
    assert "approved" in approved.stdout
    reply = pending.result(timeout=5)
    assert reply.status == 204, reply
    assert "approved" in _app_line(daemon.home, waiting_app)
    assert daemon.request("GET", "AddressBooks", app_id=waiting_app).status == 200

    revoked = run_cli(daemon.home, "apps", "revoke", waiting_app)
    assert revoked.returncode == 0, describe(revoked)
    assert "revoked" in revoked.stdout
    started = time.monotonic()
    refused = wait_until(
        lambda: r if (r := daemon.request("GET", "AddressBooks", app_id=waiting_app)).status == 401 else None,
        timeout=CHANGE_WINDOW,
        interval=0.05,
        what="401 after revoke",
    )
    assert time.monotonic() - started <= CHANGE_WINDOW
    assert refused.json()["Code"] and refused.json()["Message"]
    assert "revoked" in _app_line(daemon.home, waiting_app)


def test_register_revoked_while_waiting_gets_403(daemon: Daemon) -> None:
    waiting_app = str(uuid.uuid4())
    pending = in_background(daemon.register, waiting_app, "Refused app", token="")
    wait_until(lambda: _app_line(daemon.home, waiting_app), timeout=10, what="the app listed")
    revoked = run_cli(daemon.home, "apps", "revoke", waiting_app)
    assert revoked.returncode == 0, describe(revoked)
    reply = pending.result(timeout=5)
    assert reply.status == 403, reply
    body = reply.json()
    assert set(body) >= {"Message", "Code"}
    assert body["Message"] and body["Code"]
    assert daemon.request("GET", "AddressBooks", app_id=waiting_app).status == 401


def test_apps_approve_of_an_unknown_application_fails_clearly(daemon: Daemon) -> None:
    result = run_cli(daemon.home, "apps", "approve", "no-such-app")
    assert result.returncode != 0, describe(result)
    assert error_line(result).startswith("partnercrmd: "), describe(result)
    assert "no-such-app" in error_line(result)


# In process: the real daemon waits 60 s for an approval that never comes; the fixtures wait 1 s.


async def test_register_nobody_approves_gets_403_after_the_wait(
    partnercrmd_client: TestClient[web.Request, web.Application],
) -> None:
    waiting_app = str(uuid.uuid4())
    started = time.monotonic()
    response = await partnercrmd_client.post("/api/v1/Register", data={"Name": "Nobody approves", "Id": waiting_app})
    elapsed = time.monotonic() - started
    assert response.status == 403, await response.text()
    body = await response.json()
    assert set(body) >= {"Message", "Code"}
    assert body["Code"] == "approval_pending"
    assert waiting_app in body["Message"], "the message should say how to approve the application"
    assert 0.9 <= elapsed < 5, elapsed
    books = await partnercrmd_client.get("/api/v1/AddressBooks", headers={"ApplicationId": waiting_app})
    assert books.status == 401


async def test_register_with_a_wrong_token_is_not_trusted(
    partnercrmd_client: TestClient[web.Request, web.Application],
) -> None:
    waiting_app = str(uuid.uuid4())
    response = await partnercrmd_client.post(
        "/api/v1/Register",
        data={"Name": "Wrong token", "Id": waiting_app},
        headers={"Authorization": "Bearer not-the-install-token"},
    )
    assert response.status == 403, await response.text()
    assert (await response.json())["Code"] == "approval_pending"


# --- an add-in that fails to import ----------------------------------------------------------------------

WORKING_ADDIN = '''\
"""brokenaddin before it broke: provides the integration `broken`, whose books find nobody."""

from partnercrmd import hookimpl
from partnercrmd.integration import BlockingConnector, Capability, Integration


class EmptyBook(BlockingConnector):
    def search(self, query):
        return []


@hookimpl
def partnercrmd_integrations():
    return [
        Integration(
            id="broken",
            name="Broken CRM",
            version="0.1",
            open=lambda context: EmptyBook(),
            capabilities=frozenset({Capability.SEARCH_NAME, Capability.SEARCH_NUMBER}),
        )
    ]
'''
BROKEN_ADDIN = 'raise ImportError("brokenaddin_mod needs the library frobnicate, which is not installed")\n'
BROKEN_BOOK = "Broken CRM book"
LOCAL_BOOK = "Local contacts"


def named(collections: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [c for c in collections if c["AddinName"] == name]
    assert len(found) == 1, f"{name!r} in {[c['AddinName'] for c in collections]}"
    return found[0]


@pytest.fixture(scope="module")
def broken_addin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(site directory for PYTHONPATH, home): a book of type `broken` configured while its add-in worked,
    then the add-in's module replaced by one that raises ImportError."""
    base = tmp_path_factory.mktemp("broken-addin")
    site = base / "site"
    env = addin_site(
        site, {"broken": "brokenaddin_mod"}, distribution="brokenaddin", sources={"brokenaddin_mod": WORKING_ADDIN}
    )
    module = site / "brokenaddin_mod.py"
    home = base / "home"
    # The local book is configured explicitly: this home's first command is `books add`, not `serve`.
    for args in (
        ("local", "--name", LOCAL_BOOK, "--set", "seed_samples=true"),
        ("broken", "--name", BROKEN_BOOK),
    ):
        added = run_cli(home, "books", "add", *args, extra_env=env)
        assert added.returncode == 0, describe(added)
    module.write_text(BROKEN_ADDIN, encoding="utf-8")
    return site, home


def test_books_add_of_an_addin_that_fails_to_import_is_refused(broken_addin: tuple[Path, Path]) -> None:
    site, home = broken_addin
    env = {"PYTHONPATH": str(site)}
    vault_before = (home / "vault.bin").read_bytes()
    result = run_cli(home, "books", "add", "broken", "--name", "Another broken book", extra_env=env)
    assert result.returncode != 0, describe(result)
    message = error_line(result)
    assert message.startswith("partnercrmd: "), describe(result)
    assert "'broken' failed to load" in message and "ImportError" in message, describe(result)
    assert "Traceback" not in result.stderr
    assert (home / "vault.bin").read_bytes() == vault_before, "a refused `books add` must change nothing"

    types = run_cli(home, "books", "types", extra_env=env)
    assert types.returncode == 0, describe(types)
    assert any(line.split()[0] == "local" for line in types.stdout.splitlines()[1:]), types.stdout

    listed = run_cli(home, "books", "list", extra_env=env)
    assert listed.returncode == 0, describe(listed)
    line = next(line for line in listed.stdout.splitlines() if BROKEN_BOOK in line)
    assert "unavailable" in line, line


def test_daemon_serves_despite_an_addin_that_fails_to_import(broken_addin: tuple[Path, Path]) -> None:
    site, home = broken_addin
    with running_daemon(home, extra_env={"PYTHONPATH": str(site)}) as daemon:
        app_id = daemon.register_trusted()
        collections = daemon.search(app_id, SAMPLE_NUMBER)
        assert display_texts(named(collections, LOCAL_BOOK)) == [SAMPLE_NAME]
        broken = named(collections, BROKEN_BOOK)
        assert broken["Records"] == []
        assert "failed to load" in broken["ExceptionText"] and "ImportError" in broken["ExceptionText"]

        book = next(b for b in daemon.address_books(app_id) if b["Name"] == BROKEN_BOOK)
        assert book["Status"] == "Unavailable"
        assert "ImportError" in book["ExceptionText"]

        log = daemon.log_text()
        assert "add-in broken (brokenaddin) failed to load: ImportError" in log, log
        code = daemon.stop()
    assert code == 0, daemon.output()
    assert not daemon.discovery_file.exists()


def test_disabled_addin_is_not_loaded_and_its_failure_not_logged(broken_addin: tuple[Path, Path]) -> None:
    site, home = broken_addin
    env = {"PYTHONPATH": str(site), "PARTNERCRMD_DISABLE_ADDINS": "broken"}
    log_file = home / "logs" / "partnercrmd.log"
    offset = log_file.stat().st_size if log_file.exists() else 0
    with running_daemon(home, extra_env=env) as daemon:
        app_id = daemon.register_trusted()
        collections = daemon.search(app_id, SAMPLE_NUMBER)
        assert display_texts(named(collections, LOCAL_BOOK)) == [SAMPLE_NAME]
        broken = named(collections, BROKEN_BOOK)
        assert broken["Records"] == []
        assert "disabled" in broken["ExceptionText"], broken
        code = daemon.stop()
    assert code == 0, daemon.output()
    with open(log_file, encoding="utf-8", errors="replace") as handle:
        handle.seek(offset)
        new_log = handle.read()
    assert "listening on" in new_log, "the log of this run was not found"
    assert "failed to load" not in new_log and "ImportError" not in new_log, new_log
    assert "ImportError" not in daemon.output()


def test_rotated_token_reaches_the_discovery_file(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "rotating") as rotating:
        old = rotating.read_discovery()
        assert old is not None
        result = run_cli(rotating.home, "apps", "rotate-token")
        assert result.returncode == 0, describe(result)
        new = wait_until(
            lambda: (info := rotating.read_discovery()) and info["token"] != old["token"] and info,
            timeout=3,
            what="api.json to carry the new token",
        )
        assert (new["port"], new["pid"]) == (old["port"], old["pid"])
        assert mode(rotating.discovery_file) == 0o600
        assert rotating.register("rotated-2", token=str(new["token"])).status == 204

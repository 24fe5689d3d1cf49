"""HTTPS on the daemon under its local certificate authority, its renewal, and `partnercrmd tls` (issue #20).

Black-box where it can be: real `partnercrmd serve` processes, clients that trust only the authority's
certificate file, the real `certutil` against NSS databases under a temporary HOME. The renewal while
running is the real `run_daemon` in this process with its certificate clock moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from partnercrmd import tls
from partnercrmd.config import DaemonConfig
from partnercrmd.platform import trust_store
from partnercrmd.testing import write_branding
from tests.daemon_process import SERVE_ARGS, Daemon, describe, error_line, partnercrmd_env, run_cli
from tests.in_process_daemon import daemon_in_this_loop
from tests.platform_fakes import RecordingRunner, reply
from tests.test_platform_windows import self_signed

VERSION = "/api/v1/Version"


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def trusting(authority: Path | None) -> ssl.SSLContext:
    """A client context trusting only `authority` (None: the system's usual authorities, not ours)."""
    return ssl.create_default_context(cafile=str(authority)) if authority else ssl.create_default_context()


def get(url: str, context: ssl.SSLContext | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET `url` (no proxy); the status and body, also of an error answer."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context or ssl.create_default_context())
    )
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def served_certificate(port: int, host: str = "127.0.0.1") -> x509.Certificate:
    """The certificate the daemon presents on a new connection (not verified: we only look at it)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=None if host[0].isdigit() else host) as wrapped,
    ):
        der = wrapped.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    """A HOME of its own (trust stores live there), with no NSS database yet."""
    home = tmp_path / "user-home"
    home.mkdir()
    return home


@pytest.fixture
def https_daemon(tmp_path: Path, user_home: Path) -> Iterator[Daemon]:
    """A daemon asked for HTTPS on a free port: the first use, so it makes the authority."""
    port = free_port()
    daemon = Daemon(
        tmp_path / "home", args=(*SERVE_ARGS, "--https-port", str(port)), extra_env={"HOME": str(user_home)}
    )
    try:
        yield daemon.start()
    finally:
        daemon.close()


# --- serving HTTPS --------------------------------------------------------------------------------------


def test_https_answers_under_the_local_authority_and_http_still_answers(https_daemon: Daemon) -> None:
    https_port = https_daemon.info["https_port"]
    assert isinstance(https_port, int) and https_port != https_daemon.port
    files = tls.TlsFiles(https_daemon.home / "tls")
    ours = trusting(files.authority)

    for host in ("localhost", "127.0.0.1"):
        status, body = get(f"https://{host}:{https_port}{VERSION}", ours)
        assert status == 200 and b"ProductVersion" in body, (host, status, body)
    with pytest.raises(urllib.error.URLError) as refused:
        get(f"https://localhost:{https_port}{VERSION}", trusting(None))
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError), refused.value
    status, body = get(f"http://127.0.0.1:{https_daemon.port}{VERSION}")
    assert status == 200 and b"ProductVersion" in body

    # the same security rules as HTTP: a rebound host name is refused, the API needs an approved application
    status, body = get(f"https://127.0.0.1:{https_port}{VERSION}", ours, {"Host": f"evil.example:{https_port}"})
    assert status == 403 and b"forbidden_host" in body
    status, body = get(f"https://localhost:{https_port}/api/v1/AddressBooks", ours)
    assert status == 401
    app_id = https_daemon.register_trusted("HTTPS test")
    status, body = get(f"https://localhost:{https_port}/api/v1/AddressBooks", ours, {"ApplicationId": app_id})
    assert status == 200 and json.loads(body), body
    assert asyncio.run(first_event_over_wss(https_port, app_id, ours)) == "Initial"

    leaf = served_certificate(https_port)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= timedelta(days=397)
    authority = x509.load_pem_x509_certificate(files.authority.read_bytes())
    assert authority.not_valid_after_utc - authority.not_valid_before_utc >= timedelta(days=3650)
    assert tls.common_name(authority) == "partnercrmd local authority"
    if sys.platform != "win32":
        assert mode(files.authority_key) == 0o600 and mode(files.leaf_key) == 0o600 and mode(files.directory) == 0o700


async def first_event_over_wss(port: int, app_id: str, context: ssl.SSLContext) -> str:
    """The type of the first event the WebSocket sends over `wss://localhost:PORT`."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"wss://localhost:{port}/api/v1/events/{app_id}", ssl=context) as ws,
    ):
        event = await ws.receive_json(timeout=10)
    return str(event["EventType"])


def test_the_authority_cannot_vouch_for_any_other_site(https_daemon: Daemon, tmp_path: Path) -> None:
    """Name constraints: a certificate for another site, signed with the authority's own key, is refused."""
    files = tls.TlsFiles(https_daemon.home / "tls")
    authority = tls.read_authority(files)
    assert authority is not None
    forged_key = ec.generate_private_key(ec.SECP256R1())
    now = tls.utc_now()
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bank.example")]))
        .issuer_name(authority.certificate.subject)
        .public_key(forged_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("bank.example")]), critical=False)
        .sign(authority.key, hashes.SHA256())
    )
    (tmp_path / "forged.pem").write_bytes(tls._pem(forged))
    (tmp_path / "forged-key.pem").write_bytes(tls._pem_key(forged_key))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "forged.pem", tmp_path / "forged-key.pem")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        accepting = threading.Thread(target=accept_one, args=(listener, server), daemon=True)
        accepting.start()
        with (
            socket.create_connection(listener.getsockname(), timeout=10) as raw,
            pytest.raises(ssl.SSLCertVerificationError, match="subtree"),
        ):
            trusting(files.authority).wrap_socket(raw, server_hostname="bank.example")
        accepting.join(timeout=10)


def accept_one(listener: socket.socket, context: ssl.SSLContext) -> None:
    """Accept one connection and try the TLS handshake (the client is expected to give up)."""
    connection, _ = listener.accept()
    with connection, contextlib.suppress(OSError):
        context.wrap_socket(connection, server_side=True)


def test_https_is_off_until_the_authority_exists_then_on_by_default(tmp_path: Path, user_home: Path) -> None:
    home = tmp_path / "home"
    env = {"HOME": str(user_home)}
    daemon = Daemon(home, extra_env=env)
    try:
        daemon.start()
        assert daemon.info["https_port"] is None
        assert not (home / "tls").exists(), "no authority is made before it is asked for"
        daemon.stop()

        installed = run_cli(home, "tls", "install", extra_env=env)
        assert installed.returncode == 0, describe(installed)
        # 10443 may be taken on a shared machine: the range setting lets the daemon take the next free port
        assert run_cli(home, "settings", "set", "port_span=100").returncode == 0
        daemon.start()
        https_port = daemon.info["https_port"]
        assert isinstance(https_port, int) and tls.DEFAULT_HTTPS_PORT <= https_port < tls.DEFAULT_HTTPS_PORT + 100
        status, _ = get(f"https://localhost:{https_port}{VERSION}", trusting(home / "tls" / "authority.pem"))
        assert status == 200
        daemon.stop()

        assert run_cli(home, "settings", "set", "https_port=0").returncode == 0
        daemon.start()
        assert daemon.info["https_port"] is None, "https_port=0 turns HTTPS off"
    finally:
        daemon.close()


@contextlib.contextmanager
def port_taken(port: int) -> Iterator[None]:
    """Hold `port` on 127.0.0.1 for the block (if another program holds it already, it is taken all the same)."""
    with socket.socket() as holder:
        with contextlib.suppress(OSError):
            holder.bind(("127.0.0.1", port))
            holder.listen()
        yield


def test_https_on_by_default_whose_port_is_taken_is_left_off_and_http_serves(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tls.ensure_certificates(tls.TlsFiles(home / "tls"), "partnercrmd", tls.utc_now(), create=True)
    daemon = Daemon(home)
    try:
        with port_taken(tls.DEFAULT_HTTPS_PORT):
            daemon.start()
        assert daemon.info["https_port"] is None
        status, _ = get(f"http://127.0.0.1:{daemon.port}{VERSION}")
        assert status == 200
        assert "HTTPS is off: Port 10443 on 127.0.0.1 taken" in daemon.log_text()
    finally:
        daemon.close()


def test_https_asked_for_on_a_taken_port_stops_the_daemon_with_the_option_to_change(tmp_path: Path) -> None:
    port = free_port()
    daemon = Daemon(tmp_path / "home", args=(*SERVE_ARGS, "--https-port", str(port)))
    try:
        with port_taken(port), pytest.raises(AssertionError) as failed:
            daemon.start()
    finally:
        daemon.close()
    assert f"Port {port} on 127.0.0.1 taken" in str(failed.value) and "--https-port" in str(failed.value)


def test_a_certificate_whose_key_does_not_match_is_made_again_at_start(https_daemon: Daemon) -> None:
    files = tls.TlsFiles(https_daemon.home / "tls")
    https_daemon.stop()
    old_leaf = x509.load_pem_x509_certificate(files.leaf.read_bytes())
    files.leaf_key.write_bytes(tls._pem_key(ec.generate_private_key(ec.SECP256R1())))  # as a torn renewal leaves it
    https_daemon.start()
    served = served_certificate(https_daemon.info["https_port"])
    assert served.serial_number != old_leaf.serial_number
    status, _ = get(f"https://localhost:{https_daemon.info['https_port']}{VERSION}", trusting(files.authority))
    assert status == 200


def test_a_certificate_near_expiry_is_replaced_at_start_and_the_authority_kept(https_daemon: Daemon) -> None:
    files = tls.TlsFiles(https_daemon.home / "tls")
    https_daemon.stop()
    authority = tls.read_authority(files)
    assert authority is not None
    # issued 85 days ago, so 5 days are left: valid, but due for renewal
    old_leaf, old_key = tls.issue_leaf(authority, tls.utc_now() - timedelta(days=85))
    files.leaf.write_bytes(tls._pem(old_leaf))
    files.leaf_key.write_bytes(tls._pem_key(old_key))
    fingerprint = tls.fingerprint(authority.certificate)

    https_daemon.start()
    https_port = https_daemon.info["https_port"]
    served = served_certificate(https_port)
    assert served.serial_number != old_leaf.serial_number
    assert served.not_valid_after_utc - tls.utc_now() > tls.RENEW_BEFORE
    assert tls.fingerprint(x509.load_pem_x509_certificate(files.authority.read_bytes())) == fingerprint
    status, _ = get(f"https://localhost:{https_port}{VERSION}", trusting(files.authority))
    assert status == 200


async def test_a_running_daemon_renews_its_certificate_without_dropping_connections(
    partnercrmd_config: DaemonConfig,
) -> None:
    now = tls.utc_now()
    clock = [now - timedelta(days=70)]  # the certificate is made 70 days ago: 20 days left now, due for renewal
    partnercrmd_config.https_port = free_port()
    partnercrmd_config.tls_clock = lambda: clock[0]
    partnercrmd_config.tls_check_interval = 0.1
    async with daemon_in_this_loop(partnercrmd_config):
        port = partnercrmd_config.https_port
        files = tls.TlsFiles.of(partnercrmd_config.paths)
        authority = files.authority.read_bytes()
        first = await asyncio.to_thread(served_certificate, port)
        kept = http.client.HTTPSConnection("localhost", port, timeout=10, context=trusting(files.authority))
        try:
            assert await asyncio.to_thread(serial_over, kept) == first.serial_number
            await asyncio.sleep(0.3)  # a few checks: nothing is due yet
            assert (await asyncio.to_thread(served_certificate, port)).serial_number == first.serial_number

            clock[0] = now  # the next check finds the certificate due
            renewed = await wait_for_new_certificate(port, first.serial_number)
            assert renewed.not_valid_after_utc - now > tls.RENEW_BEFORE
            assert files.authority.read_bytes() == authority, "the authority is reused"
            # the connection opened before the renewal is still served, with the certificate it began with
            assert await asyncio.to_thread(serial_over, kept) == first.serial_number
        finally:
            kept.close()
        fresh = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=trusting(files.authority))
        try:
            assert await asyncio.to_thread(serial_over, fresh) == renewed.serial_number
        finally:
            fresh.close()


async def test_a_connection_that_never_finishes_its_tls_handshake_is_closed_in_time(
    partnercrmd_config: DaemonConfig,
) -> None:
    """Slowloris over TLS: the handshake has the request head's time limit, not asyncio's 60 s."""
    partnercrmd_config.https_port = free_port()
    partnercrmd_config.request_head_timeout = 0.5
    async with daemon_in_this_loop(partnercrmd_config):
        assert partnercrmd_config.https_port is not None
        closed_after = await asyncio.to_thread(seconds_until_closed, partnercrmd_config.https_port, b"\x16\x03\x01")
        assert closed_after < 5, f"a connection stuck in its handshake stayed open {closed_after:.1f} s"


def seconds_until_closed(port: int, first_bytes: bytes, limit: float = 15.0) -> float:
    """Open a connection, send `first_bytes` (the start of a TLS record) and nothing more; how long until the
    daemon closes it (`limit` if it does not)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as raw:
        raw.sendall(first_bytes)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while raw.recv(1024):
                pass
    return time.monotonic() - started


def serial_over(connection: http.client.HTTPSConnection) -> int:
    """GET Version on `connection` (verified; kept open) and the serial number of the certificate it was served with."""
    connection.request("GET", VERSION)
    response = connection.getresponse()
    body = response.read()
    assert response.status == 200, body
    assert isinstance(connection.sock, ssl.SSLSocket)
    der = connection.sock.getpeercert(binary_form=True)
    assert der is not None
    return int(x509.load_der_x509_certificate(der).serial_number)


async def wait_for_new_certificate(port: int, old_serial: int, timeout: float = 10.0) -> x509.Certificate:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        served = await asyncio.to_thread(served_certificate, port)
        if served.serial_number != old_serial:
            return served
        assert loop.time() < deadline, "the certificate was not renewed"
        await asyncio.sleep(0.05)


# --- partnercrmd tls ------------------------------------------------------------------------------------


def nss_nicknames(database: Path) -> str:
    listed = subprocess.run(
        ["certutil", "-d", f"sql:{database}", "-L"], capture_output=True, text=True, timeout=30, check=True
    )
    return listed.stdout


def new_nss_database(folder: Path) -> Path:
    folder.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{folder}", "-N", "--empty-password"], check=True, timeout=30)
    return folder


def test_tls_install_status_and_uninstall_against_real_nss_databases(tmp_path: Path, user_home: Path) -> None:
    home = tmp_path / "home"
    env = {"HOME": str(user_home)}
    firefox = new_nss_database(user_home / ".mozilla" / "firefox" / "abcd1234.default-release")

    status = run_cli(home, "tls", "status", extra_env=env)
    assert status.returncode == 1 and "no local authority yet" in status.stdout, describe(status)

    installed = run_cli(home, "tls", "install", extra_env=env)
    assert installed.returncode == 0, describe(installed)
    authority = tls.read_authority(tls.TlsFiles(home / "tls"))
    assert authority is not None
    chromium = user_home / ".pki" / "nssdb"
    assert (chromium / "cert9.db").exists(), "the Chromium database is made when the browser has not run yet"
    for database in (chromium, firefox):
        assert authority.store_name in nss_nicknames(database), database
    assert tls.fingerprint(authority.certificate) in installed.stdout

    status = run_cli(home, "tls", "status", extra_env=env)
    assert status.returncode == 0, describe(status)
    assert tls.fingerprint(authority.certificate) in status.stdout
    assert "Chromium, Chrome and other NSS programs (~/.pki/nssdb): trusts it" in status.stdout
    assert "Firefox profile abcd1234.default-release" in status.stdout
    assert "does not trust it" not in status.stdout
    assert "Certificate for localhost, 127.0.0.1 and ::1: valid until" in status.stdout

    again = run_cli(home, "tls", "install", extra_env=env)
    assert again.returncode == 0, describe(again)
    again_authority = tls.read_authority(tls.TlsFiles(home / "tls"))
    assert again_authority is not None and again_authority.certificate == authority.certificate, "kept"

    removed = run_cli(home, "tls", "uninstall", extra_env=env)
    assert removed.returncode == 0, describe(removed)
    for database in (chromium, firefox):
        assert authority.store_name not in nss_nicknames(database), database
    assert (home / "tls" / "authority.pem").exists(), "without --delete the files stay"
    status = run_cli(home, "tls", "status", extra_env=env)
    assert status.returncode == 1 and "does not trust it" in status.stdout, describe(status)

    deleted = run_cli(home, "tls", "uninstall", "--delete", extra_env=env)
    assert deleted.returncode == 0, describe(deleted)
    assert not any((home / "tls").glob("*.pem"))
    assert run_cli(home, "tls", "status", extra_env=env).returncode == 1


def test_a_branded_authority_carries_the_products_name(tmp_path: Path, user_home: Path) -> None:
    home = tmp_path / "home"
    branding = write_branding(tmp_path)
    env = {"HOME": str(user_home), "PARTNERCRMD_BRANDING": str(branding)}
    installed = run_cli(home, "tls", "install", extra_env=env)
    assert installed.returncode == 0, describe(installed)
    authority = tls.read_authority(tls.TlsFiles(home / "tls"))
    assert authority is not None and authority.name == "Acme Connect local authority"
    assert "partnercrmd" not in tls.common_name(authority.certificate)
    assert f"{authority.name} {tls.short_id(authority.certificate)}" in nss_nicknames(user_home / ".pki" / "nssdb")
    status = run_cli(home, "tls", "status", extra_env=env)
    assert "Local authority: Acme Connect local authority" in status.stdout, describe(status)


def test_tls_install_without_certutil_says_which_package_and_changes_nothing(tmp_path: Path, user_home: Path) -> None:
    home = tmp_path / "home"
    bare_path = tmp_path / "bin-without-certutil"
    bare_path.mkdir()
    env = {"HOME": str(user_home), "PATH": str(bare_path)}
    result = subprocess.run(
        [sys.executable, "-m", "partnercrmd", "tls", "install"],
        env=partnercrmd_env(home, env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0, describe(result)
    assert "`certutil` was not found" in error_line(result) and "libnss3-tools" in error_line(result), describe(result)
    assert not (home / "tls").exists(), "nothing is made when the authority cannot be trusted"

    assert run_cli(home, "tls", "install", extra_env={"HOME": str(user_home)}).returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "partnercrmd", "tls", "uninstall"],
        env=partnercrmd_env(home, env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "libnss3-tools" in error_line(result), describe(result)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("tls",), "the following arguments are required"),
        (("tls", "trust"), "invalid choice: 'trust'"),
        (("tls", "status", "--delete"), "unrecognized arguments: --delete"),
        (("serve", "--https-port", "70000"), "'70000' is not a port number from 0 to 65535"),
        (("serve", "--https-port", "ten"), "'ten' is not a port number"),
    ],
)
def test_bad_tls_arguments_are_refused_clearly(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = run_cli(tmp_path / "home", *args)
    assert result.returncode == 2 and expected in result.stderr, describe(result)


def test_https_port_setting_is_checked(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "home", "settings", "set", "https_port=99999")
    assert result.returncode != 0 and "from 0 to 65535" in error_line(result), describe(result)


def test_a_damaged_authority_stops_the_daemon_with_the_fix(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "tls").mkdir(parents=True)
    (home / "tls" / "authority.pem").write_text("not a certificate", encoding="utf-8")
    (home / "tls" / "authority-key.pem").write_text("not a key", encoding="utf-8")
    daemon = Daemon(home)
    try:
        with pytest.raises(AssertionError) as failed:
            daemon.start()
    finally:
        daemon.close()
    assert "HTTPS cannot start" in str(failed.value) and "tls uninstall --delete" in str(failed.value)


def test_discovery_names_the_https_port_for_the_users_programs(https_daemon: Daemon) -> None:
    assert set(https_daemon.info) >= {"port", "https_port", "token", "pid"}
    if sys.platform != "win32":
        assert mode(https_daemon.discovery_file) == 0o600


# --- the macOS and Windows stores (their commands, as the platform tests check them: with a recording runner) ------


def test_which_macos_and_windows_stores_hold_the_authority(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "authority.pem")
    thumbprint = trust_store.sha1_thumbprint(certificate)

    windows = RecordingRunner({"certutil": reply(returncode=0)})
    assert trust_store.for_platform("win32").holders(certificate, windows) == [("the current user's Root store", True)]
    assert windows.calls == [["certutil", "-user", "-store", "Root", thumbprint]]
    absent = RecordingRunner({"certutil": reply(returncode=0x80092004)})  # CRYPT_E_NOT_FOUND
    assert trust_store.for_platform("win32").holders(certificate, absent) == [("the current user's Root store", False)]

    keychain = str(tmp_path / "Library" / "Keychains" / "login.keychain-db")
    listing = f'SHA-256 hash: 00\nSHA-1 hash: {thumbprint}\nkeychain: "{keychain}"\n'
    mac = RecordingRunner({"security": reply(stdout=listing)})
    assert trust_store.for_platform("darwin", home=tmp_path).holders(certificate, mac) == [("the login keychain", True)]
    assert mac.calls == [["security", "find-certificate", "-a", "-Z", keychain]]
    other = RecordingRunner({"security": reply(stdout="SHA-1 hash: 0123\n")})
    assert trust_store.for_platform("darwin", home=tmp_path).holders(certificate, other) == [
        ("the login keychain", False)
    ]


def test_a_missing_trust_tool_is_named_with_where_it_comes_from(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "authority.pem")
    missing = RecordingRunner({"certutil": reply(returncode=trust_store.NOT_FOUND)})
    with pytest.raises(trust_store.ToolMissing, match="libnss3-tools"):
        trust_store.trust(trust_store.for_platform("linux", home=tmp_path), certificate, missing)
    with pytest.raises(trust_store.ToolMissing, match="part of Windows"):
        trust_store.distrust(trust_store.for_platform("win32"), certificate, missing)

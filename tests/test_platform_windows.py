"""The Windows implementations of every platform seam, run on Linux with the system calls substituted.

`winreg`, `msvcrt` and kernel32 are fakes (tests/platform_fakes.py) installed while sys.platform says
"win32", and the Unix-only calls raise: each test checks the exact keys, values, files and commands
the Windows code would write or run, and that nothing Unix-only was reached.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from partnercrmd import autostart as start_at_login
from partnercrmd import daemon, discovery
from partnercrmd.dialling import handlers
from partnercrmd.dialling.clipboard import find_clipboard_helper
from partnercrmd.errors import ConfigError
from partnercrmd.paths import Paths
from partnercrmd.platform import autostart, files, notifications, process, tesseract, trust_store, url_handlers
from partnercrmd.platform.clipboard import NO_PRIMARY, selection_problem
from partnercrmd.platform.registry import CurrentUserRegistry
from partnercrmd.platform.screen import capture_problem
from partnercrmd.vault import Vault
from tests.platform_fakes import (
    FakeKernel32,
    FakeProcess,
    PretendPlatform,
    RecordingRunner,
    UnixOnlyCallReached,
    pretend_to_be,
)

REPO = Path(__file__).resolve().parents[1]
EXE = r"C:\Program Files\Acme Connect\partnercrmd.exe"


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> Iterator[PretendPlatform]:
    fakes = pretend_to_be(monkeypatch, "win32")
    yield fakes
    assert fakes.unix_calls == [], "a Unix-only call was reached"


# --- the registry -----------------------------------------------------------------------------------------


def test_registry_writes_strings_under_hkcu_and_deletes_whole_trees(windows: PretendPlatform) -> None:
    registry = CurrentUserRegistry()
    assert registry.get(r"Software\Acme", "x") is None
    registry.set(r"Software\Acme\A\B", "", "default")
    registry.set(r"Software\Acme\A", "name", "value")
    assert registry.get(r"software\acme\a", "name") == "value"  # keys compare case-insensitively
    assert windows.winreg.values() == {(r"Software\Acme\A\B", ""): "default", (r"Software\Acme\A", "name"): "value"}
    assert registry.delete_value(r"Software\Acme\A", "name") is True
    assert registry.delete_value(r"Software\Acme\A", "name") is False
    assert registry.delete_tree(r"Software\Acme") is True  # DeleteKey alone refuses keys with subkeys
    assert registry.delete_tree(r"Software\Acme") is False
    assert set(windows.winreg.keys) == {"Software"}


def test_registry_is_windows_only_elsewhere() -> None:
    with pytest.raises(ConfigError, match="Windows only"):
        CurrentUserRegistry().get("Software", "x")


# --- start at login -----------------------------------------------------------------------------------------


def test_run_key_value_is_written_read_and_removed(windows: PretendPlatform) -> None:
    arguments = ["serve", "--home", r"C:\Users\A B\partnercrmd"]
    first = autostart.install_windows(Path(EXE), arguments)
    value = rf'"{EXE}" serve --home "C:\Users\A B\partnercrmd"'
    assert windows.winreg.values() == {(r"Software\Microsoft\Windows\CurrentVersion\Run", "partnercrmd"): value}
    assert first.lines == [
        rf"Set HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\partnercrmd to {value}."
    ]
    assert autostart.install_windows(Path(EXE), arguments).lines[0].endswith("is already up to date.")
    state = autostart.status_windows()
    assert state.installed and state.lines[1] == f"  runs: {value}"
    assert autostart.uninstall_windows().lines == [
        r"Removed HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\partnercrmd."
    ]
    assert autostart.uninstall_windows().lines == []
    assert not autostart.status_windows().installed
    assert windows.winreg.values() == {}


def test_service_commands_pick_the_run_key_on_windows(windows: PretendPlatform, tmp_path: Path) -> None:
    installed = start_at_login.install(command=Path(EXE))
    assert installed.lines[0].startswith(r"Set HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run")
    assert start_at_login.status().installed
    assert start_at_login.uninstall().lines[0].startswith("Removed HKEY_CURRENT_USER")
    assert "nothing to remove" in start_at_login.uninstall().lines[0]
    assert isinstance(autostart.for_platform(), autostart.WindowsAutostart)


def test_the_packaged_run_key_is_what_install_writes(windows: PretendPlatform) -> None:
    autostart.install_windows(Path("@PARTNERCRMD@"))
    packaged = parse_reg((REPO / "packaging" / "windows" / "partnercrmd-run-key.reg").read_text(encoding="utf-8"))
    assert packaged == windows.winreg.values()


# --- tel:, callto: and sip: links ----------------------------------------------------------------------------

PROG_ID_KEY = r"Software\Classes\PartnerCRMD.DialLink"
URL_VALUES = {
    (PROG_ID_KEY, ""): "URL:partnercrmd dial link",
    (PROG_ID_KEY, "URL Protocol"): "",
    (PROG_ID_KEY, "FriendlyTypeName"): "Telephone link (partnercrmd)",
    (PROG_ID_KEY + r"\DefaultIcon", ""): f'"{EXE}",0',
    (PROG_ID_KEY + r"\shell\open\command", ""): f'"{EXE}" dial "%1"',
    (r"Software\PartnerCRMD\Capabilities", "ApplicationName"): "partnercrmd",
    (r"Software\PartnerCRMD\Capabilities", "ApplicationDescription"): (
        "Dials tel:, callto: and sip: links with your phone client."
    ),
    (r"Software\PartnerCRMD\Capabilities\URLAssociations", "tel"): "PartnerCRMD.DialLink",
    (r"Software\PartnerCRMD\Capabilities\URLAssociations", "callto"): "PartnerCRMD.DialLink",
    (r"Software\PartnerCRMD\Capabilities\URLAssociations", "sip"): "PartnerCRMD.DialLink",
    (r"Software\RegisteredApplications", "partnercrmd"): r"Software\PartnerCRMD\Capabilities",
}


def test_url_handler_registers_the_prog_id_and_capabilities_under_hkcu(windows: PretendPlatform) -> None:
    links = url_handlers.WindowsUrlHandlers(CurrentUserRegistry(), [EXE])
    state = links.install()
    assert windows.winreg.values() == URL_VALUES
    assert state.installed and not state.registered  # only the user can choose the default, in Settings
    assert state.command == f'"{EXE}" dial "%1"'
    assert any("Default apps" in note for note in state.notes)
    assert links.install().installed and windows.winreg.values() == URL_VALUES  # again: no change

    # the user picks partnercrmd in Settings > Default apps (Windows writes UserChoice)
    for scheme in ("tel", "callto", "sip"):
        key = rf"Software\Microsoft\Windows\Shell\Associations\UrlAssociations\{scheme}\UserChoice"
        windows.winreg.SetValueEx(
            windows.winreg.CreateKeyEx(windows.winreg.HKEY_CURRENT_USER, key), "ProgId", 0, 1, "PartnerCRMD.DialLink"
        )
    registered = links.status()
    assert registered.registered and registered.notes == ()
    lines = handlers.describe(registered)
    assert lines[0] == rf"Registry key: HKEY_CURRENT_USER\{PROG_ID_KEY} (installed)"
    assert "tel: links open PartnerCRMD.DialLink (partnercrmd)" in lines
    assert lines[-1] == handlers.TAPI_NOTE_WINDOWS

    removed = links.uninstall()
    assert not removed.installed
    assert not any(
        key.startswith((PROG_ID_KEY, r"Software\PartnerCRMD", r"Software\RegisteredApplications"))
        for key, _ in windows.winreg.values()
    )


def test_the_handlers_command_registers_on_windows(windows: PretendPlatform) -> None:
    state = handlers.install()
    assert state.installed and state.kind == "Registry key"
    assert handlers.status().installed
    assert not handlers.uninstall().installed


def test_a_link_starts_pythonw_without_a_console_or_the_frozen_exe() -> None:
    assert url_handlers.windows_dial_command(r"C:\Python311\python.exe", frozen=False) == [
        r"C:\Python311\pythonw.exe",
        "-m",
        "partnercrmd",
    ]
    assert url_handlers.windows_dial_command(EXE, frozen=True) == [EXE]


def test_the_packaged_url_handler_reg_is_what_install_writes(windows: PretendPlatform) -> None:
    url_handlers.WindowsUrlHandlers(CurrentUserRegistry(), ["@PYTHONW@", "-m", "partnercrmd"]).install()
    packaged = parse_reg((REPO / "packaging" / "windows" / "partnercrmd-url-handler.reg").read_text(encoding="utf-8"))
    assert packaged == windows.winreg.values()


def parse_reg(text: str) -> dict[tuple[str, str], str]:
    """(key below HKEY_CURRENT_USER, value name) → data of a .reg file's string values (@ is the default value)."""
    found: dict[tuple[str, str], str] = {}
    key = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            hive, _, key = line[1:-1].partition("\\")
            assert hive == "HKEY_CURRENT_USER", line
        elif line.startswith(("@=", '"')) and not line.endswith("=-"):
            name, _, data = line.partition("=") if line.startswith("@") else _split_quoted(line)
            found[(key, "" if name == "@" else _unquote(name))] = _unquote(data)
    return found


def _split_quoted(line: str) -> tuple[str, str, str]:
    end = line.index('"=', 1)
    return line[: end + 1], "=", line[end + 2 :]


def _unquote(text: str) -> str:
    assert text.startswith('"') and text.endswith('"'), text
    return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")


# --- locks, private files, processes, signals --------------------------------------------------------------


def test_instance_lock_uses_a_byte_range_past_the_pid(windows: PretendPlatform, tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "home")
    paths.ensure()
    with daemon.instance_lock(paths):
        assert paths.instance_lock.read_text(encoding="utf-8") == str(os.getpid())  # still readable
        with (
            pytest.raises(daemon.StartError, match=f"already running for this user \\(pid {os.getpid()}"),
            daemon.instance_lock(paths),
        ):
            pass
    assert windows.msvcrt.calls[0] == (windows.msvcrt.LK_NBLCK, 1 << 20, 1)
    assert windows.msvcrt.calls[1] == (windows.msvcrt.LK_NBLCK, 1 << 20, 1)  # the second start, refused
    with daemon.instance_lock(paths):  # released by closing: free again
        pass


def test_vault_locks_and_writes_without_posix_permissions(
    windows: PretendPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")
    vault = Vault.open(tmp_path / "config")
    vault.update(lambda doc: doc.setdefault("settings", {}).update(default_region="GB"))
    assert Vault.open(tmp_path / "config").read()["settings"]["default_region"] == "GB"
    modes = {mode for mode, _, _ in windows.msvcrt.calls}
    assert modes == {windows.msvcrt.LK_LOCK, windows.msvcrt.LK_UNLCK}
    assert windows.msvcrt.held == {}


def test_discovery_asks_kernel32_whether_the_daemon_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    kernel32 = FakeKernel32(
        {os.getpid(): FakeProcess(), 4242: FakeProcess(), 4343: FakeProcess(exit_code=0)}, denied={4444}
    )
    fakes = pretend_to_be(monkeypatch, "win32", kernel32)
    assert process.process_alive(4242)
    assert not process.process_alive(4343)  # ended: an exit code, not STILL_ACTIVE
    assert not process.process_alive(4545)  # no such process
    assert process.process_alive(4444)  # another user's: access denied, but it runs
    assert kernel32.opened[0] == (0x1000, False, 4242)  # PROCESS_QUERY_LIMITED_INFORMATION
    assert kernel32.closed == [1000 + 4242, 1000 + 4343]

    path = tmp_path / "api.json"
    discovery.write_discovery(path, 10088, "token", "1.0")
    assert discovery.read_discovery(path)["port"] == 10088  # our own pid is "running" in the fake
    path.write_text('{"port": 10088, "token": "t", "pid": 4343}', encoding="utf-8")
    with pytest.raises(discovery.NotRunning, match="process 4343 has ended"):
        discovery.read_discovery(path)
    assert fakes.unix_calls == []  # never os.kill(pid, 0): that is CTRL_C_EVENT on Windows


def test_the_listening_socket_does_not_share_its_port_on_windows(windows: PretendPlatform) -> None:
    assert process.server_reuse_address() is False


def test_the_event_loop_on_windows_is_the_proactor(windows: PretendPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    def proactor() -> asyncio.AbstractEventLoop:
        made.append("proactor")
        return asyncio.SelectorEventLoop()

    monkeypatch.setattr(asyncio, "ProactorEventLoop", proactor, raising=False)
    loop = process.new_event_loop()
    loop.close()
    assert made == ["proactor"]


async def test_stop_signals_go_through_signal_signal_when_the_loop_cannot_watch_them(windows: PretendPlatform) -> None:
    stopped = asyncio.Event()
    before = signal.getsignal(signal.SIGINT)
    undo = process.stop_on_signals(asyncio.get_running_loop(), stopped.set)
    try:
        assert signal.getsignal(signal.SIGINT) is not before
        signal.raise_signal(signal.SIGINT)  # Ctrl+C
        await asyncio.wait_for(stopped.wait(), 5)
    finally:
        undo()
    assert signal.getsignal(signal.SIGINT) is before


def test_files_are_left_to_the_profile_acl(windows: PretendPlatform, tmp_path: Path) -> None:
    files.ensure_private_dir(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()
    with open(tmp_path / "a" / "f", "w", encoding="utf-8") as handle:
        files.tighten(handle.fileno(), 0o600)
    files.fsync_dir(tmp_path / "a")


# --- the desktop jobs ----------------------------------------------------------------------------------------


def test_the_clipboard_selection_and_screen_on_windows(windows: PretendPlatform) -> None:
    assert find_clipboard_helper({}).name == "windows"
    assert selection_problem({}) == NO_PRIMARY
    assert capture_problem({}) is None  # no DISPLAY needed


def test_tesseract_is_found_where_the_installers_put_it(windows: PretendPlatform, tmp_path: Path) -> None:
    program_files = tmp_path / "Program Files"
    local = tmp_path / "Local"
    env = {"PATH": str(tmp_path / "empty"), "ProgramFiles": str(program_files), "LOCALAPPDATA": str(local)}
    build = tmp_path / "app" / "_internal"
    assert tesseract.find_tesseract(env, build=build) is None
    per_user = local / "Programs" / "Tesseract-OCR" / "tesseract.exe"
    per_user.parent.mkdir(parents=True)
    per_user.write_bytes(b"")
    assert tesseract.find_tesseract(env, build=build) == tesseract.Tesseract(str(per_user))
    machine = program_files / "Tesseract-OCR" / "tesseract.exe"
    machine.parent.mkdir(parents=True)
    machine.write_bytes(b"")
    assert tesseract.find_tesseract(env, build=build) == tesseract.Tesseract(str(machine))
    bundled = build / "tesseract" / "tesseract.exe"
    (bundled.parent / "tessdata").mkdir(parents=True)
    bundled.write_bytes(b"")
    assert tesseract.find_tesseract(env, build=build) == tesseract.Tesseract(
        str(bundled), str(bundled.parent / "tessdata")
    )


def test_a_notification_is_a_toast_whose_texts_are_powershell_literals() -> None:
    runner = RecordingRunner()
    notifier = notifications.for_platform("win32", runner)
    assert notifier.notify("Call from Ann's phone", "It's +44 20 7946 0958 ‘quoted’; $(Remove-Item x)")
    [command] = runner.calls
    assert command[:6] == [
        "powershell.exe",
        "-NoProfile",
        "-NonInteractive",
        "-WindowStyle",
        "Hidden",
        "-EncodedCommand",
    ]
    script = base64.b64decode(command[6]).decode("utf-16-le")
    assert "CreateTextNode('Call from Ann''s phone')" in script
    assert "CreateTextNode('It''s +44 20 7946 0958 ‘‘quoted’’; $(Remove-Item x)')" in script  # not expanded in '…'
    assert "ToastNotificationManager]::CreateToastNotifier('{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}" in script


def self_signed(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partnercrmd local authority")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    return path


def test_the_authority_goes_to_the_users_root_store(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "authority.pem")
    store = trust_store.for_platform("win32")
    runner = RecordingRunner()
    assert trust_store.trust(store, certificate, runner) == [f"Ran certutil -user -addstore Root {certificate}."]
    trust_store.distrust(store, certificate, runner)
    thumbprint = trust_store.sha1_thumbprint(certificate)
    assert len(thumbprint) == 40 and thumbprint == thumbprint.upper()
    assert runner.calls == [
        ["certutil", "-user", "-addstore", "Root", str(certificate)],
        ["certutil", "-user", "-delstore", "Root", thumbprint],
    ]


def test_unix_only_calls_are_refused_while_pretending(windows: PretendPlatform) -> None:
    with pytest.raises(UnixOnlyCallReached):
        os.getuid()
    windows.unix_calls.clear()


def test_sign_in_starts_pythonw_so_no_console_stays_open(
    windows: PretendPlatform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("PARTNERCRMD_HOME", "PARTNERCRMD_BRANDING"):
        monkeypatch.delenv(name, raising=False)
    python = tmp_path / "Python311" / "python.exe"
    python.parent.mkdir()
    python.write_bytes(b"MZ")
    (python.parent / "pythonw.exe").write_bytes(b"MZ")
    monkeypatch.setattr(sys, "executable", str(python))
    start_at_login.install()
    run_value = windows.winreg.values()[(r"Software\Microsoft\Windows\CurrentVersion\Run", "partnercrmd")]
    assert run_value == f'"{python.parent / "pythonw.exe"}" -m partnercrmd serve'


def test_a_rename_waits_for_a_reader_that_holds_the_file_on_windows(
    windows: PretendPlatform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_replace = os.replace
    refusals = [PermissionError(13, "The process cannot access the file because it is being used")] * 2

    def replace(source: str | Path, target: str | Path) -> None:
        if refusals:
            raise refusals.pop()
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    (tmp_path / "new").write_text("new", encoding="utf-8")
    files.replace(tmp_path / "new", tmp_path / "vault.bin")
    assert (tmp_path / "vault.bin").read_text(encoding="utf-8") == "new" and refusals == []

    monkeypatch.setattr(sys, "platform", "linux")  # elsewhere a refusal is an error at once
    refusals.append(PermissionError(13, "denied"))
    (tmp_path / "new").write_text("newer", encoding="utf-8")
    with pytest.raises(PermissionError):
        files.replace(tmp_path / "new", tmp_path / "vault.bin")

"""`partnercrmd service install|uninstall|status`: the per-user service files and their installation.

The Linux path runs the real `partnercrmd` command under a temporary HOME and XDG_CONFIG_HOME with no
systemd user session reachable (XDG autostart); the systemd path is driven in-process with a recording
`systemctl --user`. The generated files are checked with the real tools: `systemd-analyze --user verify`,
`desktop-file-validate`, and `plistlib` for the LaunchAgent.
"""

from __future__ import annotations

import json
import os
import plistlib
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from partnercrmd.errors import ConfigError
from partnercrmd.platform import autostart as platform_autostart
from partnercrmd.platform.autostart import UserDirs
from tests.daemon_process import describe, http, run_cli, wait_until

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"


def keys(text: str) -> dict[str, str]:
    """section.key → value of a unit or desktop file (comments skipped; repeated keys must not occur)."""
    found: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            continue
        key, sep, value = stripped.partition("=")
        assert sep, line
        name = f"{section}.{key.strip()}"
        assert name not in found, f"{name} twice"
        found[name] = value.strip()
    return found


def partnercrmd_path() -> Path:
    found = shutil.which("partnercrmd")
    assert found, "the partnercrmd command is installed for the tests"
    return Path(found).resolve()


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A fresh user: own HOME and XDG_CONFIG_HOME, and no systemd user session to reach."""
    home = tmp_path / "user"
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_RUNTIME_DIR": str(runtime),
        "DBUS_SESSION_BUS_ADDRESS": "",
    }


def verify_unit(unit_text: str, directory: Path) -> None:
    """`systemd-analyze --user verify` accepts the unit without a warning (or, without it, the keys parse)."""
    parsed = keys(unit_text)
    assert " serve" in parsed["Service.ExecStart"]
    if shutil.which("systemd-analyze") is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    unit = directory / platform_autostart.UNIT_NAME
    unit.write_text(unit_text, encoding="utf-8")
    runtime = directory / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        env={"PATH": "/usr/bin:/bin", "HOME": str(directory), "XDG_RUNTIME_DIR": str(runtime)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), describe(result)


def validate_desktop(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["desktop-file-validate", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), describe(result)


# --- the generated files -------------------------------------------------------------------------------


def test_systemd_unit_is_bound_to_the_graphical_session_and_verifies(tmp_path: Path) -> None:
    command = partnercrmd_path()
    text = platform_autostart.systemd_unit(command)
    parsed = keys(text)
    assert parsed["Service.ExecStart"] == f"{command} serve"
    for key in ("Unit.PartOf", "Unit.After", "Install.WantedBy"):
        assert parsed[key] == "graphical-session.target"
    assert parsed["Service.Restart"] == "on-failure"
    verify_unit(text, tmp_path / "plain")


def test_systemd_unit_quotes_an_awkward_path(tmp_path: Path) -> None:
    awkward = tmp_path / "with space" / "50%$x" / "partnercrmd"
    awkward.parent.mkdir(parents=True)
    awkward.write_text("#!/bin/sh\n", encoding="utf-8")
    awkward.chmod(0o755)
    text = platform_autostart.systemd_unit(awkward)
    assert keys(text)["Service.ExecStart"] == f'"{tmp_path}/with space/50%%$x/partnercrmd" serve'
    verify_unit(text, tmp_path / "awkward")


def test_autostart_entry_validates(tmp_path: Path) -> None:
    command = tmp_path / "a dir" / "partnercrmd"
    text = platform_autostart.autostart_entry(command)
    parsed = keys(text)
    assert parsed["Desktop Entry.Exec"] == f'"{command}" serve'
    assert parsed["Desktop Entry.Type"] == "Application"
    validate_desktop(text, tmp_path / platform_autostart.AUTOSTART_ID)


def test_launch_agent_plist() -> None:
    agent = plistlib.loads(platform_autostart.launch_agent("/Users/a b/bin/partnercrmd"))
    assert agent["Label"] == "com.partnercrmd.daemon"
    assert agent["ProgramArguments"] == ["/Users/a b/bin/partnercrmd", "serve"]
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}


def test_run_key_reg() -> None:
    text = platform_autostart.run_key_reg("C:\\Users\\A B\\Scripts\\partnercrmd.exe")
    lines = text.split("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert lines[0] == "Windows Registry Editor Version 5.00"
    assert "[HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run]" in lines
    assert '"partnercrmd"="\\"C:\\\\Users\\\\A B\\\\Scripts\\\\partnercrmd.exe\\" serve"' in lines
    assert platform_autostart.run_key_value("C:\\p\\partnercrmd.exe") == '"C:\\p\\partnercrmd.exe" serve'
    remove = platform_autostart.run_key_remove_reg().split("\r\n")
    assert remove[0] == "Windows Registry Editor Version 5.00"
    assert '"partnercrmd"=-' in remove


def test_packaging_templates_are_the_generated_files(tmp_path: Path) -> None:
    plist = PACKAGING / "macos" / "com.partnercrmd.daemon.plist"
    assert plist.read_bytes() == platform_autostart.launch_agent("/usr/local/bin/partnercrmd")
    windows = PACKAGING / "windows"
    assert (windows / "partnercrmd-run-key.reg").read_bytes() == platform_autostart.run_key_reg(
        "@PARTNERCRMD@"
    ).encode()
    assert (windows / "partnercrmd-run-key-remove.reg").read_bytes() == platform_autostart.run_key_remove_reg().encode()
    linux = PACKAGING / "linux"
    unit = keys((linux / "partnercrmd.service").read_text(encoding="utf-8"))
    generated = keys(platform_autostart.systemd_unit(Path("/usr/bin/partnercrmd")))
    assert {k: v for k, v in unit.items() if k != "Service.ExecStart"} == {
        k: v for k, v in generated.items() if k != "Service.ExecStart"
    }
    desktop = keys((linux / "partnercrmd-autostart.desktop").read_text(encoding="utf-8"))
    generated = keys(platform_autostart.autostart_entry(Path("/usr/bin/partnercrmd")))
    assert {k: v for k, v in desktop.items() if not k.endswith(".Exec")} == {
        k: v for k, v in generated.items() if not k.endswith(".Exec")
    }


# --- install / uninstall / status ----------------------------------------------------------------------


def test_cli_without_systemd_session_uses_xdg_autostart(tmp_path: Path, user_env: dict[str, str]) -> None:
    dirs = UserDirs.from_env(user_env)
    home = tmp_path / "partnercrmd-home"

    before = run_cli(home, "service", "status", extra_env=user_env)
    assert before.returncode == 1, describe(before)
    assert "not installed" in before.stdout

    first = run_cli(home, "service", "install", extra_env=user_env)
    assert first.returncode == 0, describe(first)
    assert f"Wrote {dirs.autostart_file}." in first.stdout
    assert "No systemd user session" in first.stdout
    written = dirs.autostart_file.read_bytes()
    exec_line = keys(written.decode())["Desktop Entry.Exec"]
    command, *arguments = shlex.split(exec_line)
    assert Path(command).is_absolute()
    assert arguments == ["serve", "--home", str(home.resolve())]  # the login session has no PARTNERCRMD_HOME
    validate_desktop(written.decode(), tmp_path / "check" / platform_autostart.AUTOSTART_ID)
    assert not dirs.unit_file.exists()

    second = run_cli(home, "service", "install", extra_env=user_env)
    assert second.returncode == 0, describe(second)
    assert f"{dirs.autostart_file} is already up to date." in second.stdout
    assert dirs.autostart_file.read_bytes() == written

    installed = run_cli(home, "service", "status", extra_env=user_env)
    assert installed.returncode == 0, describe(installed)
    assert f"XDG autostart entry: {dirs.autostart_file} (installed)" in installed.stdout

    removed = run_cli(home, "service", "uninstall", extra_env=user_env)
    assert removed.returncode == 0, describe(removed)
    assert removed.stdout.strip() == f"Removed {dirs.autostart_file}."
    assert not dirs.autostart_file.exists()

    again = run_cli(home, "service", "uninstall", extra_env=user_env)
    assert again.returncode == 0, describe(again)
    assert "nothing to remove" in again.stdout

    after = run_cli(home, "service", "status", extra_env=user_env)
    assert after.returncode == 1, describe(after)


class RecordingSystemctl:
    """`systemctl --user` of a reachable session: records each call, answers like systemd."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        out = {"is-enabled": "enabled\n", "is-active": "active\n"}.get(args[0], "")
        return subprocess.CompletedProcess(["systemctl", "--user", *args], 0, out, "")


def test_systemd_session_gets_the_unit_enabled(tmp_path: Path, user_env: dict[str, str]) -> None:
    dirs = UserDirs.from_env(user_env)
    command = partnercrmd_path()
    systemctl = RecordingSystemctl()
    dirs.autostart_file.parent.mkdir(parents=True)
    dirs.autostart_file.write_text(platform_autostart.autostart_entry(command), encoding="utf-8")  # an earlier fallback

    first = platform_autostart.install_linux(dirs, command, systemctl)
    assert first.lines[0] == f"Wrote {dirs.unit_file}."
    assert f"Removed {dirs.autostart_file}." in first.lines
    assert systemctl.calls == [("daemon-reload",), ("enable", "--now", platform_autostart.UNIT_NAME)]
    written = dirs.unit_file.read_bytes()
    assert written == platform_autostart.systemd_unit(command).encode()
    verify_unit(written.decode(), tmp_path / "verify")

    second = platform_autostart.install_linux(dirs, command, systemctl)
    assert second.lines[0] == f"{dirs.unit_file} is already up to date."
    assert dirs.unit_file.read_bytes() == written

    state = platform_autostart.status_linux(dirs, systemctl)
    assert state.installed
    assert "  enabled, active" in state.lines

    systemctl.calls.clear()
    removed = platform_autostart.uninstall_linux(dirs, systemctl)
    assert removed.lines == [f"Stopped and disabled {platform_autostart.UNIT_NAME}.", f"Removed {dirs.unit_file}."]
    assert systemctl.calls == [("disable", "--now", platform_autostart.UNIT_NAME), ("daemon-reload",)]
    assert platform_autostart.uninstall_linux(dirs, systemctl).lines == []
    assert not platform_autostart.status_linux(dirs, systemctl).installed


def test_unit_left_without_a_session_is_removed(user_env: dict[str, str]) -> None:
    dirs = UserDirs.from_env(user_env)
    platform_autostart.install_linux(dirs, partnercrmd_path(), RecordingSystemctl())
    state = platform_autostart.status_linux(dirs, None)
    assert state.installed and "  no systemd user session reachable: it is not started" in state.lines
    assert platform_autostart.uninstall_linux(dirs, None).lines == [f"Removed {dirs.unit_file}."]
    assert not dirs.unit_file.exists()


def test_launch_agent_install_is_idempotent(user_env: dict[str, str]) -> None:
    dirs = UserDirs.from_env(user_env)
    assert not platform_autostart.status_macos(dirs).installed
    first = platform_autostart.install_macos(dirs, "/usr/local/bin/partnercrmd", load=False)
    assert first.lines == [f"Wrote {dirs.launch_agent_file}."]
    assert dirs.launch_agent_file == Path(user_env["HOME"]) / "Library/LaunchAgents/com.partnercrmd.daemon.plist"
    written = dirs.launch_agent_file.read_bytes()
    assert plistlib.loads(written)["ProgramArguments"] == ["/usr/local/bin/partnercrmd", "serve"]
    second = platform_autostart.install_macos(dirs, "/usr/local/bin/partnercrmd", load=False)
    assert second.lines == [f"{dirs.launch_agent_file} is already up to date."]
    assert dirs.launch_agent_file.read_bytes() == written
    state = platform_autostart.status_macos(dirs)
    assert state.installed and "  runs: /usr/local/bin/partnercrmd serve" in state.lines
    assert platform_autostart.uninstall_macos(dirs, load=False).lines == [f"Removed {dirs.launch_agent_file}."]
    assert platform_autostart.uninstall_macos(dirs, load=False).lines == []
    assert not platform_autostart.status_macos(dirs).installed


def test_run_key_is_windows_only() -> None:
    with pytest.raises(ConfigError, match="Windows only"):
        platform_autostart.install_windows(Path("C:/partnercrmd.exe"))
    with pytest.raises(ConfigError, match="Windows only"):
        platform_autostart.status_windows()


def test_the_installed_command_serves_the_home_and_branding_chosen_at_install(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    """What the login session runs (no PARTNERCRMD_* in its environment) uses the home and branding of install time."""
    dirs = UserDirs.from_env(user_env)
    home = tmp_path / "partnercrmd-home"
    branding = tmp_path / "acme.toml"
    branding.write_text('[product]\nname = "Acme Connect"\n', encoding="utf-8")
    installed = run_cli(home, "service", "install", extra_env={**user_env, "PARTNERCRMD_BRANDING": str(branding)})
    assert installed.returncode == 0, describe(installed)
    argv = shlex.split(keys(dirs.autostart_file.read_text(encoding="utf-8"))["Desktop Entry.Exec"])
    assert argv[1:] == ["serve", "--home", str(home.resolve()), "--branding", str(branding.resolve())]

    login_env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNERCRMD_")}
    login_env.update(user_env, PARTNERCRMD_KEYRING="0")
    log = tmp_path / "daemon.log"
    with log.open("wb") as output:
        process = subprocess.Popen([*argv, "--port", "0"], env=login_env, stdout=output, stderr=subprocess.STDOUT)
    try:
        discovery = home / "api.json"
        wait_until(lambda: discovery.is_file() and discovery.stat().st_size > 0, 20, what="the daemon's api.json")
        port = json.loads(discovery.read_text(encoding="utf-8"))["port"]
        reply = http("GET", f"http://127.0.0.1:{port}/api/v1/Version")
        assert reply.status == 200, f"{reply}; log: {log.read_text(errors='replace')}"
        assert reply.json()["ProductName"] == "Acme Connect"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)

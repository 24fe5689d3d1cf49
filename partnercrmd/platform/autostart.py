"""Start `partnercrmd serve` when the current user logs in: one implementation per platform.

Linux: a systemd user unit bound to the graphical session (`~/.config/systemd/user/partnercrmd.service`),
enabled with `systemctl --user enable --now` when a systemd user session is reachable; otherwise an XDG
autostart entry (`~/.config/autostart/partnercrmd.desktop`). macOS: a LaunchAgent
(`~/Library/LaunchAgents/com.partnercrmd.daemon.plist`), (re)loaded with `launchctl bootstrap gui/UID`.
Windows: the value `partnercrmd` under HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run.

Each file's content is a pure function of the command's path (the templates in `packaging/` are the
same functions' output); writing and removing are idempotent, and each step says what it did.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .. import PRODUCT_NAME
from ..errors import ConfigError
from . import MACOS, WINDOWS, Runner, failure, run_tool, system
from .files import atomic_write
from .process import user_id
from .registry import HIVE_NAME, CurrentUserRegistry, Registry
from .xdg import exec_argument, user_base_dirs

UNIT_NAME = "partnercrmd.service"
AUTOSTART_ID = "partnercrmd.desktop"
LAUNCH_AGENT_LABEL = "com.partnercrmd.daemon"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "partnercrmd"
SESSION_TARGET = "graphical-session.target"
DESCRIPTION = "{product} CRM integration for your phone client"
"""What systemd and the desktop show for the service ({product}: the product's name, the partner's when branded)."""
WRITTEN_BY = "Written by `partnercrmd service install`; `partnercrmd service uninstall` removes it."
TOOL_TIMEOUT = 30.0

Systemctl = Callable[..., subprocess.CompletedProcess[str]]
"""Runs `systemctl --user ARGS…` (the arguments after --user); never raises on a non-zero exit."""


# --- the files -----------------------------------------------------------------------------------------


def _systemd_executable(value: str) -> str:
    """The executable of a unit's ExecStart: specifiers (%) escaped, quoted if needed (no $ expansion there)."""
    escaped = value.replace("%", "%%")
    if escaped and not any(c in escaped for c in " \t\n\"'\\;"):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(command: Path, arguments: Sequence[str] = ("serve",), product: str = PRODUCT_NAME) -> str:
    """The systemd user unit that runs `COMMAND serve` with the user's graphical session."""
    return "\n".join(
        [
            f"# {WRITTEN_BY}",
            "[Unit]",
            f"Description={DESCRIPTION.format(product=product)}",
            f"PartOf={SESSION_TARGET}",
            f"After={SESSION_TARGET}",
            "",
            "[Service]",
            "Type=simple",
            "ExecStart=" + " ".join(_systemd_executable(a) for a in (str(command), *arguments)),
            "Restart=on-failure",
            "RestartSec=5",
            "",
            "[Install]",
            f"WantedBy={SESSION_TARGET}",
            "",
        ]
    )


def autostart_entry(command: Path, arguments: Sequence[str] = ("serve",), product: str = PRODUCT_NAME) -> str:
    """The XDG autostart entry that runs `COMMAND serve` when the desktop session starts."""
    return "\n".join(
        [
            f"# {WRITTEN_BY}",
            "[Desktop Entry]",
            "Type=Application",
            f"Name={product}",
            "Comment=CRM integration for your phone client",
            "Exec=" + " ".join(exec_argument(a) for a in (str(command), *arguments)),
            "Terminal=false",
            "NoDisplay=true",
            "X-GNOME-Autostart-enabled=true",
            "",
        ]
    )


def launch_agent(command: Path | str, arguments: Sequence[str] = ("serve",)) -> bytes:
    """The macOS LaunchAgent (XML plist): `COMMAND serve` at login, restarted when it fails."""
    agent = {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": [str(command), *arguments],
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "LimitLoadToSessionType": "Aqua",
        "ProcessType": "Interactive",
    }
    return plistlib.dumps(agent, fmt=plistlib.FMT_XML, sort_keys=False)


def run_key_value(command: str, arguments: Sequence[str] = ("serve",)) -> str:
    """The Run value's data: the quoted command, `serve` and its options (quoted where they hold spaces)."""
    return " ".join([f'"{command}"', *(f'"{a}"' if " " in a else a for a in arguments)])


def _reg_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_key_reg(command: str) -> str:
    """A .reg file (CRLF) adding the Run value for the current user."""
    lines = [
        "Windows Registry Editor Version 5.00",
        "",
        "; partnercrmd: run `partnercrmd serve` when the current user signs in (no administrator rights).",
        "; `partnercrmd service install` writes the same value; by hand, replace @PARTNERCRMD@ with the full",
        "; path of partnercrmd.exe, every backslash doubled, then: reg import partnercrmd-run-key.reg",
        "",
        f"[HKEY_CURRENT_USER\\{RUN_KEY}]",
        f"{_reg_string(RUN_VALUE)}={_reg_string(run_key_value(command))}",
        "",
    ]
    return "\r\n".join(lines)


def run_key_remove_reg() -> str:
    """A .reg file (CRLF) deleting the Run value again."""
    lines = [
        "Windows Registry Editor Version 5.00",
        "",
        "; Removes what partnercrmd-run-key.reg added: reg import partnercrmd-run-key-remove.reg",
        "",
        f"[HKEY_CURRENT_USER\\{RUN_KEY}]",
        f"{_reg_string(RUN_VALUE)}=-",
        "",
    ]
    return "\r\n".join(lines)


# --- where they go -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserDirs:
    """The current user's home and XDG config directory."""

    home: Path
    config_home: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> UserDirs:
        home, _, config = user_base_dirs(environ)
        return cls(home, config)

    @property
    def unit_file(self) -> Path:
        return self.config_home / "systemd" / "user" / UNIT_NAME

    @property
    def autostart_file(self) -> Path:
        return self.config_home / "autostart" / AUTOSTART_ID

    @property
    def launch_agent_file(self) -> Path:
        return self.home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"


@dataclass
class ServiceState:
    """What `status` found, and what `install`/`uninstall` did (one line each)."""

    installed: bool = False
    lines: list[str] = field(default_factory=list)


def _write(path: Path, content: bytes) -> bool:
    """Write the file (atomically) unless it already holds exactly this; True if it changed."""
    try:
        if path.read_bytes() == content:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, content, private=False)  # a unit or agent file others may read, as written by hand
    return True


def _wrote(path: Path, changed: bool) -> str:
    return f"Wrote {path}." if changed else f"{path} is already up to date."


def _remove(path: Path, lines: list[str]) -> None:
    if path.exists():
        path.unlink()
        lines.append(f"Removed {path}.")


def _read_value(path: Path, key: str) -> str:
    """A key's value in a unit or desktop file ('' if absent)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return ""
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    return ""


# --- Linux ---------------------------------------------------------------------------------------------


def user_systemctl(environ: Mapping[str, str] | None = None) -> Systemctl | None:
    """`systemctl --user` when a systemd user session answers, else None (then XDG autostart is used)."""
    if shutil.which("systemctl") is None:
        return None
    env = dict(os.environ if environ is None else environ)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["systemctl", "--user", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            check=False,
        )

    try:
        reachable = run("show-environment").returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return None
    return run if reachable else None


def _systemctl(systemctl: Systemctl, *args: str) -> None:
    result = systemctl(*args)
    if result.returncode:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise ConfigError(
            f"`systemctl --user {' '.join(args)}` failed: {detail[-1] if detail else f'exit {result.returncode}'}"
        )


def install_linux(
    dirs: UserDirs,
    command: Path,
    systemctl: Systemctl | None,
    arguments: Sequence[str] = ("serve",),
    product: str = PRODUCT_NAME,
) -> ServiceState:
    """With a systemd user session: the unit, enabled and started; without: the XDG autostart entry."""
    lines: list[str] = []
    if systemctl is not None:
        changed = _write(dirs.unit_file, systemd_unit(command, arguments, product).encode())
        lines.append(_wrote(dirs.unit_file, changed))
        _systemctl(systemctl, "daemon-reload")
        _systemctl(systemctl, "enable", "--now", UNIT_NAME)
        lines.append(f"Enabled and started {UNIT_NAME} (systemctl --user enable --now).")
        _remove(dirs.autostart_file, lines)  # systemd starts it now: one way only
    else:
        changed = _write(dirs.autostart_file, autostart_entry(command, arguments, product).encode())
        lines.append(_wrote(dirs.autostart_file, changed))
        lines.append("No systemd user session: the desktop starts partnercrmd at your next login (XDG autostart).")
    return ServiceState(True, lines)


def uninstall_linux(dirs: UserDirs, systemctl: Systemctl | None) -> ServiceState:
    """Stop and disable the unit (if systemd answers) and remove it and the autostart entry."""
    lines: list[str] = []
    if dirs.unit_file.exists():
        if systemctl is not None:
            _systemctl(systemctl, "disable", "--now", UNIT_NAME)
            lines.append(f"Stopped and disabled {UNIT_NAME}.")
        _remove(dirs.unit_file, lines)
        if systemctl is not None:
            _systemctl(systemctl, "daemon-reload")
    _remove(dirs.autostart_file, lines)
    return ServiceState(False, lines)


def status_linux(dirs: UserDirs, systemctl: Systemctl | None) -> ServiceState:
    lines: list[str] = []
    unit = dirs.unit_file.is_file()
    lines.append(f"systemd user unit: {dirs.unit_file} ({'installed' if unit else 'not installed'})")
    if unit:
        lines.append(f"  runs: {_read_value(dirs.unit_file, 'ExecStart')}")
        if systemctl is not None:
            enabled = systemctl("is-enabled", UNIT_NAME).stdout.strip() or "unknown"
            active = systemctl("is-active", UNIT_NAME).stdout.strip() or "unknown"
            lines.append(f"  {enabled}, {active}")
        else:
            lines.append("  no systemd user session reachable: it is not started")
    autostart = dirs.autostart_file.is_file()
    lines.append(f"XDG autostart entry: {dirs.autostart_file} ({'installed' if autostart else 'not installed'})")
    if autostart:
        lines.append(f"  runs: {_read_value(dirs.autostart_file, 'Exec')}")
    return ServiceState(unit or autostart, lines)


# --- macOS ---------------------------------------------------------------------------------------------


def _launchctl(runner: Runner, *args: str) -> subprocess.CompletedProcess[str]:
    return runner(["launchctl", *args])


def install_macos(
    dirs: UserDirs,
    command: Path | str,
    load: bool | None = None,
    arguments: Sequence[str] = ("serve",),
    runner: Runner = run_tool,
    uid: int | None = None,
) -> ServiceState:
    """Write the LaunchAgent; with `load` (on macOS by default) also (re)load it into the user's GUI session."""
    load = system() == MACOS if load is None else load
    path = dirs.launch_agent_file
    changed = _write(path, launch_agent(command, arguments))
    lines = [_wrote(path, changed)]
    if load:
        domain = f"gui/{user_id() if uid is None else uid}"
        if changed:
            _launchctl(runner, "bootout", domain, str(path))  # an older version: not loaded is fine
        result = _launchctl(runner, "bootstrap", domain, str(path))
        if result.returncode == 0:
            lines.append(f"Loaded {LAUNCH_AGENT_LABEL} (launchctl bootstrap {domain}).")
        elif not changed:
            lines.append(f"{LAUNCH_AGENT_LABEL} was already loaded.")
        else:
            raise ConfigError(f"`launchctl bootstrap {domain} {path}` failed: {failure(result)}")
    return ServiceState(True, lines)


def uninstall_macos(
    dirs: UserDirs, load: bool | None = None, runner: Runner = run_tool, uid: int | None = None
) -> ServiceState:
    """Unload the LaunchAgent (with `load`, on macOS by default) and remove its file."""
    load = system() == MACOS if load is None else load
    lines: list[str] = []
    path = dirs.launch_agent_file
    if path.exists() and load:
        domain = f"gui/{user_id() if uid is None else uid}"
        if _launchctl(runner, "bootout", domain, str(path)).returncode == 0:
            lines.append(f"Unloaded {LAUNCH_AGENT_LABEL}.")
    _remove(path, lines)
    return ServiceState(False, lines)


def status_macos(dirs: UserDirs) -> ServiceState:
    path = dirs.launch_agent_file
    installed = path.is_file()
    lines = [f"LaunchAgent: {path} ({'installed' if installed else 'not installed'})"]
    if installed:
        try:
            arguments = plistlib.loads(path.read_bytes()).get("ProgramArguments", [])
        except (plistlib.InvalidFileException, ValueError):
            arguments = ["(unreadable)"]
        lines.append(f"  runs: {' '.join(str(a) for a in arguments)}")
    return ServiceState(installed, lines)


# --- Windows -------------------------------------------------------------------------------------------

RUN_KEY_NAME = f"{HIVE_NAME}\\{RUN_KEY}"


def _run_key_windows_only() -> ConfigError:
    return ConfigError("The Run key exists on Windows only.", code="windows_only")


def _registry(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    if system() != WINDOWS:
        raise _run_key_windows_only()
    return CurrentUserRegistry()


def install_windows(
    command: Path | str, arguments: Sequence[str] = ("serve",), registry: Registry | None = None
) -> ServiceState:
    """Set the Run value (again: no change)."""
    registry = _registry(registry)
    value = run_key_value(str(command), arguments)
    if registry.get(RUN_KEY, RUN_VALUE) == value:
        return ServiceState(True, [f"{RUN_KEY_NAME}\\{RUN_VALUE} is already up to date."])
    registry.set(RUN_KEY, RUN_VALUE, value)
    return ServiceState(True, [f"Set {RUN_KEY_NAME}\\{RUN_VALUE} to {value}."])


def uninstall_windows(registry: Registry | None = None) -> ServiceState:
    """Delete the Run value (again: nothing to do)."""
    if not _registry(registry).delete_value(RUN_KEY, RUN_VALUE):
        return ServiceState(False, [])
    return ServiceState(False, [f"Removed {RUN_KEY_NAME}\\{RUN_VALUE}."])


def status_windows(registry: Registry | None = None) -> ServiceState:
    value = _registry(registry).get(RUN_KEY, RUN_VALUE)
    if value is None:
        return ServiceState(False, [f"Run key: {RUN_KEY_NAME}\\{RUN_VALUE} (not installed)"])
    return ServiceState(True, [f"Run key: {RUN_KEY_NAME}\\{RUN_VALUE} (installed)", f"  runs: {value}"])


# --- the interface ---------------------------------------------------------------------------------------


class Autostart(Protocol):
    """Starting `partnercrmd serve` at login on one platform."""

    def install(self, command: Path, arguments: Sequence[str]) -> ServiceState:
        """Start COMMAND ARGUMENTS at login from now on (again: no change)."""
        ...

    def uninstall(self) -> ServiceState:
        """Remove whatever `install` put in place (again: no lines)."""
        ...

    def status(self) -> ServiceState:
        """What is installed, one line each."""
        ...


@dataclass
class LinuxAutostart:
    dirs: UserDirs
    systemctl: Systemctl | None
    product: str = PRODUCT_NAME
    """The name the unit and the autostart entry show."""

    def install(self, command: Path, arguments: Sequence[str]) -> ServiceState:
        return install_linux(self.dirs, command, self.systemctl, arguments, self.product)

    def uninstall(self) -> ServiceState:
        return uninstall_linux(self.dirs, self.systemctl)

    def status(self) -> ServiceState:
        return status_linux(self.dirs, self.systemctl)


@dataclass
class MacAutostart:
    dirs: UserDirs
    runner: Runner = run_tool
    load: bool = True

    def install(self, command: Path, arguments: Sequence[str]) -> ServiceState:
        return install_macos(self.dirs, command, self.load, arguments, self.runner)

    def uninstall(self) -> ServiceState:
        return uninstall_macos(self.dirs, self.load, self.runner)

    def status(self) -> ServiceState:
        return status_macos(self.dirs)


@dataclass
class WindowsAutostart:
    registry: Registry

    def install(self, command: Path, arguments: Sequence[str]) -> ServiceState:
        return install_windows(command, arguments, self.registry)

    def uninstall(self) -> ServiceState:
        return uninstall_windows(self.registry)

    def status(self) -> ServiceState:
        return status_windows(self.registry)


def for_platform(platform: str | None = None, dirs: UserDirs | None = None, product: str = PRODUCT_NAME) -> Autostart:
    """The implementation for `platform` (sys.platform by default), on the real system; `product` names it."""
    dirs = dirs or UserDirs.from_env()
    name = system(platform)
    if name == WINDOWS:
        return WindowsAutostart(CurrentUserRegistry())
    if name == MACOS:
        return MacAutostart(dirs)
    return LinuxAutostart(dirs, user_systemctl(), product)

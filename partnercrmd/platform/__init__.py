"""Everything that differs between Linux, Windows and macOS, in one package: one module per job.

| module | job |
|---|---|
| `files` | the instance and vault locks, files and directories private to the user, durable renames |
| `process` | stopping on signals, the event loop, whether a process runs, the port-reuse option, file limits |
| `registry` | the current user's registry (Windows, through `winreg`, under HKEY_CURRENT_USER only) |
| `autostart` | starting `partnercrmd serve` at login (systemd/XDG autostart, LaunchAgent, Run key) |
| `url_handlers` | making tel:, callto: and sip: links run `partnercrmd dial` |
| `notifications` | a desktop notification |
| `hotkeys` | the global keyboard listener and whether the system delivers its keys |
| `key_grab` | holding Escape away from the focused window while the capture box is up (X11 passive grab) |
| `screen` | whether the screen can be captured here |
| `clipboard` | how the clipboard and the highlighted text are read |
| `trust_store` | trusting the daemon's local HTTPS authority (issue #20 uses it) |
| `tesseract` | where the tesseract command is |

Each job module holds its Linux, Windows and macOS implementations and a function that picks one
for `sys.platform` (`for_platform`). The implementations reach the system only through what they are
given: a `Runner` for commands, a `registry.Registry` for the registry, a home directory for files;
tests substitute those and check the exact commands, keys, values and files. No module outside this
package calls `fcntl`, `msvcrt`, `winreg`, `os.getuid`, `os.fchmod` or a signal API directly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..errors import ConfigError

LINUX = "linux"
WINDOWS = "win32"
MACOS = "darwin"

TOOL_TIMEOUT = 30.0

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]
"""Runs one command (argv) and returns what it did; never raises on a non-zero exit."""


def system(platform: str | None = None) -> str:
    """LINUX, WINDOWS or MACOS for `platform` (sys.platform by default); other Unixes count as Linux."""
    platform = sys.platform if platform is None else platform
    if platform in (WINDOWS, MACOS):
        return platform
    return LINUX


NO_GRAPHICAL_SESSION = (
    "partnercrmd runs outside a graphical session (DISPLAY and WAYLAND_DISPLAY are not set). Start it from the "
    "desktop session (its autostart entry or systemd user unit)."
)


def graphical_session_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Linux: NO_GRAPHICAL_SESSION when there is no desktop to show anything on (neither X11 nor Wayland); None in a
    session and on Windows and macOS (whose one display server is always there)."""
    if system(platform) != LINUX:
        return None
    env = os.environ if environ is None else environ
    return None if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") else NO_GRAPHICAL_SESSION


def frozen_executable(windowed: bool = False) -> Path | None:
    """The executable of a frozen build (PyInstaller), or None when running from an installed package.

    `windowed`: on Windows the build also holds `NAMEw.exe`, the same program without a console window,
    which is what Windows should start by itself (at sign-in, for a link); it is preferred when present.
    """
    if not getattr(sys, "frozen", False):
        return None
    executable = Path(sys.executable)
    if windowed and system() == WINDOWS:
        quiet = executable.with_name(f"{executable.stem}w{executable.suffix}")
        if quiet.is_file():
            return quiet
    return executable


def installed_command() -> Path:
    """The absolute path of the `partnercrmd` command that runs this code: what the system starts by itself.

    Start at login and tel:/callto:/sip: links name it. A frozen build's executable (on Windows its
    windowed one); else the `partnercrmd` script of this installation (argv[0], beside the Python that runs
    this code, its Scripts folder on Windows) or the one on PATH. ConfigError when there is none.
    """
    frozen = frozen_executable(windowed=True)
    if frozen is not None:
        return frozen
    names = ["partnercrmd.exe", "partnercrmd"] if system() == WINDOWS else ["partnercrmd"]
    argv0 = Path(sys.argv[0])
    candidates = [argv0] if argv0.name in names else []
    bin_dir = Path(sys.executable).parent
    candidates += [directory / name for directory in (bin_dir, bin_dir / "Scripts") for name in names]
    found = shutil.which("partnercrmd")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    raise ConfigError("The `partnercrmd` command was not found; install partnercrmd so that it is on your PATH.")


def run_tool(args: Sequence[str], timeout: float = TOOL_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """The real Runner: run `args` without a shell, capture its output as text, give up after `timeout` seconds."""
    try:
        return subprocess.run(
            list(args), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        return subprocess.CompletedProcess(list(args), 127, "", f"{args[0]}: command not found")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(list(args), 124, "", f"{args[0]}: no answer within {timeout:g} s")


def failure(result: subprocess.CompletedProcess[str]) -> str:
    """The last line a failed command printed (or its exit status), for a message."""
    detail = (result.stderr or result.stdout or "").strip().splitlines()
    return detail[-1] if detail else f"exit {result.returncode}"

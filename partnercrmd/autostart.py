"""Start `partnercrmd serve` when the current user logs in (`partnercrmd service install|uninstall|status`).

Which command and options the login session runs is decided here; how each platform starts it
(systemd user unit or XDG autostart, LaunchAgent, Run key) is `partnercrmd.platform.autostart`, whose
functions and file formats are used from there (this module does not re-export them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from . import PRODUCT_NAME
from .branding import BRANDING_ENV
from .paths import HOME_ENV
from .platform import WINDOWS, frozen_executable, installed_command, system
from .platform.autostart import ServiceState, UserDirs, for_platform

__all__ = ["install", "serve_arguments", "service_command_line", "status", "uninstall"]


def serve_arguments(environ: Mapping[str, str] | None = None) -> list[str]:
    """`serve` and the options that keep this user's setup: a PARTNERCRMD_HOME or partner branding file in effect.

    A service starts with the login environment, not the shell's, so what the
    environment chose at install time is written into the command line.
    """
    environ = os.environ if environ is None else environ
    arguments = ["serve"]
    if environ.get(HOME_ENV):
        arguments += ["--home", str(Path(environ[HOME_ENV]).expanduser().resolve())]
    if environ.get(BRANDING_ENV):
        arguments += ["--branding", str(Path(environ[BRANDING_ENV]).expanduser().resolve())]
    return arguments


def service_command_line() -> tuple[Path, list[str]]:
    """The program the login session starts, and the arguments that come before `serve`.

    On Windows that is a program without a console window (a console would stay open all session,
    and closing it would end the daemon): a frozen build's windowed executable, or pythonw.exe
    `-m partnercrmd` beside the Python that runs this code.
    """
    if frozen_executable() is None and system() == WINDOWS:
        pythonw = Path(sys.executable).with_name("pythonw.exe")
        if pythonw.is_file():
            return pythonw, ["-m", "partnercrmd"]
    return installed_command(), []


def install(dirs: UserDirs | None = None, command: Path | None = None, product: str = PRODUCT_NAME) -> ServiceState:
    """Start `partnercrmd serve` at login from now on (again: no change); `product` names what the desktop shows."""
    program, before = (command, []) if command is not None else service_command_line()
    return for_platform(dirs=dirs, product=product).install(program, [*before, *serve_arguments()])


def uninstall(dirs: UserDirs | None = None) -> ServiceState:
    """Remove whatever `install` put in place (again: nothing to do)."""
    state = for_platform(dirs=dirs).uninstall()
    if not state.lines:
        state.lines.append("partnercrmd was not installed as a service: nothing to remove.")
    return state


def status(dirs: UserDirs | None = None) -> ServiceState:
    return for_platform(dirs=dirs).status()

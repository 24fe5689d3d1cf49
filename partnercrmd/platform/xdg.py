"""Linux desktops (freedesktop.org): the user's XDG directories and the quoting of a desktop file's Exec key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def user_base_dirs(environ: Mapping[str, str] | None = None) -> tuple[Path, Path, Path]:
    """(home, XDG data home, XDG config home) of the current user, as desktop files and services expect."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    data = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return home, data, Path(environ.get("XDG_CONFIG_HOME") or home / ".config")


def exec_argument(value: str) -> str:
    """One argument of a desktop file's Exec key, quoted and escaped as the Desktop Entry specification says."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if value and not reserved.intersection(value):
        return value.replace("%", "%%")
    quoted = '"' + "".join("\\" + c if c in '"`$\\' else c for c in value) + '"'
    # then the escaping of every string value: a backslash is written twice
    return quoted.replace("\\", "\\\\").replace("\n", "\\n").replace("%", "%%")

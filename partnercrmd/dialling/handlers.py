"""tel:, callto: and sip: links run `partnercrmd dial URI`: registering that URL handler with a Linux desktop.

`install` writes `partnercrmd-url-handler.desktop` under `$XDG_DATA_HOME/applications`,
makes it the default for the three schemes with `xdg-mime default` and refreshes the
desktop database. The handlers it replaced are recorded in the desktop file itself,
so `uninstall` puts them back (or leaves no default where there was none). Both are
idempotent. macOS and Windows register through files in `packaging/` instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..paths import user_base_dirs

SCHEMES = ("tel", "callto", "sip")
DESKTOP_ID = "partnercrmd-url-handler.desktop"
DEFAULTS_SECTION = "Default Applications"
REPLACED_KEY = "X-PartnerCRMD-Replaced-"
"""+ scheme: the handler that was the default before `install` (restored by `uninstall`)."""
TOOL_TIMEOUT = 30.0
TAPI_NOTE = "TAPI (the Windows telephony API) is Windows-only: it is not offered on this system."


def mime_type(scheme: str) -> str:
    return f"x-scheme-handler/{scheme}"


@dataclass(frozen=True)
class XdgDirs:
    """The per-user XDG directories that hold desktop files and the default-application list."""

    data_home: Path
    config_home: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> XdgDirs:
        _, data, config = user_base_dirs(environ)
        return cls(data, config)

    @property
    def applications(self) -> Path:
        return self.data_home / "applications"

    @property
    def desktop_file(self) -> Path:
        return self.applications / DESKTOP_ID

    @property
    def mimeapps(self) -> Path:
        return self.config_home / "mimeapps.list"


@dataclass(frozen=True)
class HandlerStatus:
    desktop_file: Path
    installed: bool
    command: str
    """The desktop file's Exec line ('' when not installed)."""
    defaults: Mapping[str, str]
    """scheme → the desktop id `xdg-mime query default` names ('' for none)."""

    @property
    def registered(self) -> bool:
        """Installed, and the default for every scheme."""
        return self.installed and all(self.defaults.get(s) == DESKTOP_ID for s in SCHEMES)


def require_linux() -> None:
    if sys.platform == "darwin":
        raise ConfigError(
            "On macOS tel:, callto: and sip: links reach partnercrmd through an application bundle: "
            "see packaging/macos/README.md."
        )
    if sys.platform == "win32":
        raise ConfigError(
            "On Windows tel:, callto: and sip: links are registered in the registry: see packaging/windows/README.md."
        )


def partnercrmd_command() -> Path:
    """The absolute path of the `partnercrmd` command that runs this code (what the desktop file starts)."""
    argv0 = Path(sys.argv[0])
    candidates = [argv0] if argv0.name == "partnercrmd" else []
    candidates.append(Path(sys.executable).parent / "partnercrmd")
    found = shutil.which("partnercrmd")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    raise ConfigError("The `partnercrmd` command was not found; install partnercrmd so that it is on your PATH.")


def exec_argument(value: str) -> str:
    """One argument of a desktop file's Exec key, quoted and escaped as the Desktop Entry specification says."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if value and not reserved.intersection(value):
        return value.replace("%", "%%")
    quoted = '"' + "".join("\\" + c if c in '"`$\\' else c for c in value) + '"'
    # then the escaping of every string value: a backslash is written twice
    return quoted.replace("\\", "\\\\").replace("\n", "\\n").replace("%", "%%")


def desktop_entry(command: Path, replaced: Mapping[str, str]) -> str:
    """The text of the handler's desktop file."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",
        "Name=partnercrmd dialler",
        "Comment=Dial tel:, callto: and sip: links with your phone client",
        f"Exec={exec_argument(str(command))} dial %u",
        "Terminal=false",
        "NoDisplay=true",
        "Categories=Network;Telephony;",
        "MimeType=" + "".join(f"{mime_type(s)};" for s in SCHEMES),
    ]
    lines += [f"{REPLACED_KEY}{scheme}={replaced[scheme]}" for scheme in SCHEMES if replaced.get(scheme)]
    return "\n".join(lines) + "\n"


def _read_keys(path: Path) -> dict[str, str]:
    """key=value lines of a desktop file's main group ({} when there is no file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    keys: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            keys.setdefault(key.strip(), value.strip())
    return keys


def read_defaults(mimeapps: Path) -> dict[str, str]:
    """The [Default Applications] of a mimeapps.list: mime type → desktop ids (as written)."""
    defaults: dict[str, str] = {}
    section = ""
    try:
        lines = mimeapps.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return defaults
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif section == DEFAULTS_SECTION and "=" in stripped and not stripped.startswith("#"):
            key, _, value = stripped.partition("=")
            defaults.setdefault(key.strip(), value.strip())
    return defaults


def change_defaults(mimeapps: Path, changes: Mapping[str, str | None]) -> None:
    """Set (or, for None, remove) entries of [Default Applications]; every other line stays as it is."""
    try:
        lines = mimeapps.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    pending = {key: value for key, value in changes.items() if value is not None}
    out: list[str] = []
    section = ""
    seen_defaults = False

    def flush() -> None:
        blanks = 0
        while out and not out[-1].strip():  # new entries go before the blank lines that end the section
            out.pop()
            blanks += 1
        out.extend(f"{key}={value}" for key, value in pending.items())
        out.extend([""] * blanks)
        pending.clear()

    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if section == DEFAULTS_SECTION:
                flush()
            section = stripped[1:-1]
            seen_defaults = seen_defaults or section == DEFAULTS_SECTION
        elif section == DEFAULTS_SECTION and "=" in stripped and not stripped.startswith("#"):
            key = stripped.partition("=")[0].strip()
            if key in changes:
                if key in pending:
                    out.append(f"{key}={pending.pop(key)}")
                continue  # removed, or a repeated key
        out.append(line)
    if section == DEFAULTS_SECTION:
        flush()
    elif pending and not seen_defaults:
        out.append(f"[{DEFAULTS_SECTION}]")
        flush()
    _write_atomically(mimeapps, "\n".join(out) + "\n" if out else "")


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text, encoding="utf-8")
    if path.exists():
        os.chmod(temp, path.stat().st_mode & 0o777)
    os.replace(temp, path)


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(args[0]) is None:
        raise ConfigError(f"`{args[0]}` is not installed: install xdg-utils (Debian/Ubuntu: apt install xdg-utils).")
    result = subprocess.run(args, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    if result.returncode:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise ConfigError(f"`{' '.join(args)}` failed: {detail[-1] if detail else f'exit {result.returncode}'}")
    return result


def _refresh_database(dirs: XdgDirs) -> None:
    """Rebuild the user's mimeinfo.cache when the tool is there (desktops that read the cache need it)."""
    if shutil.which("update-desktop-database") is not None and dirs.applications.is_dir():
        subprocess.run(
            ["update-desktop-database", str(dirs.applications)],
            capture_output=True,
            timeout=TOOL_TIMEOUT,
            check=False,
        )


def _ours(value: str | None) -> bool:
    return DESKTOP_ID in (value or "").split(";")


def install(dirs: XdgDirs, command: Path | None = None) -> HandlerStatus:
    """Write the desktop file and make it the default for tel:, callto: and sip: (again: no change)."""
    require_linux()
    command = command or partnercrmd_command()
    recorded = _read_keys(dirs.desktop_file)
    current = read_defaults(dirs.mimeapps)
    replaced: dict[str, str] = {}
    for scheme in SCHEMES:
        value = current.get(mime_type(scheme), "")
        replaced[scheme] = recorded.get(REPLACED_KEY + scheme, "") if _ours(value) or not value else value
    dirs.applications.mkdir(parents=True, exist_ok=True)
    _write_atomically(dirs.desktop_file, desktop_entry(command, replaced))
    _tool("xdg-mime", "default", DESKTOP_ID, *(mime_type(s) for s in SCHEMES))
    _refresh_database(dirs)
    return status(dirs)


def uninstall(dirs: XdgDirs) -> HandlerStatus:
    """Remove the desktop file; give each scheme back the handler it had before (or none)."""
    require_linux()
    recorded = _read_keys(dirs.desktop_file)
    current = read_defaults(dirs.mimeapps)
    changes: dict[str, str | None] = {}
    for scheme in SCHEMES:
        if _ours(current.get(mime_type(scheme))):
            changes[mime_type(scheme)] = recorded.get(REPLACED_KEY + scheme) or None
    if changes:
        change_defaults(dirs.mimeapps, changes)
    dirs.desktop_file.unlink(missing_ok=True)
    _refresh_database(dirs)
    return status(dirs)


def status(dirs: XdgDirs) -> HandlerStatus:
    """Whether the desktop file is there and which handler each scheme opens now."""
    require_linux()
    keys = _read_keys(dirs.desktop_file)
    defaults = {s: _tool("xdg-mime", "query", "default", mime_type(s)).stdout.strip() for s in SCHEMES}
    return HandlerStatus(dirs.desktop_file, dirs.desktop_file.is_file(), keys.get("Exec", ""), defaults)


def describe(state: HandlerStatus) -> list[str]:
    """Lines for `partnercrmd handlers …`: the desktop file and which handler each scheme opens."""
    lines = [f"Desktop file: {state.desktop_file} ({'installed' if state.installed else 'not installed'})"]
    if state.command:
        lines.append(f"Runs: {state.command}")
    for scheme in SCHEMES:
        handler = state.defaults.get(scheme) or "(none)"
        lines.append(f"{scheme}: links open {handler}{' (partnercrmd)' if handler == DESKTOP_ID else ''}")
    lines.append(TAPI_NOTE)
    return lines

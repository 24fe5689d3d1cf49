"""tel:, callto: and sip: links run `partnercrmd dial URI`: registering that URL handler, per platform.

Linux: `partnercrmd-url-handler.desktop` under `$XDG_DATA_HOME/applications`, made the default for
the three schemes with `xdg-mime default`; the handlers it replaced are recorded in the desktop file
itself, so uninstalling puts them back (or leaves no default where there was none).

Windows: under HKEY_CURRENT_USER only, the ProgId `PartnerCRMD.DialLink` (a `URL Protocol` whose
`shell\\open\\command` runs `partnercrmd dial "%1"`), the `Capabilities\\URLAssociations` that offer it
for the three schemes and its `RegisteredApplications` entry (the same keys as
packaging/windows/partnercrmd-url-handler.reg). Windows lets only the user pick a scheme's default
(Settings > Apps > Default apps); `status` reads that choice (`UserChoice`).

macOS: the "partnercrmd Dialler" application bundle (built from packaging/macos/) is registered with
LaunchServices (`lsregister -f`) and made the default for each scheme through
`LSSetDefaultHandlerForURLScheme`, called with the system's own `osascript -l JavaScript`.

All three are idempotent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Protocol

from .. import PRODUCT_NAME
from ..errors import ConfigError
from . import MACOS, WINDOWS, Runner, failure, frozen_executable, installed_command, run_tool, system
from .files import atomic_write
from .registry import HIVE_NAME, CurrentUserRegistry, Registry
from .xdg import exec_argument, user_base_dirs

SCHEMES = ("tel", "callto", "sip")
TOOL_TIMEOUT = 30.0


@dataclass(frozen=True)
class HandlerStatus:
    """Where the registration lives, whether it is there, what it runs, and which handler each scheme opens."""

    kind: str
    """What `location` is: "Desktop file", "Registry key", "Application bundle"."""
    location: str
    installed: bool
    command: str
    """What opening a link runs ('' when not installed)."""
    defaults: Mapping[str, str]
    """scheme → the handler the system opens for it now ('' for none)."""
    ours: str
    """The handler id that means partnercrmd (desktop id, ProgId, bundle identifier)."""
    notes: tuple[str, ...] = field(default=())
    """What the user still has to do, if anything."""

    @property
    def registered(self) -> bool:
        """Installed, and the default for every scheme."""
        return self.installed and all(self.defaults.get(s) == self.ours for s in SCHEMES)


class UrlHandlers(Protocol):
    """Registering partnercrmd as the handler of tel:, callto: and sip: links on one platform."""

    def install(self) -> HandlerStatus:
        """Register (again: no change) and return the status."""
        ...

    def uninstall(self) -> HandlerStatus:
        """Remove the registration (again: no change) and return the status."""
        ...

    def status(self) -> HandlerStatus:
        """What is registered now."""
        ...


# --- Linux (freedesktop.org) -----------------------------------------------------------------------------

DESKTOP_ID = "partnercrmd-url-handler.desktop"
DEFAULTS_SECTION = "Default Applications"
REPLACED_KEY = "X-PartnerCRMD-Replaced-"
"""+ scheme: the handler that was the default before `install` (restored by `uninstall`)."""


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


def desktop_entry(command: Path, replaced: Mapping[str, str], product: str = PRODUCT_NAME) -> str:
    """The text of the handler's desktop file (`product`: the name the desktop shows)."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",
        f"Name={product} dialler",
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
    """Replace a desktop file or mimeapps.list (the user's own settings: an existing file keeps its mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"), private=False)


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


def install_linux(dirs: XdgDirs, command: Path | None = None, product: str = PRODUCT_NAME) -> HandlerStatus:
    """Write the desktop file and make it the default for tel:, callto: and sip: (again: no change)."""
    command = command or installed_command()
    recorded = _read_keys(dirs.desktop_file)
    current = read_defaults(dirs.mimeapps)
    replaced: dict[str, str] = {}
    for scheme in SCHEMES:
        value = current.get(mime_type(scheme), "")
        replaced[scheme] = recorded.get(REPLACED_KEY + scheme, "") if _ours(value) or not value else value
    dirs.applications.mkdir(parents=True, exist_ok=True)
    _write_atomically(dirs.desktop_file, desktop_entry(command, replaced, product))
    _tool("xdg-mime", "default", DESKTOP_ID, *(mime_type(s) for s in SCHEMES))
    _refresh_database(dirs)
    return status_linux(dirs)


def uninstall_linux(dirs: XdgDirs) -> HandlerStatus:
    """Remove the desktop file; give each scheme back the handler it had before (or none)."""
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
    return status_linux(dirs)


def status_linux(dirs: XdgDirs) -> HandlerStatus:
    """Whether the desktop file is there and which handler each scheme opens now."""
    keys = _read_keys(dirs.desktop_file)
    defaults = {s: _tool("xdg-mime", "query", "default", mime_type(s)).stdout.strip() for s in SCHEMES}
    return HandlerStatus(
        "Desktop file", str(dirs.desktop_file), dirs.desktop_file.is_file(), keys.get("Exec", ""), defaults, DESKTOP_ID
    )


@dataclass
class LinuxUrlHandlers:
    dirs: XdgDirs
    command: Path | None = None
    product: str = PRODUCT_NAME
    """The name the desktop entry shows."""

    def install(self) -> HandlerStatus:
        return install_linux(self.dirs, self.command, self.product)

    def uninstall(self) -> HandlerStatus:
        return uninstall_linux(self.dirs)

    def status(self) -> HandlerStatus:
        return status_linux(self.dirs)


# --- Windows (the current user's registry) ----------------------------------------------------------------

PROG_ID = "PartnerCRMD.DialLink"
CLASSES_KEY = "Software\\Classes\\" + PROG_ID
CAPABILITIES_KEY = r"Software\PartnerCRMD\Capabilities"
APPLICATION_KEY = r"Software\PartnerCRMD"
REGISTERED_APPLICATIONS_KEY = r"Software\RegisteredApplications"
REGISTERED_NAME = "partnercrmd"
USER_CHOICE_KEY = r"Software\Microsoft\Windows\Shell\Associations\UrlAssociations\{scheme}\UserChoice"
WINDOWS_DEFAULT_APPS = (
    "Windows lets only you choose what opens these links: Settings > Apps > Default apps > "
    "Choose defaults by link type (Windows 10: Choose default apps by protocol), then pick partnercrmd "
    "for TEL, CALLTO and SIP."
)


def windows_quote(argument: str) -> str:
    """One argument of a Windows command line, quoted when it holds a space or is the link placeholder."""
    return f'"{argument}"' if (" " in argument or argument == "%1" or not argument) else argument


def windows_dial_command(executable: str | None = None, frozen: bool | None = None) -> list[str]:
    """What a link starts: a frozen build's windowed executable, else pythonw.exe (no console) `-m partnercrmd`."""
    if frozen is None and executable is None:
        built = frozen_executable(windowed=True)
        if built is not None:
            return [str(built)]
    executable = sys.executable if executable is None else executable
    if frozen:
        return [executable]
    python = PureWindowsPath(executable)
    pythonw = python.with_name("pythonw.exe")
    return [str(pythonw if python.name.lower() == "python.exe" else python), "-m", "partnercrmd"]


def windows_registrations(command: Sequence[str], product: str = PRODUCT_NAME) -> list[tuple[str, str, str]]:
    """(key under HKEY_CURRENT_USER, value name, data) of every value the Windows registration writes.

    `product` is the name Windows shows (Default apps, the link's type); key and value names stay.
    """
    program, *rest = command
    line = " ".join([f'"{program}"', *(windows_quote(a) for a in rest), "dial", '"%1"'])
    return [
        (CLASSES_KEY, "", f"URL:{product} dial link"),
        (CLASSES_KEY, "URL Protocol", ""),
        (CLASSES_KEY, "FriendlyTypeName", f"Telephone link ({product})"),
        (CLASSES_KEY + r"\DefaultIcon", "", f'"{program}",0'),
        (CLASSES_KEY + r"\shell\open\command", "", line),
        (CAPABILITIES_KEY, "ApplicationName", product),
        (CAPABILITIES_KEY, "ApplicationDescription", "Dials tel:, callto: and sip: links with your phone client."),
        *((CAPABILITIES_KEY + r"\URLAssociations", scheme, PROG_ID) for scheme in SCHEMES),
        (REGISTERED_APPLICATIONS_KEY, REGISTERED_NAME, CAPABILITIES_KEY),
    ]


@dataclass
class WindowsUrlHandlers:
    registry: Registry
    command: Sequence[str] = field(default_factory=windows_dial_command)
    product: str = PRODUCT_NAME
    """The name Windows shows for the links' handler."""

    def install(self) -> HandlerStatus:
        for key, name, value in windows_registrations(self.command, self.product):
            if self.registry.get(key, name) != value:
                self.registry.set(key, name, value)
        return self.status()

    def uninstall(self) -> HandlerStatus:
        self.registry.delete_tree(CLASSES_KEY)
        self.registry.delete_tree(APPLICATION_KEY)
        self.registry.delete_value(REGISTERED_APPLICATIONS_KEY, REGISTERED_NAME)
        return self.status()

    def status(self) -> HandlerStatus:
        command = self.registry.get(CLASSES_KEY + r"\shell\open\command", "") or ""
        defaults = {s: self.registry.get(USER_CHOICE_KEY.format(scheme=s), "ProgId") or "" for s in SCHEMES}
        installed = bool(command)
        notes = (WINDOWS_DEFAULT_APPS,) if installed and any(defaults[s] != PROG_ID for s in SCHEMES) else ()
        return HandlerStatus(
            "Registry key", f"{HIVE_NAME}\\{CLASSES_KEY}", installed, command, defaults, PROG_ID, notes
        )


# --- macOS (LaunchServices) -------------------------------------------------------------------------------

BUNDLE_ID = "org.partnercrmd.dialler"
"""CFBundleIdentifier of the dialler bundle (packaging/macos/Info.plist)."""
BUNDLE_NAME = "partnercrmd Dialler.app"
LSREGISTER = "/System/Library/Frameworks/CoreServices.framework/Frameworks/LaunchServices.framework/Support/lsregister"


def macos_bundle(home: Path | None = None) -> Path:
    """Where packaging/macos/README.md builds the dialler bundle: ~/Applications/partnercrmd Dialler.app."""
    return (Path.home() if home is None else home) / "Applications" / BUNDLE_NAME


def set_default_handler_script(scheme: str, bundle_id: str = BUNDLE_ID) -> str:
    """JavaScript for `osascript -l JavaScript` calling LSSetDefaultHandlerForURLScheme; prints its OSStatus."""
    return (
        "ObjC.import('CoreServices'); "
        f"$.LSSetDefaultHandlerForURLScheme($({json.dumps(scheme)}), $({json.dumps(bundle_id)}))"
    )


def default_handler_script(scheme: str) -> str:
    """JavaScript for `osascript -l JavaScript`: the bundle identifier LSCopyDefaultHandlerForURLScheme names, or ''."""
    return (
        "ObjC.import('CoreServices'); "
        f"var h = $.LSCopyDefaultHandlerForURLScheme($({json.dumps(scheme)})); "
        "h ? ObjC.unwrap(ObjC.castRefToObject(h)) : ''"
    )


@dataclass
class MacUrlHandlers:
    bundle: Path = field(default_factory=macos_bundle)
    runner: Runner = run_tool

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.runner(list(args))
        if result.returncode:
            raise ConfigError(f"`{' '.join(args[:3])}` failed: {failure(result)}")
        return result

    def install(self) -> HandlerStatus:
        if not (self.bundle / "Contents" / "Info.plist").is_file():
            raise ConfigError(
                f"{self.bundle} is not there: build the dialler bundle first (packaging/macos/README.md), "
                "then run `partnercrmd handlers install` again."
            )
        self._run(LSREGISTER, "-f", str(self.bundle))
        for scheme in SCHEMES:
            answer = self._run("osascript", "-l", "JavaScript", "-e", set_default_handler_script(scheme))
            status = answer.stdout.strip()
            if status not in ("", "0"):  # an OSStatus: 0 is success
                raise ConfigError(f"macOS refused to make {BUNDLE_ID} the handler of {scheme}: links ({status}).")
        return self.status()

    def uninstall(self) -> HandlerStatus:
        if self.bundle.exists():  # LaunchServices then gives the schemes to another application that claims them
            self._run(LSREGISTER, "-u", str(self.bundle))
        return self.status()

    def status(self) -> HandlerStatus:
        defaults = {}
        for scheme in SCHEMES:
            answer = self.runner(["osascript", "-l", "JavaScript", "-e", default_handler_script(scheme)])
            defaults[scheme] = answer.stdout.strip().lower() if answer.returncode == 0 else ""
        installed = (self.bundle / "Contents" / "Info.plist").is_file()
        return HandlerStatus(
            "Application bundle",
            str(self.bundle),
            installed,
            str(self.bundle) if installed else "",
            defaults,
            BUNDLE_ID,
        )


def for_platform(
    platform: str | None = None, dirs: XdgDirs | None = None, command: Path | None = None, product: str = PRODUCT_NAME
) -> UrlHandlers:
    """The implementation for `platform` (sys.platform by default), on the real system; `product` names it."""
    name = system(platform)
    if name == WINDOWS:
        return WindowsUrlHandlers(CurrentUserRegistry(), product=product)
    if name == MACOS:
        return MacUrlHandlers()
    return LinuxUrlHandlers(dirs or XdgDirs.from_env(), command, product)

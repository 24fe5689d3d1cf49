"""Trusting the daemon's local HTTPS authority for the current user, per platform (the seam issue #20 uses).

Each implementation says which commands it runs (`add_commands`, `remove_commands`), so they can be
shown to the user and checked in tests, and runs them with a `Runner`. No administrator rights:

- Windows: the current user's Root store, `certutil -user -addstore Root FILE` (Windows asks the user
  to confirm a new root); removed by its SHA-1 thumbprint.
- macOS: the login keychain, `security add-trusted-cert -r trustRoot -k LOGIN_KEYCHAIN FILE` (macOS
  asks for the user's password); removed with `security remove-trusted-cert` and
  `security delete-certificate -Z SHA1`.
- Linux: the per-user NSS database that Chromium-based browsers read (`~/.pki/nssdb`, created by the
  browser's first start, or by `prepare` before it), and each Firefox profile's own NSS database
  (`cert9.db`; the usual, snap and Flatpak profile folders), all through `certutil` from NSS's tools
  (Debian libnss3-tools). The system store needs root.

`holders` says which of those places hold a given certificate (`partnercrmd tls status`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import ConfigError
from . import MACOS, WINDOWS, Runner, failure, run_tool, system
from .files import ensure_private_dir

AUTHORITY_NAME = "partnercrmd local authority"
"""The nickname (Linux NSS) the authority is stored under."""


NOT_FOUND = 127
"""The exit status `run_tool` (and a shell) gives a command that is not installed."""


def _load(data: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)


def _der(certificate: Path) -> bytes:
    return _load(certificate.read_bytes()).public_bytes(Encoding.DER)


def _pem_certificates(text: str) -> list[bytes]:
    """The DER form of each PEM certificate in `text` (a tool's output); none when it holds none."""
    try:
        return [cert.public_bytes(Encoding.DER) for cert in x509.load_pem_x509_certificates(text.encode())]
    except ValueError:
        return []


def sha1_thumbprint(certificate: Path) -> str:
    """The SHA-1 of the certificate's DER form, upper-case hex (how Windows and macOS name a certificate)."""
    return hashlib.sha1(_der(certificate), usedforsecurity=False).hexdigest().upper()


class TrustStore(Protocol):
    tool: str
    """The command every one of its commands runs."""
    tool_hint: str
    """Where that command comes from, for the error when it is not installed."""

    def add_commands(self, certificate: Path) -> list[list[str]]:
        """The commands that make the user's programs trust `certificate` (PEM or DER)."""
        ...

    def remove_commands(self, certificate: Path) -> list[list[str]]:
        """The commands that take that trust away again."""
        ...

    def prepare(self, runner: Runner) -> list[str]:
        """Create a store the user's programs will read but that does not exist yet; one line per thing done."""
        ...

    def holders(self, certificate: Path, runner: Runner) -> list[tuple[str, bool]]:
        """Each place of this store (as the user knows it) and whether it holds `certificate` now."""
        ...


class ToolMissing(ConfigError):
    code = "trust_tool_missing"


class TrustStoreFailed(ConfigError):
    code = "trust_store_failed"


def tool_missing(store: TrustStore) -> ToolMissing:
    return ToolMissing(f"`{store.tool}` was not found on PATH. {store.tool_hint}")


def _run(store: TrustStore, runner: Runner, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run one of the store's commands; ToolMissing when its program is not installed."""
    result = runner(list(command))
    if result.returncode == NOT_FOUND:
        raise tool_missing(store)
    return result


def _run_all(
    store: TrustStore, runner: Runner, commands: Sequence[Sequence[str]], tolerate_failure: bool = False
) -> list[str]:
    lines = []
    for command in commands:
        result = _run(store, runner, command)
        if result.returncode and not tolerate_failure:
            raise TrustStoreFailed(f"`{' '.join(command[:3])} …` failed: {failure(result)}")
        lines.append(f"Ran {' '.join(command)}" + (f" (exit {result.returncode})" if result.returncode else "."))
    return lines


def check_tool(store: TrustStore) -> None:
    """ToolMissing, before anything is changed, when the store's command is not installed."""
    if shutil.which(store.tool) is None:
        raise tool_missing(store)


USER_CONFIRMATION_TIMEOUT = 300.0
"""Seconds a trust command may wait for the user: Windows asks to confirm a new root, macOS for the password."""


def run_asking_user(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """The Runner of `trust`: run_tool with time for the user to answer the system's confirmation."""
    return run_tool(args, timeout=USER_CONFIRMATION_TIMEOUT)


def trust(store: TrustStore, certificate: Path, runner: Runner = run_asking_user) -> list[str]:
    """Add the authority to the user's trust store; one line per command run."""
    return _run_all(store, runner, store.add_commands(certificate))


def distrust(store: TrustStore, certificate: Path, runner: Runner = run_asking_user) -> list[str]:
    """Remove it again (a store that does not hold it is fine)."""
    return _run_all(store, runner, store.remove_commands(certificate), tolerate_failure=True)


@dataclass
class WindowsTrustStore:
    tool: str = "certutil"
    tool_hint: str = "It is part of Windows (System32); check that PATH includes it."

    def add_commands(self, certificate: Path) -> list[list[str]]:
        return [["certutil", "-user", "-addstore", "Root", str(certificate)]]

    def remove_commands(self, certificate: Path) -> list[list[str]]:
        return [["certutil", "-user", "-delstore", "Root", sha1_thumbprint(certificate)]]

    def prepare(self, runner: Runner) -> list[str]:
        return []

    def holders(self, certificate: Path, runner: Runner) -> list[tuple[str, bool]]:
        result = _run(self, runner, ["certutil", "-user", "-store", "Root", sha1_thumbprint(certificate)])
        return [("the current user's Root store", result.returncode == 0)]


@dataclass
class MacTrustStore:
    home: Path = field(default_factory=Path.home)
    tool: str = "security"
    tool_hint: str = "It is part of macOS (/usr/bin/security)."

    @property
    def keychain(self) -> Path:
        return self.home / "Library" / "Keychains" / "login.keychain-db"

    def add_commands(self, certificate: Path) -> list[list[str]]:
        return [["security", "add-trusted-cert", "-r", "trustRoot", "-k", str(self.keychain), str(certificate)]]

    def remove_commands(self, certificate: Path) -> list[list[str]]:
        return [
            ["security", "remove-trusted-cert", str(certificate)],
            ["security", "delete-certificate", "-Z", sha1_thumbprint(certificate), str(self.keychain)],
        ]

    def prepare(self, runner: Runner) -> list[str]:
        return []

    def holders(self, certificate: Path, runner: Runner) -> list[tuple[str, bool]]:
        result = _run(self, runner, ["security", "find-certificate", "-a", "-Z", str(self.keychain)])
        held = result.returncode == 0 and f"SHA-1 hash: {sha1_thumbprint(certificate)}" in result.stdout
        return [("the login keychain", held)]


FIREFOX_PROFILE_FOLDERS = (
    Path(".mozilla") / "firefox",
    Path("snap") / "firefox" / "common" / ".mozilla" / "firefox",
    Path(".var") / "app" / "org.mozilla.firefox" / ".mozilla" / "firefox",
)
"""Where Firefox keeps its profiles under the home directory: its own package, the snap, the Flatpak."""
NSS_DATABASE = "cert9.db"


@dataclass
class LinuxTrustStore:
    home: Path = field(default_factory=Path.home)
    nickname: str = AUTHORITY_NAME
    """The name the certificate is stored under in each NSS database (one authority, one name)."""
    tool: str = "certutil"
    tool_hint: str = (
        "It comes with NSS's tools: on Debian and Ubuntu `sudo apt install libnss3-tools`, on Fedora "
        "`sudo dnf install nss-tools`, on Arch `sudo pacman -S nss`."
    )

    @property
    def database(self) -> str:
        """Chromium's database, the one every Chromium-based browser and other NSS programs read."""
        return f"sql:{self.chromium_folder}"

    @property
    def chromium_folder(self) -> Path:
        return self.home / ".pki" / "nssdb"

    def places(self) -> list[tuple[str, Path]]:
        """Each NSS database of the user, by the name the user knows it: Chromium's, then every Firefox profile's."""
        found = [("Chromium, Chrome and other NSS programs (~/.pki/nssdb)", self.chromium_folder)]
        for folder in FIREFOX_PROFILE_FOLDERS:
            for database in sorted((self.home / folder).glob(f"*/{NSS_DATABASE}")):
                found.append(
                    (f"Firefox profile {database.parent.name} (~/{folder / database.parent.name})", database.parent)
                )
        return found

    def add_commands(self, certificate: Path) -> list[list[str]]:
        return [
            ["certutil", "-d", f"sql:{folder}", "-A", "-t", "C,,", "-n", self.nickname, "-i", str(certificate)]
            for _, folder in self.places()
        ]

    def remove_commands(self, certificate: Path) -> list[list[str]]:
        return [["certutil", "-d", f"sql:{folder}", "-D", "-n", self.nickname] for _, folder in self.places()]

    def prepare(self, runner: Runner) -> list[str]:
        """Create Chromium's database when the browser has not run yet (it uses the one it finds)."""
        if (self.chromium_folder / NSS_DATABASE).exists():
            return []
        ensure_private_dir(self.chromium_folder)
        return _run_all(self, runner, [["certutil", "-d", self.database, "-N", "--empty-password"]])

    def holders(self, certificate: Path, runner: Runner) -> list[tuple[str, bool]]:
        wanted = _der(certificate)
        held = []
        for place, folder in self.places():
            if not (folder / NSS_DATABASE).exists():
                held.append((place, False))
                continue
            result = _run(self, runner, ["certutil", "-d", f"sql:{folder}", "-L", "-n", self.nickname, "-a"])
            held.append((place, result.returncode == 0 and wanted in _pem_certificates(result.stdout)))
        return held


def for_platform(platform: str | None = None, home: Path | None = None, nickname: str = AUTHORITY_NAME) -> TrustStore:
    """The current user's trust store on `platform` (sys.platform by default); `nickname`: the name the
    authority is stored under where a store names its certificates (Linux NSS)."""
    name = system(platform)
    if name == WINDOWS:
        return WindowsTrustStore()
    if name == MACOS:
        return MacTrustStore(home or Path.home())
    return LinuxTrustStore(home or Path.home(), nickname)

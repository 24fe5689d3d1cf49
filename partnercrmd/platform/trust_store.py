"""Trusting the daemon's local HTTPS authority for the current user, per platform (the seam issue #20 uses).

Each implementation says which commands it runs (`add_commands`, `remove_commands`), so they can be
shown to the user and checked in tests, and runs them with a `Runner`. No administrator rights:

- Windows: the current user's Root store, `certutil -user -addstore Root FILE` (Windows asks the user
  to confirm a new root); removed by its SHA-1 thumbprint.
- macOS: the login keychain, `security add-trusted-cert -r trustRoot -k LOGIN_KEYCHAIN FILE` (macOS
  asks for the user's password); removed with `security remove-trusted-cert` and
  `security delete-certificate -Z SHA1`.
- Linux: the per-user NSS database that Chromium-based browsers read (`~/.pki/nssdb`, created by the
  browser's first start; `certutil` from libnss3-tools); Firefox keeps its own per-profile stores, and
  the system store needs root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import ConfigError
from . import MACOS, WINDOWS, Runner, failure, run_tool, system

AUTHORITY_NAME = "partnercrmd local authority"
"""The nickname (Linux NSS) the authority is stored under."""


def sha1_thumbprint(certificate: Path) -> str:
    """The SHA-1 of the certificate's DER form, upper-case hex (how Windows and macOS name a certificate)."""
    data = certificate.read_bytes()
    cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    return hashlib.sha1(cert.public_bytes(Encoding.DER), usedforsecurity=False).hexdigest().upper()


class TrustStore(Protocol):
    def add_commands(self, certificate: Path) -> list[list[str]]:
        """The commands that make the user's programs trust `certificate` (PEM or DER)."""
        ...

    def remove_commands(self, certificate: Path) -> list[list[str]]:
        """The commands that take that trust away again."""
        ...


def _run_all(runner: Runner, commands: Sequence[Sequence[str]], tolerate_failure: bool = False) -> list[str]:
    lines = []
    for command in commands:
        result = runner(list(command))
        if result.returncode and not tolerate_failure:
            raise ConfigError(f"`{' '.join(command[:3])} …` failed: {failure(result)}", code="trust_store_failed")
        lines.append(f"Ran {' '.join(command)}" + (f" (exit {result.returncode})" if result.returncode else "."))
    return lines


def trust(store: TrustStore, certificate: Path, runner: Runner = run_tool) -> list[str]:
    """Add the authority to the user's trust store; one line per command run."""
    return _run_all(runner, store.add_commands(certificate))


def distrust(store: TrustStore, certificate: Path, runner: Runner = run_tool) -> list[str]:
    """Remove it again (a store that does not hold it is fine)."""
    return _run_all(runner, store.remove_commands(certificate), tolerate_failure=True)


@dataclass
class WindowsTrustStore:
    def add_commands(self, certificate: Path) -> list[list[str]]:
        return [["certutil", "-user", "-addstore", "Root", str(certificate)]]

    def remove_commands(self, certificate: Path) -> list[list[str]]:
        return [["certutil", "-user", "-delstore", "Root", sha1_thumbprint(certificate)]]


@dataclass
class MacTrustStore:
    home: Path = field(default_factory=Path.home)

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


@dataclass
class LinuxTrustStore:
    home: Path = field(default_factory=Path.home)

    @property
    def database(self) -> str:
        return f"sql:{self.home / '.pki' / 'nssdb'}"

    def add_commands(self, certificate: Path) -> list[list[str]]:
        return [["certutil", "-d", self.database, "-A", "-t", "C,,", "-n", AUTHORITY_NAME, "-i", str(certificate)]]

    def remove_commands(self, certificate: Path) -> list[list[str]]:
        return [["certutil", "-d", self.database, "-D", "-n", AUTHORITY_NAME]]


def for_platform(platform: str | None = None, home: Path | None = None) -> TrustStore:
    """The current user's trust store on `platform` (sys.platform by default)."""
    name = system(platform)
    if name == WINDOWS:
        return WindowsTrustStore()
    if name == MACOS:
        return MacTrustStore(home or Path.home())
    return LinuxTrustStore(home or Path.home())

"""When the daemon serves HTTPS, and where its authority and localhost certificate live (issue #20).

Apart from tls.py, which makes and reads the certificates with `cryptography`'s X.509 (20 ms and 1 MiB to
import): a daemon whose HTTPS is off, as it is on a new install, never imports that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .paths import Paths

DEFAULT_HTTPS_PORT = 10443

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TlsFiles:
    """Where the authority and the localhost certificate live (a private directory of the config dir)."""

    directory: Path

    @classmethod
    def of(cls, paths: Paths) -> TlsFiles:
        return cls(paths.config_dir / "tls")

    @property
    def authority(self) -> Path:
        return self.directory / "authority.pem"

    @property
    def authority_key(self) -> Path:
        return self.directory / "authority-key.pem"

    @property
    def leaf(self) -> Path:
        return self.directory / "localhost.pem"

    @property
    def leaf_key(self) -> Path:
        return self.directory / "localhost-key.pem"

    @property
    def lock(self) -> Path:
        return self.directory / "tls.lock"

    def authority_exists(self) -> bool:
        return self.authority.is_file() and self.authority_key.is_file()


def https_port(given: int | None, setting: int | None, authority_exists: bool) -> tuple[int, bool]:
    """The HTTPS port to serve (0: none) and whether HTTPS was asked for (then the authority may be made for
    it, and a port that is taken stops the daemon): the one rule of when HTTPS is on.

    `given` (`serve --https-port`) wins over `setting` (`partnercrmd settings set https_port=N`); either one
    set to a port turns HTTPS on, making the authority if there is none yet (first use); 0 turns it off.
    With neither, HTTPS is on at DEFAULT_HTTPS_PORT only when the authority exists (`partnercrmd tls
    install` made it): a new install does not serve a certificate no trust store knows.
    """
    chosen = given if given is not None else setting
    if chosen is not None:
        return chosen, chosen != 0
    return (DEFAULT_HTTPS_PORT if authority_exists else 0), False

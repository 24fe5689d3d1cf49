"""Where partnercrmd keeps its files: under PARTNERCRMD_HOME, or the platform's user directories."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

HOME_ENV = "PARTNERCRMD_HOME"
APP_NAME = "partnercrmd"


def user_base_dirs(environ: Mapping[str, str] | None = None) -> tuple[Path, Path, Path]:
    """(home, XDG data home, XDG config home) of the current user, as desktop files and services expect."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    data = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return home, data, Path(environ.get("XDG_CONFIG_HOME") or home / ".config")


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    """Vault, key file (if no keyring), discovery file, instance lock."""
    data_dir: Path
    """Databases of address books and caches."""
    log_dir: Path

    @classmethod
    def from_env(cls) -> Paths:
        home = os.environ.get(HOME_ENV)
        if home:
            return cls.under(Path(home))
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def under(cls, home: Path) -> Paths:
        """Everything under one directory (PARTNERCRMD_HOME, `serve --home`): config, data/, logs/."""
        root = home.expanduser().resolve()
        return cls(root, root / "data", root / "logs")

    @property
    def discovery_file(self) -> Path:
        """`{port, token, pid, version}` for the user's own programs (mode 0600)."""
        return self.config_dir / "api.json"

    @property
    def instance_lock(self) -> Path:
        return self.config_dir / "daemon.lock"

    def book_dir(self, book_id: str) -> Path:
        return self.data_dir / "books" / book_id

    def ensure(self) -> None:
        """Create the directories, private to the user."""
        for directory in (self.config_dir, self.data_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(directory, 0o700)

"""Where partnercrmd keeps its files: under PARTNERCRMD_HOME, or the platform's user directories."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .platform.files import ensure_private_dir

HOME_ENV = "PARTNERCRMD_HOME"
APP_NAME = "partnercrmd"


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
            ensure_private_dir(directory)

"""The discovery file `api.json` = {port, https_port, token, pid, version}: how the user's own programs find the daemon.

`https_port` is the port of HTTPS (the same API, under the local authority's certificate), null when the daemon
serves plain HTTP only.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from .errors import PartnerError
from .platform.files import atomic_write
from .platform.process import process_alive


class InstallToken:
    """The per-install token (in the vault and in api.json); rotating it takes effect without a restart."""

    def __init__(self, value: str) -> None:
        self.value = value

    def matches(self, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self.value.encode())


def new_token() -> str:
    return secrets.token_urlsafe(32)


class NotRunning(PartnerError):
    status = 503
    code = "not_running"


def write_discovery(path: Path, port: int, token: str, version: str, https_port: int | None = None) -> None:
    """Write the file readable by the user alone (0600 on POSIX; on Windows the profile's ACL), atomically."""
    data = json.dumps({"port": port, "https_port": https_port, "token": token, "pid": os.getpid(), "version": version})
    atomic_write(path, data.encode("utf-8"))


def read_discovery(path: Path) -> dict[str, Any]:
    """The running daemon's address and token; NotRunning when there is none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        port, token, pid = int(data["port"]), str(data["token"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        raise NotRunning(f"partnercrmd is not running (no {path}). Start it with `partnercrmd serve`.") from None
    if not process_alive(pid):
        raise NotRunning(f"partnercrmd is not running (process {pid} has ended).")
    https_port = data.get("https_port")
    return {
        "port": port,
        "https_port": https_port if isinstance(https_port, int) else None,
        "token": token,
        "pid": pid,
        "version": data.get("version", ""),
    }


def refresh_token(path: Path, token: str) -> bool:
    """Put a new token into this process's discovery file; False if the file is not ours."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if data.get("pid") != os.getpid():
        return False
    write_discovery(path, int(data["port"]), token, str(data.get("version", "")), data.get("https_port"))
    return True


def remove_discovery(path: Path) -> None:
    """Remove the file if it is ours."""
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass

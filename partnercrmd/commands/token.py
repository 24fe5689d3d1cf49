"""`partnercrmd token`: print the install token, the Bearer that approves the user's own programs at once.

A light command: the running daemon's discovery file is plain JSON; only when no daemon runs is the
token read from the vault (where the daemon keeps it), which needs the vault's cryptography.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..discovery import NotRunning, read_discovery
from ..errors import ConfigError
from ..paths import Paths

WAIT_STEP = 0.1


def stored_token(paths: Paths) -> str:
    """The token the vault keeps (a daemon has started here before); ConfigError when there is none yet."""
    from ..vault import VAULT_FILE, Vault

    if (paths.config_dir / VAULT_FILE).exists():
        token = Vault.open(paths.config_dir).read().get("install", {}).get("token")
        if isinstance(token, str) and token:
            return token
    raise ConfigError(
        "There is no install token yet: it is made when the daemon first starts (`partnercrmd serve`). "
        "Start it, then run `partnercrmd token` again (or `partnercrmd token --wait 20`)."
    )


def install_token(paths: Paths, wait: float) -> str:
    """The running daemon's token (waiting up to `wait` s for one to start), else the vault's."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return str(read_discovery(paths.discovery_file)["token"])
        except NotRunning:
            if time.monotonic() >= deadline:
                break
            time.sleep(WAIT_STEP)
    return stored_token(paths)


def cmd_token(args: argparse.Namespace, paths: Paths) -> int:
    print(install_token(paths, max(0.0, args.wait)))
    return 0


def add_parser(sub: Any) -> None:
    token = sub.add_parser(
        "token",
        help="print the install token (an application that sends it as `Authorization: Bearer` is approved at once)",
    )
    token.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for a daemon that is starting (scripts that run `partnercrmd serve &` first)",
    )
    token.set_defaults(func=cmd_token)

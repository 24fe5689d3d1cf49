"""`partnercrmd vault info|rotate-key`: the encrypted vault and its key."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..paths import Paths
from .common import open_vault


def cmd_vault(args: argparse.Namespace, paths: Paths) -> int:
    vault = open_vault(paths)
    if args.vault_command == "rotate-key":
        vault.rotate_key()
        print(f"The vault key was replaced; the new key is kept in: {vault.key_location}.")
    else:
        doc = vault.read()
        print(json.dumps({"file": str(vault.path), "key": vault.key_location, "schema": doc.get("schema")}, indent=2))
    return 0


def add_parser(sub: Any) -> None:
    vault = sub.add_parser("vault", help="the encrypted vault")
    vault_sub = vault.add_subparsers(dest="vault_command", required=True)
    vault_sub.add_parser("rotate-key")
    vault_sub.add_parser("info")
    vault.set_defaults(func=cmd_vault)

"""`partnercrmd settings show|set KEY=VALUE…`: daemon-wide settings (default region, deadlines)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError
from ..paths import Paths
from ..settings import SETTINGS, change_settings, read_settings
from .common import key_value_pairs, open_vault


def cmd_settings(args: argparse.Namespace, paths: Paths) -> int:
    vault = open_vault(paths)
    if args.settings_command == "set":
        if not args.pairs:
            raise ConfigError("Nothing to change: give key=value.")
        current = change_settings(vault, key_value_pairs(args.pairs))
        print(
            "Saved. A running daemon applies the deadline, wait and web origins at once, the region at its next start."
        )
    else:
        current = read_settings(vault.read())
    for key, setting in SETTINGS.items():
        value = current.get(key, "(default)")
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else value  # as `set` takes it
        print(f"{key} = {shown}    # {setting.help}")
    return 0


def add_parser(sub: Any) -> None:
    settings = sub.add_parser("settings", help="daemon-wide settings (default region, deadlines)")
    settings_sub = settings.add_subparsers(dest="settings_command", required=True)
    settings_sub.add_parser("show")
    settings_sub.add_parser("set").add_argument("pairs", nargs="*", metavar="KEY=VALUE")
    settings.set_defaults(func=cmd_settings)

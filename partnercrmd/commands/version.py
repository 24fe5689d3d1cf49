"""`partnercrmd version`: print the product's name and version (a light command: no daemon modules)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import __version__
from ..paths import Paths
from .common import product_name


def cmd_version(args: argparse.Namespace, paths: Paths) -> int:
    print(f"{product_name(paths)} {__version__}")
    return 0


def add_parser(sub: Any) -> None:
    sub.add_parser("version", help="print the version").set_defaults(func=cmd_version)

"""`partnercrmd extension pair|list|packages`: pair the browser extension, see paired browsers, find the packages."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..books import ensure_default_book
from ..branding import load_branding
from ..client_apps import AppStatus, read_apps
from ..extension_pages import PACKAGES, package_path, write_packages
from ..extension_pairing import CODE_TTL, create_pairing_code
from ..paths import Paths
from ..vault import Vault
from .common import product_name


def _vault(paths: Paths) -> Vault:
    paths.ensure()
    vault = Vault.open(paths.config_dir)
    ensure_default_book(vault)
    return vault


def cmd_extension(args: argparse.Namespace, paths: Paths) -> int:
    command = args.extension_command
    if command == "pair":
        code = create_pairing_code(_vault(paths), float(args.ttl))
        minutes = max(1, round((code.expires - time.time()) / 60))
        print(code.text)
        print(
            f"Enter this code in the extension's options page within {minutes} minutes; it works once. "
            f"{product_name(paths)} must be running when you do.",
        )
        return 0
    if command == "list":
        paired = [a for a in read_apps(_vault(paths).read()).values() if a.origin]
        if not paired:
            print("No browser extension is paired.")
            return 0
        for app in paired:
            state = "paired" if app.status is AppStatus.APPROVED else str(app.status)
            print(f"{app.id}  {state:8}  {app.origin}  {app.name}  (since {app.registered})")
        return 0
    branding = load_branding(paths)
    if branding.branded:  # the packages as this product ships them, with its name inside
        paths.ensure()
        for engine, path in zip(PACKAGES, write_packages(branding, paths.data_dir / "extension"), strict=True):
            print(f"{engine}: {path}")
        return 0
    for engine in PACKAGES:
        print(f"{engine}: {package_path(engine)}")
    return 0


def add_parser(sub: Any) -> None:
    extension = sub.add_parser("extension", help="the browser extension for dialling numbers on web pages")
    extension_sub = extension.add_subparsers(dest="extension_command", required=True)
    pair = extension_sub.add_parser("pair", help="print a one-time code to enter in the extension's options page")
    pair.add_argument("--ttl", type=int, default=int(CODE_TTL), help=f"seconds the code is good (default {CODE_TTL:g})")
    extension_sub.add_parser("list", help="paired browsers (revoke one with `partnercrmd apps revoke ID`)")
    extension_sub.add_parser(
        "packages", help="where the extension packages for each browser are (a branded product's: written first)"
    )
    extension.set_defaults(func=cmd_extension)

"""`partnercrmd service install|uninstall|status`: start the daemon when the user logs in."""

from __future__ import annotations

import argparse
from typing import Any

from ..paths import Paths
from .common import branded, product_name


def cmd_service(args: argparse.Namespace, paths: Paths) -> int:
    from .. import autostart

    if args.service_command == "install":
        state = autostart.install(product=product_name(paths))
    elif args.service_command == "uninstall":
        state = autostart.uninstall()
    else:
        state = autostart.status()
    print(branded(paths, "\n".join(state.lines)))
    return 1 if args.service_command == "status" and not state.installed else 0


def add_parser(sub: Any) -> None:
    service = sub.add_parser("service", help="start the daemon when you log in (systemd/XDG autostart, macOS, Windows)")
    service_sub = service.add_subparsers(dest="service_command", required=True)
    service_sub.add_parser("install", help="write and enable the per-user service (again: no change)")
    service_sub.add_parser("uninstall", help="stop it and remove what install wrote")
    service_sub.add_parser("status", help="show what is installed (exit 1 if nothing)")
    service.set_defaults(func=cmd_service)

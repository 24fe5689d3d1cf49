"""`partnercrmd handlers install|uninstall|status`: make tel:, callto: and sip: links run `partnercrmd dial`."""

from __future__ import annotations

import argparse
from typing import Any

from ..paths import Paths
from .common import branded, product_name


def cmd_handlers(args: argparse.Namespace, paths: Paths) -> int:
    from ..dialling import handlers

    dirs = handlers.XdgDirs.from_env()
    if args.handlers_command == "install":
        state = handlers.install(dirs, product=product_name(paths))
        print("tel:, callto: and sip: links now run `partnercrmd dial`.")
    elif args.handlers_command == "uninstall":
        state = handlers.uninstall(dirs)
        print(branded(paths, "partnercrmd no longer handles tel:, callto: and sip: links."))
    else:
        state = handlers.status(dirs)
    print(branded(paths, "\n".join(handlers.describe(state))))
    return 1 if args.handlers_command == "status" and not state.registered else 0


def add_parser(sub: Any) -> None:
    handlers = sub.add_parser("handlers", help="make tel:, callto: and sip: links run `partnercrmd dial` (Linux)")
    handlers_sub = handlers.add_subparsers(dest="handlers_command", required=True)
    handlers_sub.add_parser("install", help="register the desktop file and make it the default (again: no change)")
    handlers_sub.add_parser("uninstall", help="remove it and give the links back to their previous handlers")
    handlers_sub.add_parser("status", help="show the registration (exit 1 unless partnercrmd handles all three)")
    handlers.set_defaults(func=cmd_handlers)

"""`partnercrmd apps list|approve ID|revoke ID|rotate-token`: applications allowed to use the API."""

from __future__ import annotations

import argparse
from typing import Any

from ..client_apps import AppStatus, read_apps, set_app_status
from ..discovery import new_token
from ..paths import Paths
from .common import open_vault, print_table


def cmd_apps(args: argparse.Namespace, paths: Paths) -> int:
    vault = open_vault(paths)
    if args.apps_command == "list":
        apps = read_apps(vault.read())
        if not apps:
            print("No application has registered yet.")
            return 0
        rows = [[a.name, a.id, str(a.status), a.user_id, a.registered] for a in apps.values()]
        print_table(rows, ["NAME", "ID", "STATUS", "USER", "REGISTERED"])
        return 0
    if args.apps_command == "rotate-token":
        vault.update(lambda doc: doc.setdefault("install", {}).update(token=new_token()))
        print("The install token was replaced; a running daemon writes the new one to its discovery file at once.")
        return 0
    status = AppStatus.APPROVED if args.apps_command == "approve" else AppStatus.REVOKED
    record = set_app_status(vault, args.id, status)
    print(f"{record.name} ({record.id}) is now {record.status}.")
    return 0


def add_parser(sub: Any) -> None:
    apps = sub.add_parser("apps", help="applications allowed to use the API")
    apps_sub = apps.add_subparsers(dest="apps_command", required=True)
    apps_sub.add_parser("list")
    apps_sub.add_parser(
        "rotate-token", help="replace the install token of api.json (applications already approved stay)"
    )
    for name in ("approve", "revoke"):
        p = apps_sub.add_parser(name)
        p.add_argument("id", help="application id (or name)")
    apps.set_defaults(func=cmd_apps)

"""`partnercrmd outbox list|retry`: call activities waiting to be written into a CRM, or failed.

The outbox lives in the user's data directory (call_log/store.py); a running
daemon picks up a retry within a second.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from typing import Any

from ..call_log.store import DATABASE_NAME, FAILED, PENDING, SENDING, STATUSES, CallStore
from ..errors import ConfigError
from ..paths import Paths

KEY = re.compile(r"^x?[0-9a-f]{6,25}$")


def _store(paths: Paths) -> CallStore:
    paths.ensure()
    return CallStore(paths.data_dir / DATABASE_NAME)


def cmd_list(args: argparse.Namespace, paths: Paths) -> int:
    store = _store(paths)
    try:
        entries = store.entries(STATUSES if args.all else (PENDING, SENDING, FAILED), limit=args.limit)
        counts = store.counts()
    finally:
        store.close()
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
    if not entries:
        print(f"Nothing is waiting ({summary}).")
        return 0
    rows = [
        [
            e.key[:12],
            e.call_id or "(DoAction)",
            e.book_id,
            e.status,
            str(e.attempts),
            datetime.fromtimestamp(e.next_attempt, UTC).strftime("%H:%M:%S") if e.status == PENDING else "",
            e.last_error[:70],
        ]
        for e in entries
    ]
    header = ["KEY", "CALL", "BOOK", "STATUS", "TRIES", "NEXT", "LAST ERROR"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(summary)
    return 0


def cmd_retry(args: argparse.Namespace, paths: Paths) -> int:
    if not args.all and not args.keys:
        raise ConfigError("Name the entries to retry (KEY as `outbox list` shows it) or give --all.")
    bad = [k for k in args.keys if not KEY.match(k)]
    if bad:
        raise ConfigError(f"'{bad[0][:30]}' is not an outbox key (6 or more hex digits, as `outbox list` shows).")
    store = _store(paths)
    try:
        count = store.retry(None if args.all else list(args.keys))
    finally:
        store.close()
    if count == 0:
        print("No waiting or failed entry matched.")
        return 1
    print(f"{count} {'entry is' if count == 1 else 'entries are'} tried again now.")
    return 0


def add_parser(sub: Any) -> None:
    outbox = sub.add_parser("outbox", help="call activities waiting to be logged, or failed")
    commands = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = commands.add_parser("list", help="entries waiting or failed")
    listing.add_argument("--all", action="store_true", help="also the done and skipped ones")
    listing.add_argument("--limit", type=int, default=200)
    listing.set_defaults(func=cmd_list)
    retry = commands.add_parser("retry", help="try failed or waiting entries again now")
    retry.add_argument("keys", nargs="*", metavar="KEY")
    retry.add_argument("--all", action="store_true", help="every failed or waiting entry")
    retry.set_defaults(func=cmd_retry)

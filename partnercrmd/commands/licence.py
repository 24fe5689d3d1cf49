"""`partnercrmd licence issue|install|show`: licence files for partners, and what licenses this user.

`issue` is the partner's side: it signs a licence file with the partner's
Ed25519 private key (PEM, see `partnercrmd partner keygen`). `install` checks
a licence file against the branding's public key and puts it where the
daemon reads it; `show` says how users are licensed and who is.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..branding import load_branding
from ..errors import ConfigError, NotFound
from ..licensing.http_provider import CACHE_KEY, CachedAnswer
from ..licensing.licence_file import FileProvider, issue_licence, licence_path, read_licence, seat_holders
from ..licensing.service import MODE_NAMES
from ..partner_keys import load_private_key
from ..paths import Paths
from ..vault import Vault


def cmd_issue(args: argparse.Namespace, paths: Paths) -> int:
    key_file = Path(args.key).expanduser()
    try:
        pem = key_file.read_bytes()
    except OSError as exc:
        raise NotFound(f"Cannot read the private key {key_file}: {exc.strerror}.") from None
    try:
        start = date.fromisoformat(args.start) if args.start else datetime.now(UTC).date()
    except ValueError:
        raise ConfigError(f"--from must be a date such as 2026-12-01, not {args.start[:20]!r}.") from None
    text = issue_licence(
        load_private_key(pem),
        args.licensee,
        users=tuple(args.user or ()),
        seats=args.seats or 0,
        valid_from=start,
        months=args.months,
    )
    if args.out:
        Path(args.out).expanduser().write_text(text, encoding="utf-8")
        print(f"Wrote the licence file {args.out}: {text.splitlines()[0].lstrip('# ')}")
    else:
        print(text, end="")
    return 0


def cmd_install(args: argparse.Namespace, paths: Paths) -> int:
    branding = load_branding(paths)
    source = Path(args.file).expanduser()
    licence = read_licence(branding.public_key, source)
    paths.ensure()
    target = licence_path(branding.licensing.licence_file, paths.config_dir)
    shutil.copyfile(source, target)
    print(f"Installed the licence of {licence.licensee} (until {licence.expires.isoformat()}) as {target}.")
    if branding.licensing.provider != "file":
        print(f"Note: {branding.product_name} is set up for '{branding.licensing.provider}' licensing, not files.")
    return 0


def cmd_show(args: argparse.Namespace, paths: Paths) -> int:
    branding = load_branding(paths)
    licensing = branding.licensing
    print(f"Licensing: {MODE_NAMES[licensing.provider]}")
    paths.ensure()
    vault = Vault.open(paths.config_dir)
    if licensing.provider == "development":
        print("Development mode: nobody is licensed and nothing is refused (for evaluation only).")
        return 0
    if licensing.provider == "http":
        print(
            f"Licensing service: {licensing.endpoint} (answers kept {licensing.cache_minutes} min, "
            f"grace {licensing.grace_hours} h)"
        )
        answers = vault.read().get(CACHE_KEY, {})
        for user_id, data in sorted(answers.items() if isinstance(answers, dict) else []):
            if args.user and user_id != args.user:
                continue
            answer = CachedAnswer.from_dict(data)
            checked = (
                datetime.fromtimestamp(answer.checked, UTC).strftime("%Y-%m-%d %H:%M UTC")
                if answer.checked
                else "never"
            )
            state = "licensed" if answer.licensed else "not licensed"
            unreachable = " (the service cannot be reached now)" if answer.failing_since else ""
            print(f"  {user_id}: {state} (last answer {checked}){unreachable}")
        return 0
    provider = FileProvider(licence_path(licensing.licence_file, paths.config_dir), branding.public_key, vault)
    provider.load()
    print(provider.describe())
    if provider.licence is None:
        return 1
    licence = provider.licence
    if licence.users:
        print(f"Licensed users: {', '.join(licence.users)}")
    else:
        holders = seat_holders(vault.read(), licence.id)
        print(f"Seats taken: {len(holders)} of {licence.seats}: {', '.join(holders) or 'none yet'}")
    if args.user:
        user = asyncio.run(provider.state(args.user))
        print(f"User {args.user}: {'licensed' if user.licensed else 'NOT licensed'}: {user.reason}")
        return 0 if user.licensed else 1
    return 0


def add_parser(sub: Any) -> None:
    licence = sub.add_parser("licence", help="licence files and who is licensed")
    commands = licence.add_subparsers(dest="licence_command", required=True)
    issue = commands.add_parser("issue", help="(partners) sign a licence file with your private key")
    issue.add_argument("--key", required=True, help="your Ed25519 private key (PEM file)")
    issue.add_argument("--licensee", required=True, help="the customer's name")
    who = issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", action="append", help="a licensed user id (repeat for more)")
    who.add_argument("--seats", type=int, help="license this many user ids, first come first served")
    issue.add_argument("--from", dest="start", help="first valid day, YYYY-MM-DD (default today)")
    issue.add_argument("--months", type=int, default=1, help="how many monthly periods (default 1)")
    issue.add_argument("--out", help="write the licence file here (default: print it)")
    issue.set_defaults(func=cmd_issue)
    install = commands.add_parser("install", help="check a licence file and install it for this user")
    install.add_argument("file")
    install.set_defaults(func=cmd_install)
    show = commands.add_parser("show", help="how users are licensed, and who is")
    show.add_argument("--user", help="check this user id")
    show.set_defaults(func=cmd_show)

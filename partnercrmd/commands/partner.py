"""`partnercrmd partner keygen|unlock-code` (the partner's side) and `partnercrmd unlock CODE` (the user's side).

The partner makes one Ed25519 key pair, keeps the private key and puts the
public key into the branding file; it then issues unlock codes for Controlled
integrations with the private key. Users enter a code in the Integrations page
or with `partnercrmd unlock`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..addin_host import create_host
from ..branding import load_branding
from ..errors import ConfigError, NotFound
from ..partner_keys import generate_private_key, load_private_key
from ..paths import Paths
from ..unlock import issue_code, redeem_code
from ..vault import Vault


def cmd_keygen(args: argparse.Namespace, paths: Paths) -> int:
    target = Path(args.out).expanduser()
    if target.exists() and not args.force:
        raise ConfigError(f"{target} exists already; give --force to replace it (codes issued with it stop working).")
    pem, public = generate_private_key()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(pem)
    os.chmod(target, 0o600)  # an existing file keeps its old mode through O_TRUNC
    print(f"Wrote the private key to {target} (mode 0600): keep it secret, never ship it.")
    print("Put this line in the [keys] table of your branding file:")
    print(f'public_key = "{public}"')
    return 0


def cmd_unlock_code(args: argparse.Namespace, paths: Paths) -> int:
    key_file = Path(args.private_key).expanduser()
    try:
        pem = key_file.read_bytes()
    except OSError as exc:
        raise NotFound(f"Cannot read the private key {key_file}: {exc.strerror}.") from None
    print(issue_code(load_private_key(pem), args.integrations, code_id=args.id or ""))
    return 0


def cmd_unlock(args: argparse.Namespace, paths: Paths) -> int:
    paths.ensure()
    branding = load_branding(paths)
    vault = Vault.open(paths.config_dir)
    unlocked = redeem_code(vault, create_host(), branding, args.code)
    names = ", ".join(f"{i.name} ({i.id})" for i in unlocked)
    print(f"Unlocked: {names}. A running {branding.product_name} shows it at once.")
    return 0


def add_parser(sub: Any) -> None:
    partner = sub.add_parser("partner", help="for partners: make the signing key and issue unlock codes")
    partner_sub = partner.add_subparsers(dest="partner_command", required=True)
    keygen = partner_sub.add_parser("keygen", help="make an Ed25519 key pair; prints the branding file's public key")
    keygen.add_argument("--out", required=True, help="where to write the private key (PEM, mode 0600)")
    keygen.add_argument("--force", action="store_true", help="replace an existing key file")
    keygen.set_defaults(func=cmd_keygen)
    code = partner_sub.add_parser("unlock-code", help="print a signed code unlocking Controlled integrations")
    code.add_argument("--private-key", required=True, metavar="FILE", help="the PEM file `partner keygen` wrote")
    code.add_argument("--id", help="your reference for this code (default: a random one)")
    code.add_argument("integrations", nargs="+", metavar="INTEGRATION", help="integration ids the code unlocks")
    code.set_defaults(func=cmd_unlock_code)

    unlock = sub.add_parser("unlock", help="enter an unlock code for Controlled integrations")
    unlock.add_argument("code", help="the code your provider gave you")
    unlock.set_defaults(func=cmd_unlock)

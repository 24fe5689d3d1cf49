"""`partnercrmd tls status|install|uninstall [--delete]`: the local HTTPS authority and the user's trust stores.

`install` makes what is missing (the authority, the localhost certificate; partnercrmd/tls.py) and adds the
authority to the user's trust stores (partnercrmd/platform/trust_store.py); `uninstall` takes it out again
and, with `--delete`, removes the authority's files. `status` exits 1 unless the authority exists and every
trust store holds it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..paths import Paths
from .common import product_name

if TYPE_CHECKING:
    from ..platform.trust_store import TrustStore
    from ..tls import Authority, TlsFiles


def _store(authority: Authority) -> TrustStore:
    from ..platform import trust_store

    return trust_store.for_platform(nickname=authority.store_name)


def _date(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%d %H:%M UTC"))


def _daemon_https(paths: Paths) -> str:
    """What the running daemon serves, in a line."""
    from ..discovery import NotRunning, read_discovery

    try:
        info = read_discovery(paths.discovery_file)
    except NotRunning:
        return "The daemon is not running."
    if info["https_port"]:
        return f"The daemon serves https://localhost:{info['https_port']}/ (and http://127.0.0.1:{info['port']}/)."
    return f"The daemon serves plain HTTP only (http://127.0.0.1:{info['port']}/); HTTPS starts when it restarts."


def _print_holders(store: TrustStore, files: TlsFiles) -> list[bool]:
    """Print each trust store and whether it holds the authority; whether each does."""
    from ..platform import run_tool

    held = store.holders(files.authority, run_tool)
    for place, holds in held:
        print(f"  {place}: {'trusts it' if holds else 'does not trust it'}")
    return [holds for _, holds in held]


def cmd_status(paths: Paths) -> int:
    from .. import tls

    files = tls.TlsFiles.of(paths)
    authority = tls.read_authority(files)
    if authority is None:
        print("There is no local authority yet: `partnercrmd tls install` makes one and has your browsers trust it.")
        print(_daemon_https(paths))
        return 1
    certificate = authority.certificate
    print(f"Local authority: {authority.name}, valid until {_date(certificate.not_valid_after_utc)}")
    print(f"  SHA-256 fingerprint: {tls.fingerprint(certificate)}")
    print(f"  certificate: {files.authority}")
    leaf = tls.read_certificate(files.leaf)
    if leaf is None:
        print("Certificate for localhost: none yet (made at the daemon's next start with HTTPS).")
    else:
        print(
            f"Certificate for localhost, 127.0.0.1 and ::1: valid until {_date(leaf.not_valid_after_utc)}, "
            f"renewed from {_date(tls.renewal_date(leaf))}"
        )
    print(_daemon_https(paths))
    print("Trust stores:")
    return 0 if all(_print_holders(_store(authority), files)) else 1


def cmd_install(paths: Paths) -> int:
    from .. import tls
    from ..platform import run_tool, trust_store

    trust_store.check_tool(trust_store.for_platform())  # before anything is made: nothing half-done
    paths.ensure()
    files = tls.TlsFiles.of(paths)
    made = tls.ensure_certificates(files, product_name(paths), tls.utc_now(), create=True)
    store = _store(made.authority)
    for line in store.prepare(run_tool):
        print(line)
    trust_store.trust(store, files.authority)
    print(f"Local authority: {made.authority.name} ({tls.fingerprint(made.authority.certificate)})")
    print("Trust stores:")
    if not all(_print_holders(store, files)):
        raise trust_store.TrustStoreFailed("A trust store did not take the authority (listed above).")
    print(_daemon_https(paths))
    return 0


def cmd_uninstall(paths: Paths, delete: bool) -> int:
    from .. import tls
    from ..platform import trust_store

    files = tls.TlsFiles.of(paths)
    authority = tls.read_authority(files)
    if authority is None:
        print("There is no local authority: no trust store holds it.")
    else:
        store = _store(authority)
        trust_store.check_tool(store)
        trust_store.distrust(store, files.authority)
        print("Trust stores:")
        if any(_print_holders(store, files)):
            raise trust_store.TrustStoreFailed("A trust store still holds the authority (listed above).")
    if delete:
        for path in tls.delete_files(files):
            print(f"Removed {path}")
        print("A daemon still running serves HTTPS until it stops; from its next start it serves plain HTTP only.")
    return 0


def cmd_tls(args: argparse.Namespace, paths: Paths) -> int:
    if args.tls_command == "install":
        return cmd_install(paths)
    if args.tls_command == "uninstall":
        return cmd_uninstall(paths, args.delete)
    return cmd_status(paths)


def add_parser(sub: Any) -> None:
    tls = sub.add_parser("tls", help="the local HTTPS authority and whether your browsers trust it")
    tls_sub = tls.add_subparsers(dest="tls_command", required=True)
    tls_sub.add_parser("status", help="the authority, the localhost certificate, which trust stores hold it")
    tls_sub.add_parser("install", help="make the authority (if missing) and add it to your trust stores")
    uninstall = tls_sub.add_parser("uninstall", help="take the authority out of your trust stores")
    uninstall.add_argument("--delete", action="store_true", help="and delete the authority's files")
    tls.set_defaults(func=cmd_tls)

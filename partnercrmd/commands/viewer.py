"""`partnercrmd viewer export DIR`: the CRM viewer as static HTML for the partner's web site."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..addin_host import create_host
from ..branding import load_branding
from ..paths import Paths
from ..ui.viewer import export_viewer, exported_integrations


def cmd_viewer(args: argparse.Namespace, paths: Paths) -> int:
    branding = load_branding(paths)
    host = create_host()
    target = Path(args.dir).expanduser()
    written = export_viewer(host, branding, target)
    count = len(exported_integrations(host, branding))
    print(f"Wrote the {branding.product_name} CRM viewer ({count} integrations) to {target}: {len(written)} files.")
    return 0


def add_parser(sub: Any) -> None:
    viewer = sub.add_parser("viewer", help="the CRM viewer: supported integrations and their capabilities")
    viewer_sub = viewer.add_subparsers(dest="viewer_command", required=True)
    export = viewer_sub.add_parser("export", help="write it as static HTML (index.html and its files) into DIR")
    export.add_argument("dir", metavar="DIR")
    viewer.set_defaults(func=cmd_viewer)

"""`partnercrmd ui [PAGE]`: open the configuration pages from a terminal.

Asks the running daemon for a one-time login address (`ShowWindow` with the install token, nothing opened
by the daemon), opens it in the browser of this terminal's session and prints it (`--print`: only prints).
A light command: the discovery file, the standard library's HTTP client and `webbrowser` (web_browser.py).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..paths import Paths
from ..web_browser import open_page
from .dial import post_to_daemon

DEFAULT_PAGE = "configuration"
PAGES_HELP = "configuration (the default), integrations, dialling, viewer, about, callhistory, api"
"""For the help only: the daemon checks the page (its `ShowWindow` list), so a newer daemon's pages work too."""


def cmd_ui(args: argparse.Namespace, paths: Paths) -> int:
    answer = post_to_daemon(
        paths, "ShowWindow", {"window": args.page.lower()[:40], "OpenBrowser": "false", "CanShowUrl": "true"}
    )
    url = str(answer["Url"])
    expires = int(answer.get("ExpiresInSeconds", 120))
    if args.print:
        print(url)
        print(f"(a one-time address: it works once, within {expires} s)", file=sys.stderr)
        return 0
    if open_page(url):
        print(f"Opened in your web browser: {url}")
    else:
        print(
            f"No web browser could be opened here; open this address in one (it works once, within {expires} s):\n{url}"
        )
    return 0


def add_parser(sub: Any) -> None:
    ui = sub.add_parser("ui", help="open the configuration pages in the web browser (the daemon must be running)")
    ui.add_argument("page", nargs="?", default=DEFAULT_PAGE, help=f"which page: {PAGES_HELP}")
    ui.add_argument("--print", action="store_true", help="only print the one-time address, open nothing")
    ui.set_defaults(func=cmd_ui)

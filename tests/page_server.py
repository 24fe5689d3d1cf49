"""A web page of another origin than the daemon's: a folder served on a free port of 127.0.0.1, in a thread.

Browser tests of web origins (CORS, Private Network Access, WebSocket origins) open such a page in Chromium
and let it call the daemon. A thread of the standard library's server, not an aiohttp app: the test's own
thread runs Playwright's event loop.
"""

from __future__ import annotations

import functools
import http.server
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext


class _QuietPageHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files of one folder (index.html for "/"; .mjs as JavaScript, as modules need) without logging."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.extensions_map = {**self.extensions_map, ".mjs": "text/javascript"}
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class PageServer:
    """A running page server; `origin` is what the page's requests carry in their Origin header."""

    server: http.server.ThreadingHTTPServer
    scheme: str = "http"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_pages(folder: Path, context: ssl.SSLContext | None = None) -> PageServer:
    """Serve `folder` on a free port of its own until `close()`; over HTTPS with `context` (a server context)."""
    handler = functools.partial(_QuietPageHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, name=f"pages-{folder.name}", daemon=True).start()
    return PageServer(server, "https" if context is not None else "http")


def with_local_network_access(browser: Browser, origin: str) -> BrowserContext:
    """A profile in which the user granted `origin` Local Network Access (Chromium's successor of PNA)."""
    context = browser.new_context()
    page = context.new_page()
    target = context.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]
    session = browser.new_browser_cdp_session()
    for permission in ("local-network-access", "loopback-network"):  # the names Chromium 156 knows
        session.send(
            "Browser.setPermission",
            {
                "permission": {"name": permission},
                "setting": "granted",
                "origin": origin,
                "browserContextId": target["browserContextId"],
            },
        )
    # The session stays attached (a grant ends with it) and the tab stays: the page may open in it.
    return context

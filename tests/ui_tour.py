"""A tour of every page of the configuration UI in Chromium, for what must visit them all (axe-core, screenshots).

`UiDaemon` is a real `partnercrmd serve`, branded when asked, whose "browser" (BROWSER) writes each URL
it is asked to open to a file; `login` asks it to open the pages (ShowWindow) and follows the one-time
link in a Playwright context. `tour` then walks every page reachable by links from the pages' navigation
(GET only; downloads, files and logging out left out), so pages other people add are visited without
being listed here.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize
from playwright.sync_api import Error as PlaywrightError

from tests.daemon_process import Daemon
from tests.recording_browser import RecordingBrowser

NOT_PAGES = re.compile(r"/(logout|login)\b|/download/|/diagnostics$|\.(zip|png|jpe?g|svg|ico|css|js|json|vcf)$")
"""Links the tour does not follow: logging in or out, downloads and files."""
START = ("/ui/integrations", "/ui/configuration", "/extension/")
RECORD_ID = re.compile(r"/[0-9a-f]{16,}(?=/|$|\?)")
"""A generated id in a path (a contact's): pages that differ only by one are the same page, visited once."""


@dataclass
class UiDaemon:
    """A daemon for touring the pages, and its "browser", which writes down the login links it is given."""

    daemon: Daemon
    app_id: str
    recorder: RecordingBrowser

    @classmethod
    def start(cls, base: Path, branding: str = "", extra_env: dict[str, str] | None = None) -> UiDaemon:
        """Start one under `base` (`branding`: the text of a branding.toml, or '' for the unbranded product)."""
        recorder = RecordingBrowser.create(base)
        env = {
            **recorder.env,
            "XDG_DATA_HOME": str(base / "xdg-data"),
            "XDG_CONFIG_HOME": str(base / "xdg-config"),
            **(extra_env or {}),
        }
        if branding:
            (base / "branding.toml").write_text(branding, encoding="utf-8")
            env["PARTNERCRMD_BRANDING"] = str(base / "branding.toml")
        daemon = Daemon(base / "home", extra_env=env).start()
        return cls(daemon, daemon.register_trusted("UI tour"), recorder)

    def close(self) -> None:
        self.daemon.close()

    def login(self, browser: Browser, viewport: ViewportSize, window: str = "integrations") -> Page:
        """A new context, logged in through the one-time link ShowWindow gave the "browser"; its first page.

        Scripts may be injected into the pages (their CSP is bypassed in this context only).
        """
        link = self.recorder.login_link(self.daemon, self.app_id, window)
        context: BrowserContext = browser.new_context(viewport=viewport, bypass_csp=True)
        page = context.new_page()
        page.goto(link)
        return page


def origin_of(page: Page) -> str:
    url = urllib.parse.urlsplit(page.url)
    return f"{url.scheme}://{url.netloc}"


def _links_on(page: Page) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))")
    paths = []
    for href in hrefs:
        url = urllib.parse.urlsplit(href)
        if not url.scheme and not url.netloc and url.path.startswith("/") and not NOT_PAGES.search(url.path):
            paths.append(url.path + (f"?{url.query}" if url.query else ""))
    return paths


def shape(path: str) -> str:
    """The page a path shows: /ui/contacts/local/contact/<id> -> /ui/contacts/local/contact/id."""
    return RECORD_ID.sub("/id", path)


def tour(page: Page, start: tuple[str, ...] = START) -> Iterator[str]:
    """Go to every page reachable from `start` by links, one after the other; yields each path once it is shown.

    Of pages that differ only by a record's id (each contact's), the first one found stands for all.
    """
    origin = origin_of(page)
    seen: set[str] = set()
    queue = list(start)
    while queue:
        path = queue.pop(0)
        if shape(path) in seen:
            continue
        seen.add(shape(path))
        try:
            response = page.goto(origin + path)
        except PlaywrightError as error:  # a link to a download (an export): not a page
            if "Download is starting" in str(error):
                continue
            raise
        if response is None or not (response.headers.get("content-type") or "").startswith("text/html"):
            continue
        yield path
        queue.extend(p for p in _links_on(page) if shape(p) not in seen)


def page_name(path: str) -> str:
    """A file name for a page: /ui/books/local -> books-local, /extension/install/edge -> extension-install-edge."""
    name = re.sub(r"[^a-z0-9]+", "-", shape(path).removeprefix("/ui/").lower()).strip("-")
    return name or "index"

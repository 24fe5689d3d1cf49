"""Helpers for the browser-extension tests: local test pages, the daemon's events, the extension's pages.

The pages are served by a small local HTTP server (the extension's content
script runs on http pages); the daemon is a real `partnercrmd serve` process
(tests/daemon_process.py); the extension is the shipped package of each
browser (tests/extension_browsers.py: Chromium through Playwright, Firefox
ESR over WebDriver BiDi), and these helpers work on either.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from playwright.sync_api import BrowserContext, Page, Worker

from .daemon_process import Daemon
from .extension_browsers import ExtensionBrowser, PlaywrightTab, Tab, unpack_package

EVENT_WAIT = 10.0


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


@contextmanager
def page_server(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="test-pages", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class EventListener:
    """A WebSocket client of the daemon's events in a thread of its own; events arrive in `events`."""

    def __init__(self, daemon: Daemon, app_id: str) -> None:
        self.url = daemon.url(f"events/{app_id}").replace("http://", "ws://")
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="daemon-events", daemon=True)

    def __enter__(self) -> EventListener:
        self._thread.start()
        if not self._ready.wait(EVENT_WAIT) or self._error is not None:
            raise AssertionError(f"could not connect to {self.url}: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._listen())
        except BaseException as exc:  # noqa: BLE001  (reported to the test by __enter__ or wait_for)
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _listen(self) -> None:
        self._stop = asyncio.Event()
        async with aiohttp.ClientSession() as session, session.ws_connect(self.url) as ws:
            self._ready.set()
            stop = asyncio.ensure_future(self._stop.wait())
            while not self._stop.is_set():
                receive = asyncio.ensure_future(ws.receive())
                done, _ = await asyncio.wait({receive, stop}, return_when=asyncio.FIRST_COMPLETED)
                if receive not in done:
                    receive.cancel()
                    break
                message = receive.result()
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                self.events.put(json.loads(message.data))
            stop.cancel()

    def wait_for(self, kind: str, timeout: float = EVENT_WAIT) -> dict[str, Any]:
        """The next event of type `kind` (others are skipped); AssertionError if none comes in time."""
        try:
            while True:
                event = self.events.get(timeout=timeout)
                if event.get("EventType") == kind:
                    return event
        except queue.Empty:
            raise AssertionError(f"no {kind} event within {timeout:g} s") from None

    def none_of(self, kind: str, within: float) -> list[dict[str, Any]]:
        """Every `kind` event that arrives within `within` seconds (a test expecting none asserts it is [])."""
        seen = []
        try:
            while True:
                event = self.events.get(timeout=within)
                if event.get("EventType") == kind:
                    seen.append(event)
        except queue.Empty:
            return seen


def big_page(contained: bool = True) -> str:
    """About 5 MB of text: 25,000 paragraphs with dates, prices and ids, and a phone number in every tenth.

    Paragraphs come in sections of 100. A contained page marks them `content-visibility: auto`, as long pages
    do so the browser lays out only what is on screen; on an uncontained one every DOM change (by anyone) costs
    a layout of the whole 5 MB.
    """
    rows = []
    for i in range(25_000):
        number = f" Call 020 7946 {i % 1000:04d} for the team." if i % 10 == 0 else ""
        rows.append(
            f"<p>Paragraph {i}: the quarterly report of 2024-03-{1 + i % 28:02d} lists £{i},000.00 in orders "
            f"for customer {100000 + i} and account {i * 7}; the lorem ipsum dolor sit amet, consectetur adipiscing "
            f"elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.{number}</p>"
        )
    body = "\n".join("<section>" + "\n".join(rows[i : i + 100]) + "</section>" for i in range(0, len(rows), 100))
    style = "section { content-visibility: auto; contain-intrinsic-size: auto 3000px; }" if contained else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Big</title>
<style>{style}</style>
<script>
window.longTasks = [];
window.maxLag = 0;
window.lags = [];
new PerformanceObserver((list) => {{
  for (const entry of list.getEntries()) window.longTasks.push({{start: entry.startTime, duration: entry.duration}});
}}).observe({{type: "longtask"}});
addEventListener("load", () => {{
  let last = performance.now();
  window.lagSince = last;
  setInterval(() => {{
    const now = performance.now();
    window.maxLag = Math.max(window.maxLag, now - last - 5);
    if (now - last - 5 > 50) window.lags.push({{at: last, lag: now - last - 5}});
    last = now;
  }}, 5);
}});
</script></head><body>
{body}
</body></html>
"""


def unpack_chromium_package(target: Path) -> Path:
    """The shipped Chromium package, unzipped into `target` (bench/extension_bench.py loads it into Playwright)."""
    return unpack_package("chromium", target)


def service_worker(context: BrowserContext) -> Worker:
    """The Chromium extension's service worker (waiting for it to start if it has not yet)."""
    for worker in context.service_workers:
        if worker.url.startswith("chrome-extension://"):
            return worker
    worker = context.wait_for_event("serviceworker", timeout=15_000)
    assert worker.url.startswith("chrome-extension://"), worker.url
    return worker


def wait_scanned(tab: Tab | Page, timeout: float = 30_000) -> int:
    """Wait until the content script has no work left on the page; the number of links it made."""
    if isinstance(tab, Page):
        tab = PlaywrightTab(tab)
    tab.wait_for("document.documentElement.dataset.partnercrmdLinked !== undefined", timeout=timeout)
    return int(tab.evaluate("document.documentElement.dataset.partnercrmdLinked"))


def linked_numbers(tab: Tab, selector: str = "body") -> list[str]:
    """E.164 numbers of the links the extension made inside `selector` (shadow roots too), in page order."""
    numbers: list[str] = tab.evaluate(
        """(selector) => {
        const found = [];
        const visit = (root) => {
            if (root.shadowRoot) visit(root.shadowRoot);
            for (const el of root.querySelectorAll('*')) {
                if (el.matches('a.partnercrmd-dial')) found.push(el.dataset.partnercrmdNumber);
                if (el.shadowRoot) visit(el.shadowRoot);
            }
        };
        visit(document.querySelector(selector));
        return found;
    }""",
        selector,
    )
    return numbers


def text_of(tab: Tab, selector: str) -> str:
    """The rendered text of the first element matching `selector`."""
    return str(tab.evaluate("(s) => document.querySelector(s).innerText", selector))


def attribute(tab: Tab, selector: str, name: str) -> str | None:
    """An attribute of the first element matching `selector`."""
    value = tab.evaluate("([s, n]) => document.querySelector(s).getAttribute(n)", [selector, name])
    return None if value is None else str(value)


def set_value(tab: Tab, selector: str, value: str | bool) -> None:
    """Set a form field (a checkbox when `value` is a bool) as typing would, with its input event."""
    tab.evaluate(
        """([s, v]) => {
        const field = document.querySelector(s);
        if (typeof v === 'boolean') field.checked = v; else field.value = v;
        field.dispatchEvent(new Event('input', {bubbles: true}));
        field.dispatchEvent(new Event('change', {bubbles: true}));
    }""",
        [selector, value],
    )


def open_options(browser: ExtensionBrowser) -> Tab:
    """The extension's options page, once it has read its state."""
    tab = browser.open(f"{browser.extension_origin}/options.html")
    tab.wait_for("document.getElementById('status').textContent !== 'Checking…'")
    return tab


def extension_state(browser: ExtensionBrowser, expression: str) -> Any:
    """An expression evaluated in an extension page (`ext` is chrome or browser; promises awaited)."""
    options = browser.open(f"{browser.extension_origin}/options.html")
    try:
        return options.evaluate(
            f"async () => {{ const ext = globalThis.browser || globalThis.chrome; return ({expression}); }}"
        )
    finally:
        options.close()


def badge_text(browser: ExtensionBrowser) -> str:
    return str(extension_state(browser, "await ext.action.getBadgeText({})"))


def stored(browser: ExtensionBrowser, key: str) -> Any:
    return extension_state(browser, f"(await ext.storage.local.get({json.dumps(key)}))[{json.dumps(key)}]")


def pair(browser: ExtensionBrowser, port: int, code: str) -> tuple[bool, str]:
    """Enter port and code in the options page and press Pair; (success, the message shown).

    With an empty code a paired extension only moves to the port.
    """
    options = open_options(browser)
    try:
        set_value(options, "#port", str(port))
        set_value(options, "#code", code)
        options.evaluate(
            "(el => { el.textContent = ''; delete el.dataset.ok; })(document.getElementById('pair-message'))"
        )
        options.click("#pair")
        options.wait_for(
            "['true', 'false'].includes(document.getElementById('pair-message').dataset.ok)"
            " && !['', 'Pairing…', 'Checking…'].includes(document.getElementById('pair-message').textContent)"
        )
        ok = attribute(options, "#pair-message", "data-ok") == "true"
        return ok, text_of(options, "#pair-message")
    finally:
        options.close()


# --- what blocked the page: Chromium's trace --------------------------------------------------------------------

TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "toplevel", "blink.user_timing"]


class RendererTrace:
    """Chromium's trace of a page's renderer: how long each task of its main thread ran on a CPU.

    A page measures wall-clock time: on a busy machine a task that worked 3 ms can take 120 ms because the
    renderer waited for a CPU. The trace's `tdur` (thread time) tells blocking work from waiting.
    """

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.session = context.new_cdp_session(page)
        self.events: list[dict[str, Any]] = []
        self._complete = threading.Event()
        self.session.on("Tracing.dataCollected", lambda params: self.events.extend(params["value"]))
        self.session.on("Tracing.tracingComplete", lambda params: self._complete.set())

    def start(self) -> None:
        self.session.send(
            "Tracing.start",
            {"traceConfig": {"includedCategories": TRACE_CATEGORIES}, "transferMode": "ReportEvents"},
        )

    def stop(self, page: Page) -> None:
        self.session.send("Tracing.end")
        for _ in range(300):  # events arrive while Playwright is waiting on something
            if self._complete.is_set():
                return
            page.wait_for_timeout(100)
        raise AssertionError("Chromium did not finish its trace within 30 s")

    def mark(self, name: str) -> dict[str, Any]:
        marks = [e for e in self.events if e.get("name") == name and e.get("cat") == "blink.user_timing"]
        assert len(marks) == 1, f"{len(marks)} trace marks named {name!r}"
        return marks[0]

    def tasks(self, start_mark: str, end_mark: str) -> list[tuple[float, float, float]]:
        """(start, wall ms, CPU ms) of the page's main-thread tasks between two marks, start in page time (ms)."""
        start, end = self.mark(start_mark), self.mark(end_mark)
        offset_us = start["ts"] - start["args"]["data"]["startTime"] * 1000
        return [
            ((e["ts"] - offset_us) / 1000, e["dur"] / 1000, e["tdur"] / 1000)
            for e in self.events
            if e.get("ph") == "X"
            and e.get("name") == "RunTask"
            and (e["pid"], e["tid"]) == (start["pid"], start["tid"])
            and "tdur" in e
            and e["ts"] + e["dur"] > start["ts"]
            and e["ts"] < end["ts"]
        ]

"""One surface over the browsers the extension's tests run in: Chromium (Playwright) and Firefox ESR (WebDriver BiDi).

The scenarios in tests/test_browser_extension.py are written once against
`ExtensionBrowser` and `Tab` and run in each browser: a tab evaluates
JavaScript in the page (a function source is called with one JSON argument),
waits for a condition, and clicks the way a user does (a trusted click:
Playwright's mouse, BiDi's input.performActions). Extension state (badge,
storage) is read from the extension's own options page, which both browsers
let the tests open.
"""

from __future__ import annotations

import json
import re
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any, Protocol

from playwright.sync_api import BrowserContext, Frame, Page, Playwright

from partnercrmd.extension_pages import package_path

from .browser_session import launch_with_extension
from .firefox_bidi import FirefoxBiDi, deserialise

FIREFOX_ADDON_ID = "click-to-dial@partnercrmd.invalid"  # extension/manifests/firefox.json
WAIT_MS = 30_000
PAGE_LOAD_TIMEOUT = 180.0  # seconds: the 5 MB page on a busy machine


_FUNCTION = re.compile(r"\s*(?:async\s+)?(?:function\b|\([^()]*\)\s*=>|\w+\s*=>|\(\[[^()]*\]\)\s*=>)")


def _is_function(source: str) -> bool:
    """Whether `source` is a function to call (else an expression to evaluate), as Playwright tells them apart."""
    return _FUNCTION.match(source) is not None


class Tab(Protocol):
    """A page (or frame) in the browser under test."""

    @property
    def url(self) -> str: ...

    def evaluate(self, source: str, arg: Any = None) -> Any:
        """The value of an expression, or of a function called with `arg` (JSON); promises are awaited."""

    def wait_for(self, source: str, arg: Any = None, timeout: float = WAIT_MS) -> None:
        """Wait until the expression (or function of `arg`) is truthy; AssertionError after `timeout` ms."""

    def click(self, selector: str) -> None:
        """Click the first element matching `selector` as the user would (a trusted event)."""

    def frame(self, url: str) -> Tab:
        """The frame of this page whose document is at `url`."""

    def close(self) -> None: ...


class ExtensionBrowser(Protocol):
    """A browser with the shipped extension package loaded."""

    name: str
    """"chromium" or "firefox": the browser the daemon's extension list names (Browser extension (Chromium))."""

    @property
    def extension_origin(self) -> str: ...

    def open(self, url: str) -> Tab:
        """A new tab showing `url` (loaded)."""

    def close(self) -> None: ...


def unpack_package(engine: str, target: Path) -> Path:
    """The shipped package for `engine` (the file `pip install` installs), unzipped into `target`."""
    with zipfile.ZipFile(package_path(engine)) as package:
        package.extractall(target)
    return target


# --- Chromium: Playwright ------------------------------------------------------------------------------------------


class PlaywrightTab:
    """A Playwright page or frame as a `Tab`."""

    def __init__(self, target: Page | Frame) -> None:
        self.target = target

    @property
    def url(self) -> str:
        return self.target.url

    def evaluate(self, source: str, arg: Any = None) -> Any:
        if _is_function(source):
            return self.target.evaluate(source, arg)
        return self.target.evaluate(source)

    def wait_for(self, source: str, arg: Any = None, timeout: float = WAIT_MS) -> None:
        function = source if _is_function(source) else f"() => ({source})"
        self.target.wait_for_function(function, arg=arg, timeout=timeout)

    def click(self, selector: str) -> None:
        self.target.click(selector)

    def frame(self, url: str) -> Tab:
        page = self.target if isinstance(self.target, Page) else self.target.page
        return PlaywrightTab(next(f for f in page.frames if f.url == url))

    def close(self) -> None:
        if isinstance(self.target, Page):
            self.target.close()


class ChromiumBrowser:
    """Debian's Chromium with the Chromium package loaded unpacked (Playwright, a persistent profile)."""

    name = "chromium"

    def __init__(self, playwright: Playwright, root: Path) -> None:
        extension = unpack_package("chromium", root / "extension")
        self.context: BrowserContext = launch_with_extension(playwright, extension, root / "profile")
        worker = next((w for w in self.context.service_workers if w.url.startswith("chrome-extension://")), None)
        if worker is None:
            worker = self.context.wait_for_event("serviceworker", timeout=15_000)
        self._origin = worker.url.rsplit("/", 1)[0]

    @property
    def extension_origin(self) -> str:
        return self._origin

    def open(self, url: str) -> Tab:
        page = self.context.new_page()
        page.goto(url)
        return PlaywrightTab(page)

    def close(self) -> None:
        self.context.close()


# --- Firefox ESR: WebDriver BiDi ----------------------------------------------------------------------------------


# The element a click selector names, in the document or else in its open shadow roots (as Playwright finds it).
CLICK_TARGET = """(selector) => {
    const find = (root) => {
        const found = root.querySelector(selector);
        if (found) return found;
        for (const element of root.querySelectorAll('*')) {
            const inner = element.shadowRoot && find(element.shadowRoot);
            if (inner) return inner;
        }
        return null;
    };
    const element = find(document);
    if (element) element.scrollIntoView({block: 'center'});
    return element;
}"""


class BiDiTab:
    """A Firefox browsing context (a tab or a frame in one) as a `Tab`."""

    def __init__(self, firefox: FirefoxBiDi, context: str, top: bool = True) -> None:
        self.firefox, self.context, self.top = firefox, context, top

    @property
    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def evaluate(self, source: str, arg: Any = None) -> Any:
        function = source if _is_function(source) else f"() => ({source})"
        result = self.firefox.command(
            "script.callFunction",
            {
                "functionDeclaration": f"(json) => ({function})(JSON.parse(json))",
                "arguments": [{"type": "string", "value": json.dumps(arg)}],
                "target": {"context": self.context},
                "awaitPromise": True,
                "userActivation": False,
            },
            timeout=120,
        )
        if result["type"] == "exception":
            details = result["exceptionDetails"]
            raise AssertionError(f"JavaScript error in {self.context}: {details.get('text')}")
        return deserialise(result["result"])

    def wait_for(self, source: str, arg: Any = None, timeout: float = WAIT_MS) -> None:
        deadline = time.monotonic() + timeout / 1000
        while True:
            try:
                if self.evaluate(source, arg):
                    return
            except AssertionError:
                pass  # a page being replaced by another: try again
            if time.monotonic() > deadline:
                raise AssertionError(f"{source!r} did not become true within {timeout / 1000:g} s")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        found = self.firefox.command(
            "script.callFunction",
            {
                "functionDeclaration": CLICK_TARGET,
                "arguments": [{"type": "string", "value": selector}],
                "target": {"context": self.context},
                "awaitPromise": False,
                "resultOwnership": "root",
            },
        )
        element = found["result"]
        assert element.get("sharedId"), f"no element matches {selector!r}"
        origin = {"type": "element", "element": {"sharedId": element["sharedId"]}}
        self.firefox.command(
            "input.performActions",
            {
                "context": self.context,
                "actions": [
                    {
                        "type": "pointer",
                        "id": "mouse",
                        "parameters": {"pointerType": "mouse"},
                        "actions": [
                            {"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
                            {"type": "pointerDown", "button": 0},
                            {"type": "pointerUp", "button": 0},
                        ],
                    }
                ],
            },
        )

    def frame(self, url: str) -> Tab:
        tree = self.firefox.command("browsingContext.getTree", {"root": self.context})
        children = tree["contexts"][0].get("children") or []
        match = next((c for c in children if c["url"] == url), None)
        assert match is not None, f"no frame at {url}: {[c['url'] for c in children]}"
        return BiDiTab(self.firefox, match["context"], top=False)

    def close(self) -> None:
        if self.top:
            self.firefox.command("browsingContext.close", {"context": self.context})


class FirefoxBrowser:
    """Debian's Firefox ESR with the Firefox package installed as a temporary add-on (webExtension.install)."""

    name = "firefox"

    def __init__(self, root: Path) -> None:
        extension = unpack_package("firefox", root / "extension")
        self.host = str(uuid.uuid4())
        self.firefox = FirefoxBiDi(root / "profile", extension_uuids={FIREFOX_ADDON_ID: self.host})
        try:
            installed = self.firefox.command(
                "webExtension.install", {"extensionData": {"type": "path", "path": str(extension)}}
            )
            assert installed["extension"] == FIREFOX_ADDON_ID, installed
        except BaseException:
            self.firefox.close()
            raise

    @property
    def extension_origin(self) -> str:
        return f"moz-extension://{self.host}"

    def open(self, url: str) -> Tab:
        created = self.firefox.command("browsingContext.create", {"type": "tab"})
        context = created["context"]
        navigate = {"context": context, "url": url, "wait": "complete"}
        self.firefox.command("browsingContext.navigate", navigate, timeout=PAGE_LOAD_TIMEOUT)
        return BiDiTab(self.firefox, context)

    def close(self) -> None:
        self.firefox.close()

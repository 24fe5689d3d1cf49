"""Debian's Chromium driven by Playwright, for the configuration UI and browser-extension tests.

Playwright's own browser download cannot run here (no network for it): the
tests use `/usr/bin/chromium` from Debian, which `scripts/test.sh` installs.
The flags keep Chromium from reaching out to Google's hosts at start.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API, for one test module at a time.

    While it is started it keeps an asyncio event loop running in the main thread, so no async
    (pytest-asyncio) test can run: a session-wide driver broke every async test after the first
    browser module. Stopping it at the end of each module gives the main thread back.
    """
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the module; give each test its own `browser.new_context()`."""
    instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


def launch_with_extension(playwright: Playwright, extension_dir: Path, user_data_dir: Path) -> BrowserContext:
    """A persistent Chromium context with an unpacked extension loaded (extensions need a persistent profile)."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--disable-extensions-except={extension_dir}", f"--load-extension={extension_dir}"],
    )

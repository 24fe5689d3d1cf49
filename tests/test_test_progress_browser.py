"""Acceptance (issue #17): Test on a server that accepts connections and never answers, in Debian's Chromium.

A real `partnercrmd serve`; a CardDAV book pointed at a TCP server of this test that accepts every
connection and never sends a byte; the pages opened through `partnercrmd ui --print`. The first step is on
screen within 1 s, the verdict by the 20 s limit the page announces, and the list then shows the failure,
not "Ready". The same with JavaScript switched off: the page is a plain result page.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from partnercrmd.ui.integrations import TEST_TIME_LIMIT
from tests.daemon_process import Daemon, describe, run_cli, wait_until

BOOK = "Hanging CardDAV"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers; its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, silent_server: int) -> Iterator[Daemon]:
    instance = Daemon(tmp_path_factory.mktemp("test-progress") / "home")
    try:
        instance.start()
        added = run_cli(
            instance.home,
            "books",
            "add",
            "carddav",
            "--set",
            f"name={BOOK}",
            "--set",
            f"url=http://127.0.0.1:{silent_server}/dav/",
            "--set",
            "username=alex",
            "--set",
            "password=not-used",
            "--no-check",
        )
        assert added.returncode == 0, describe(added)
        app_id = instance.register_trusted("Test progress")
        wait_until(
            lambda: any(b["Name"] == BOOK for b in instance.address_books(app_id)),
            20,
            what="the daemon opening the book",
        )
        yield instance
    finally:
        instance.close()


def open_pages(daemon: Daemon, browser: Browser, page_name: str, *, script: bool = True) -> Page:
    """A one-time login address from `partnercrmd ui PAGE --print`, opened in a new Chromium context."""
    printed = run_cli(daemon.home, "ui", page_name, "--print")
    assert printed.returncode == 0, describe(printed)
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=script)
    page = context.new_page()
    page.goto(printed.stdout.strip())
    return page


def book_row(page: Page) -> Locator:
    return page.locator("tr", has=page.get_by_role("link", name=BOOK, exact=True))


def run_test_and_check_progress(page: Page) -> None:
    """Press Test (on the page shown); the first step within 1 s, the verdict by the announced limit."""
    started = time.monotonic()
    page.get_by_role("button", name=re.compile(rf"^Test( {BOOK})?$")).click(no_wait_after=True)
    first = page.locator("#test-results tr.passed", has_text="Open the address book")
    expect(first).to_be_visible(timeout=1000)
    assert time.monotonic() - started < 1.0
    expect(page.locator("#test-limit")).to_contain_text(f"stops after {TEST_TIME_LIMIT:g} seconds")
    expect(page.locator("#test-results tr.running", has_text="Asking the server")).to_be_visible()
    expect(page.locator("#test-summary")).to_be_hidden()  # no verdict yet: the server has not answered
    expect(page.locator("#test-summary")).to_have_text(
        "A check failed: see what to do in the table above.", timeout=(TEST_TIME_LIMIT + 3) * 1000
    )
    took = time.monotonic() - started
    assert TEST_TIME_LIMIT - 1 <= took <= TEST_TIME_LIMIT + 3, took
    failed = page.locator("#test-results tr.failed")
    expect(failed).to_contain_text("accepted the connection but sent no answer")
    expect(failed).to_contain_text("The server took too long to answer")
    expect(page.locator("#test-results tr.running", has_text="Asking the server")).to_be_hidden()  # replaced
    expect(page.locator("#test-status")).to_contain_text(f"Status of {BOOK}: Needs attention")


def test_test_shows_each_step_as_it_runs_and_the_list_then_shows_the_failure(daemon: Daemon, browser: Browser) -> None:
    page = open_pages(daemon, browser, "integrations")
    expect(book_row(page)).to_contain_text("Ready")  # nothing found yet
    run_test_and_check_progress(page)
    page.get_by_role("link", name="Back to Integrations").click()
    row = book_row(page)
    expect(row).to_contain_text("Needs attention")
    expect(row).to_contain_text("sent no answer")
    expect(row).not_to_contain_text("Ready")
    page.context.close()


def test_without_javascript_test_is_a_plain_result_page(daemon: Daemon, browser: Browser) -> None:
    page = open_pages(daemon, browser, "integrations", script=False)
    page.get_by_role("link", name=f"Configure {BOOK}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(BOOK)
    run_test_and_check_progress(page)
    page.get_by_role("link", name=f"Back to {BOOK}").click()
    expect(page.get_by_text(re.compile(r"^Status: Needs attention: "))).to_be_visible()
    page.context.close()

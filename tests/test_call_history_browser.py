"""Acceptance: Debian's Chromium (Playwright) opens the call history window of a real `partnercrmd serve`
and retries a failed activity with the page's own button (session cookie, anti-forgery token, CSP).

`ShowWindow callhistory` opens the one-time login link with the "browser" named by
BROWSER: a script that writes the link to a file, from which the test's Chromium takes it.
With PARTNERCRMD_SCREENSHOTS=<dir> the window is saved there as callhistory.png
(that is how docs/screenshots/callhistory.png is made).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from partnercrmd.local_book.addin import DATABASE_NAME
from partnercrmd.paths import Paths
from tests.daemon_process import Daemon, describe, run_cli, wait_until
from tests.recording_browser import RecordingBrowser

CHRIS = "571-441-5956"


@pytest.fixture(scope="module")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> RecordingBrowser:
    return RecordingBrowser.create(tmp_path_factory.mktemp("history-browser"))


@pytest.fixture(scope="module")
def daemon(recorder: RecordingBrowser) -> Iterator[Daemon]:
    home = recorder.script.parent / "home"
    result = run_cli(home, "books", "set", "local", "--set", "create_activity_on_call_end=true")
    assert result.returncode == 0, describe(result)
    instance = Daemon(home, extra_env=recorder.env)
    try:
        yield instance.start()
    finally:
        instance.close()


def tries(daemon: Daemon, call_id: str) -> str:
    """The TRIES column of the call's row in `partnercrmd outbox list` (KEY CALL BOOK STATUS TRIES …)."""
    listed = run_cli(daemon.home, "outbox", "list")
    row = next(line for line in listed.stdout.splitlines() if f" {call_id} " in line)
    return row.split()[4]


def test_the_history_window_lists_calls_and_retries_a_failed_activity(
    daemon: Daemon, browser: Browser, recorder: RecordingBrowser
) -> None:
    app_id = daemon.register_trusted()
    call = {"Direction": "Inbound", "CallerNumber": CHRIS, "CallerName": "Chris Huffman", "CalledNumber": "201"}
    daemon.call("POST", "CallEvent", app_id, CallId="ok-1", State="Ended", DurationSeconds=95, **call)
    # A record removed from the address book after the call matched it: its activity cannot be written.
    daemon.call(
        "POST",
        "CreateNewRecord",
        app_id,
        RecordTypeId="local/Contact",
        ContactName="Gone Soon",
        Phone="+1 202 555 0199",
    )
    gone = {**call, "CallerNumber": "+1 202 555 0199", "CallerName": ""}
    daemon.call("POST", "CallEvent", app_id, CallId="gone-1", State="Ringing", **gone)
    database = Paths.under(daemon.home).book_dir("local") / DATABASE_NAME
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM contacts WHERE display_name = 'Gone Soon'")
    daemon.call("POST", "CallEvent", app_id, CallId="gone-1", State="Ended", **gone)

    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(recorder.login_link(daemon, app_id, "callhistory"))
        expect(page).to_have_url(f"http://127.0.0.1:{daemon.port}/ui/callhistory")
        expect(page.locator("h1")).to_have_text("Call history")
        ok_row = page.locator("tr", has_text="Chris Huffman")
        expect(ok_row).to_contain_text("Local address book: done")
        expect(ok_row).to_contain_text("1:35")
        waiting = page.locator("section", has_text="Waiting or failed").locator("tr", has_text="gone-1")
        expect(waiting).to_contain_text("failed")
        expect(waiting).to_contain_text("no longer exists")
        page.set_viewport_size({"width": 1280, "height": 800})
        if folder := os.environ.get("PARTNERCRMD_SCREENSHOTS"):
            page.screenshot(path=str(Path(folder) / "callhistory.png"), full_page=True)
        waiting.get_by_role("button", name="Retry").click()
        expect(page.locator(".notice")).to_have_text("1 entry is being tried again.")
        expect(page).to_have_url(f"http://127.0.0.1:{daemon.port}/ui/callhistory?retried=1")
        listed = run_cli(daemon.home, "outbox", "list")
        assert "gone-1" in listed.stdout and "failed" in listed.stdout
        wait_until(lambda: tries(daemon, "gone-1") == "2", timeout=20, what="a second attempt")
    finally:
        context.close()

"""Acceptance: a phone client's DoAction LogActivity with actionId alone, no call reported, gives the "log a call"
page; Debian's Chromium (Playwright) opens it from a real `partnercrmd serve`, the user writes notes and saves,
and the activity is read back from the local book, once.

The daemon's "browser" (BROWSER) is a script that writes each URL it is asked to open to a file. axe-core checks
the page before and after saving, as tests/test_accessibility.py checks every configuration page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.daemon_process import Daemon, wait_until
from tests.recording_browser import RecordingBrowser
from tests.test_accessibility import serious_violations

ALICE = "020 7946 0958"


@pytest.fixture(scope="module")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> RecordingBrowser:
    return RecordingBrowser.create(tmp_path_factory.mktemp("log-call-browser"))


@pytest.fixture(scope="module")
def daemon(recorder: RecordingBrowser) -> Iterator[Daemon]:
    instance = Daemon(recorder.script.parent / "home", extra_env=recorder.env)
    try:
        yield instance.start()
    finally:
        instance.close()


def activities(daemon: Daemon, app_id: str) -> list[dict[str, object]]:
    (collection,) = daemon.search(app_id, ALICE, includeActivities="true")
    (record,) = collection["Records"]
    return list(record["Activities"])


def test_the_log_a_call_page_saves_the_users_notes_once(
    daemon: Daemon, browser: Browser, recorder: RecordingBrowser
) -> None:
    app_id = daemon.register_trusted()
    (collection,) = daemon.search(app_id, ALICE)
    (record,) = collection["Records"]
    log_id = next(a["ActionId"] for a in record["Actions"] if a["SpecialKind"] == "LogActivity")
    answer = daemon.call("POST", "DoAction", app_id, actionId=log_id)
    assert answer["Result"] == "LogCallPage" and answer["Opened"] is True
    assert wait_until(recorder.urls, 10, what="the opened link") == [answer["Url"]]

    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)  # to inject axe-core
    try:
        page = context.new_page()
        page.goto(answer["Url"])
        expect(page.locator("h1")).to_have_text("Log a call with Alice Hartley")
        assert serious_violations(page) == []  # axe-core, as every configuration page
        page.get_by_label("Subject").fill("Called back about the invoice")
        page.get_by_label("Notes").fill("Paid on Monday.\nSend a receipt.")
        page.get_by_label("Direction").select_option("Inbound")
        page.get_by_label("Time").fill("2026-12-07T10:15")
        page.get_by_label("Duration").fill("2:15")
        page.get_by_role("button", name="Log the call").click()
        expect(page.locator("#logged")).to_contain_text("The call was logged in")
        expect(page.get_by_role("button", name="Log the call")).to_have_count(0)  # logged: no form to send again
        assert serious_violations(page) == []
    finally:
        context.close()
    (logged,) = activities(daemon, app_id)
    assert logged["Subject"] == "Called back about the invoice"
    assert "Paid on Monday.\nSend a receipt." in str(logged["Body"])
    assert (logged["Direction"], logged["DurationSeconds"]) == ("Inbound", 135)

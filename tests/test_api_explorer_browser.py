"""Acceptance: the API explorer in Debian's Chromium (Playwright), against a real, branded `partnercrmd serve`.

The page is opened through ShowWindow's one-time login link (the daemon's "browser" is a script that writes the
link to a file), Search for a sample contact of the local book runs through Swagger UI's "Try it out", and the
answer is on the page. Every request the page makes is recorded: all go to the daemon's own origin. The calls
carry the ApplicationId of the explorer's own application, which `partnercrmd apps list` shows registered and
approved. Without a session the page shows no explorer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect

from tests.daemon_process import Daemon, describe, run_cli
from tests.recording_browser import RecordingBrowser

PRODUCT = "Acme Connect"
SAMPLE_NUMBER = "02079460958"
SAMPLE_NAME = "Alice Hartley"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("explorer-browser")


@pytest.fixture(scope="module")
def recorder(base: Path) -> RecordingBrowser:
    return RecordingBrowser.create(base)


@pytest.fixture(scope="module")
def daemon(base: Path, recorder: RecordingBrowser) -> Iterator[Daemon]:
    branding = base / "branding.toml"
    branding.write_text(
        f'[product]\nname = "{PRODUCT}"\nvendor = "Acme Telecom"\n[product.colours]\nprimary = "#5b2a86"\n',
        encoding="utf-8",
    )
    instance = Daemon(base / "acme-home", extra_env={"PARTNERCRMD_BRANDING": str(branding), **recorder.env})
    try:
        yield instance.start()
    finally:
        instance.close()


def login_link(daemon: Daemon, recorder: RecordingBrowser, window: str) -> str:
    """ShowWindow as the phone client calls it; the one-time link the daemon handed its "browser"."""
    app_id = daemon.register_trusted("Explorer test softphone")
    return recorder.login_link(daemon, app_id, window)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_try_it_runs_search_as_the_explorer_application_and_stays_on_the_daemon(
    daemon: Daemon, recorder: RecordingBrowser, browser: Browser, host: str
) -> None:
    """Opened on either loopback name, the page calls its own origin (the spec's server is the page's)."""
    origin = f"http://{host}:{daemon.port}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))
    page: Page = context.new_page()
    console: list[ConsoleMessage] = []
    page.on("console", lambda message: console.append(message))

    page.goto(login_link(daemon, recorder, "api").replace("//127.0.0.1:", f"//{host}:", 1))
    expect(page).to_have_url(f"{origin}/ui/api")
    expect(page).to_have_title(f"API explorer · {PRODUCT}")
    expect(page.locator("#explorer")).to_have_attribute("aria-busy", "false")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(f"{PRODUCT} localhost API")
    screenshot(page, "api-explorer")

    # Search for a sample contact through "Try it out" (on from the start), and the answer shown.
    search = page.locator("#operations-default-Search")
    search.locator(".opblock-summary-control").click()
    search.locator('tr[data-property-name="query"] input').fill(SAMPLE_NUMBER)
    search.get_by_role("button", name="Execute").click()
    answer = search.locator(".live-responses-table")
    expect(answer.locator("tr.response td.response-col_status")).to_have_text("200")
    expect(answer.locator("tr.response td.response-col_description")).to_contain_text(SAMPLE_NAME)
    expect(search.locator(".curl")).to_contain_text("ApplicationId: api-explorer-")

    # The call went to the daemon, as the explorer's own application: registered and approved.
    calls = [r for r in requests if r.url == f"{origin}/api/v1/Search"]
    assert len(calls) == 1, [r.url for r in requests]
    app_id = calls[0].headers["applicationid"]
    assert app_id == page.locator("#explorer").get_attribute("data-application-id")
    listed = run_cli(daemon.home, "apps", "list")
    assert listed.returncode == 0, describe(listed)
    row = next(line for line in listed.stdout.splitlines() if app_id in line)
    assert row.split()[:3] == ["Acme", "Connect", "API"] and " approved " in f" {row} ", row
    assert daemon.token not in page.content()

    # Every request the page made went to the daemon's own origin; the policy refused nothing.
    outside = [r.url for r in requests if not r.url.startswith(f"{origin}/")]
    assert not outside, outside
    assert {f"{origin}/static/explorer/swagger-ui-bundle.js", f"{origin}/api/v1/openapi.json"} <= {
        r.url for r in requests
    }
    refused = [m.text for m in console if "Content Security Policy" in m.text]
    assert not refused, refused
    context.close()


def test_without_a_session_the_explorer_page_shows_no_explorer(daemon: Daemon, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(f"http://127.0.0.1:{daemon.port}/ui/api")
    assert response is not None and response.status == 403
    expect(page.locator("#explorer")).to_have_count(0)
    expect(page.get_by_role("alert")).to_contain_text("Please open this window from your phone client")
    context.close()


def screenshot(page: Page, name: str) -> None:
    """With PARTNERCRMD_SCREENSHOTS=<dir>, save the page there as <name>.png (how docs/screenshots/ is made)."""
    folder = os.environ.get("PARTNERCRMD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def test_partnercrmd_ui_api_opens_the_explorer(daemon: Daemon, browser: Browser) -> None:
    printed = run_cli(daemon.home, "ui", "api", "--print")
    assert printed.returncode == 0, describe(printed)
    context = browser.new_context()
    page = context.new_page()
    page.goto(printed.stdout.splitlines()[0])
    expect(page).to_have_url(f"http://127.0.0.1:{daemon.port}/ui/api")
    expect(page.locator("#operations-default-Search")).to_be_visible()
    context.close()

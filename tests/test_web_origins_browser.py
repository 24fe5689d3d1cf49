"""Allowed web origins in Chromium (issue #20 item 1): a web page of another origin calls a real `partnercrmd serve`.

A page server (tests/page_server.py) on other ports serves a "web CRM" page. From an origin the user allowed
(`partnercrmd settings set web_origins=…`) the page registers with the install token it was given,
searches and opens the event WebSocket; the same page from an origin that is not allowed gets
nothing: every fetch rejects and the WebSocket fails. The page reports what its own script saw,
so the browser's CORS enforcement is what is tested, not what a test client would accept.

Private Network Access: Chromium 142 and later (this one is 156) no longer send the PNA preflight
(`Access-Control-Request-Private-Network`); they ask the user for the Local Network Access
permission instead (see docs/api.md). The PNA header is tested at HTTP level (tests/test_web_origins.py);
here a page on the public address space (`--ip-address-space-overrides`) reaches the daemon once the
user granted that permission, and only from an allowed origin.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests.browser_session import CHROMIUM, CHROMIUM_ARGS
from tests.daemon_process import Daemon, describe, run_cli, wait_until
from tests.page_server import PageServer, serve_pages, with_local_network_access

SAMPLE_CONTACT = "Alice Hartley"
"""A sample contact of the embedded local address book."""

WEB_CRM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Web CRM</title></head>
<body><h1>Web CRM</h1>
<script>
// What a web CRM's page does with the localhost API; every step reports what the page's script saw.
async function step(work) {
  try { return await work(); } catch (error) { return {rejected: String(error)}; }
}
async function form(base, route, appId, fields, extraHeaders) {
  const response = await fetch(`${base}/api/v1/${route}`, {
    method: "POST",
    headers: {"ApplicationId": appId, "Content-Type": "application/x-www-form-urlencoded", ...extraHeaders},
    body: new URLSearchParams(fields).toString(),
  });
  const text = await response.text();
  return {status: response.status, body: text ? JSON.parse(text) : null};
}
function firstEvent(base, appId) {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${base.replace(/^http/, "ws")}/api/v1/events/${appId}`);
    const timer = setTimeout(() => { socket.close(); resolve({failed: "no event within 10 s"}); }, 10000);
    socket.onmessage = (message) => {
      clearTimeout(timer);
      socket.close();
      resolve({event: JSON.parse(message.data)});
    };
    socket.onerror = () => { clearTimeout(timer); resolve({failed: "error"}); };
  });
}
window.useDaemon = async ({base, appId, token, query}) => ({
  register: await step(() => form(base, "Register", appId, {Name: "Web CRM", Id: appId},
                                   {"Authorization": `Bearer ${token}`})),
  search: await step(() => form(base, "Search", appId, {query})),
  version: await step(async () => (await fetch(`${base}/api/v1/Version`)).status),
  events: await firstEvent(base, appId),
});
</script></body></html>
"""


def serve_web_crm(folder: Path) -> PageServer:
    """The web CRM's page, on a port of its own (an origin of its own)."""
    (folder / "index.html").write_text(WEB_CRM_PAGE, encoding="utf-8")
    return serve_pages(folder)


@pytest.fixture(scope="module")
def allowed_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageServer]:
    server = serve_web_crm(tmp_path_factory.mktemp("allowed-pages"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def foreign_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageServer]:
    server = serve_web_crm(tmp_path_factory.mktemp("foreign-pages"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, allowed_pages: PageServer) -> Iterator[Daemon]:
    instance = Daemon(tmp_path_factory.mktemp("web-origins") / "home")
    try:
        instance.start()
        # set while the daemon runs: it applies the list without a restart
        result = run_cli(instance.home, "settings", "set", f"web_origins={allowed_pages.origin}")
        assert result.returncode == 0, describe(result)
        wait_until(
            lambda: instance.request("GET", "Version", headers={"Origin": allowed_pages.origin}).status == 200,
            timeout=10,
            what="the running daemon allowing the page's origin",
        )
        yield instance
    finally:
        instance.close()


def use_daemon_from(
    context: BrowserContext, pages: PageServer, daemon: Daemon, tab: Page | None = None
) -> dict[str, Any]:
    """Open the web CRM page in `context` (in its open tab, if any); its script registers, searches and opens
    the event WebSocket; what it saw."""
    page = tab or (context.pages[0] if context.pages else context.new_page())
    page.goto(pages.origin + "/")
    result: dict[str, Any] = page.evaluate(
        "(args) => window.useDaemon(args)",
        {
            "base": f"http://127.0.0.1:{daemon.port}",
            "appId": str(uuid.uuid4()),
            "token": daemon.token,
            "query": SAMPLE_CONTACT.split()[0],
        },
    )
    page.close()
    return result


def found_names(search: dict[str, Any]) -> list[str]:
    return [record["DisplayText"] for collection in search["body"] for record in collection["Records"]]


def assert_gets_nothing(result: dict[str, Any]) -> None:
    """Every fetch rejected by the browser, the WebSocket failed: the page learns nothing, not even a status."""
    for step in ("register", "search", "version"):
        assert "rejected" in result[step], (step, result[step])
        assert "Failed to fetch" in result[step]["rejected"]
    assert result["events"] == {"failed": "error"}


def test_a_page_of_an_allowed_origin_registers_searches_and_gets_events(
    browser: Browser, daemon: Daemon, allowed_pages: PageServer
) -> None:
    context = browser.new_context()
    try:
        result = use_daemon_from(context, allowed_pages, daemon)
    finally:
        context.close()
    assert result["register"] == {"status": 204, "body": None}
    assert result["search"]["status"] == 200
    assert SAMPLE_CONTACT in found_names(result["search"])
    assert result["version"] == 200
    assert result["events"]["event"]["EventType"] == "Initial"


def test_the_same_page_from_an_origin_not_allowed_gets_nothing(
    browser: Browser, daemon: Daemon, foreign_pages: PageServer
) -> None:
    context = browser.new_context()
    try:
        result = use_daemon_from(context, foreign_pages, daemon)
    finally:
        context.close()
    assert_gets_nothing(result)
    assert "Traceback" not in daemon.log_text()


# --- a page on the public address space (Local Network Access, Chromium's successor of PNA) -------------------


@pytest.fixture(scope="module")
def public_browser(playwright: Playwright, allowed_pages: PageServer, foreign_pages: PageServer) -> Iterator[Browser]:
    """Chromium treating both page servers as public web sites: their requests to 127.0.0.1 need the user's
    Local Network Access permission."""
    overrides = ",".join(f"127.0.0.1:{pages.port}=public" for pages in (allowed_pages, foreign_pages))
    instance = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, f"--ip-address-space-overrides={overrides}"]
    )
    yield instance
    instance.close()


def public_context(browser: Browser, pages: PageServer, *, local_network_allowed: bool) -> BrowserContext:
    """A browser profile; with `local_network_allowed` the user has granted the page's origin Local Network Access."""
    return with_local_network_access(browser, pages.origin) if local_network_allowed else browser.new_context()


@pytest.mark.parametrize("local_network_allowed", [True, False])
def test_a_public_page_of_an_allowed_origin_reaches_the_daemon_once_the_user_allows_local_network_access(
    public_browser: Browser, daemon: Daemon, allowed_pages: PageServer, local_network_allowed: bool
) -> None:
    context = public_context(public_browser, allowed_pages, local_network_allowed=local_network_allowed)
    try:
        result = use_daemon_from(context, allowed_pages, daemon)
    finally:
        context.close()
    if local_network_allowed:
        assert result["register"].get("status") == 204, result
        assert SAMPLE_CONTACT in found_names(result["search"])
        assert result["events"]["event"]["EventType"] == "Initial"
    else:
        assert_gets_nothing(result)


def test_a_public_page_of_an_origin_not_allowed_gets_nothing_even_with_local_network_access(
    public_browser: Browser, daemon: Daemon, foreign_pages: PageServer
) -> None:
    context = public_context(public_browser, foreign_pages, local_network_allowed=True)
    try:
        result = use_daemon_from(context, foreign_pages, daemon)
    finally:
        context.close()
    assert_gets_nothing(result)


# --- the Applications page ------------------------------------------------------------------------------------


def test_the_user_allows_a_page_on_the_applications_page_and_it_works_at_once(
    browser: Browser, daemon: Daemon, allowed_pages: PageServer, foreign_pages: PageServer
) -> None:
    allowed = allowed_pages.origin
    app_id = daemon.register_trusted("Web origins page test")
    login = daemon.call("POST", "ShowWindow", app_id, window="integrations", OpenBrowser="false")["Url"]
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(login)
        page.get_by_role("link", name="Applications", exact=True).click()
        field = page.get_by_label("Allowed by you")
        expect(field).to_have_value(allowed)

        # A wrong entry: the error beside the field, what was typed kept, nothing changed.
        field.fill(f"{allowed}\n{foreign_pages.origin}/crm")
        page.get_by_role("button", name="Save web pages").click()
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#web-origins-error")).to_contain_text("no path, query or fragment")
        expect(field).to_have_value(f"{allowed}\n{foreign_pages.origin}/crm")
        assert_gets_nothing(use_daemon_from(context, foreign_pages, daemon, context.new_page()))

        # Fixed: saved, and the page of that origin works at once (no restart).
        field.fill(f"{allowed}\n{foreign_pages.origin}")
        page.get_by_role("button", name="Save web pages").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        expect(page.get_by_label("Allowed by you")).to_have_value(f"{allowed}\n{foreign_pages.origin}")
        result = use_daemon_from(context, foreign_pages, daemon, context.new_page())
        assert result["register"]["status"] == 204, result
        assert result["events"]["event"]["EventType"] == "Initial"

        # Taken off the list again: refused at once.
        page.get_by_label("Allowed by you").fill(allowed)
        page.get_by_role("button", name="Save web pages").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        assert_gets_nothing(use_daemon_from(context, foreign_pages, daemon, context.new_page()))
    finally:
        context.close()

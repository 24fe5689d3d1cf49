"""Acceptance (issue #17, item 1): "Sign in with <CRM>" through the configuration pages alone, in Chromium.

One branded daemon (`partnercrmd serve`) whose branding file carries the partner's OAuth clients, and local
reproductions of HubSpot, Salesforce, Zoho CRM, Microsoft 365 and Google (their OAuth servers check the client id, the
registered redirect URI and PKCE S256 the way each vendor documents; see templates_fake_crm.py and the crm_*
modules). For each: the one-time login, the integration's add form, "Sign in with X", the vendor's consent page,
back on the book's page showing who is signed in; `POST Search` finds the contact; the grant revoked at the
vendor, the next search turns the book to "Sign in again" (its page, `AddressBooks`, an `AddressBooksChanged`
event); signing in again from the button; found again.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import aiohttp
import crm_google_contacts
import crm_hubspot
import crm_microsoft365
import crm_salesforce
import crm_zoho
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from templates_fake_crm import FakeCrm

REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:  # the black-box helpers live in the repository's own tests
    sys.path.insert(0, str(REPOSITORY))

from tests.browser_session import browser, playwright  # noqa: E402,F401  (fixtures)
from tests.daemon_process import Daemon, wait_until  # noqa: E402

T = TypeVar("T")
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PRODUCT = "Acme Connect"
CALLBACK = "/ui/oauth/callback"


@dataclass(frozen=True)
class Vendor:
    template: str
    module: ModuleType
    button: str
    """The vendor's name on the button: "Sign in with <button>"."""
    partner_secret: bool
    """Whether the partner's client has a secret (HubSpot and Zoho require one at their token endpoints)."""


VENDORS = [
    Vendor("hubspot", crm_hubspot, "HubSpot", True),
    Vendor("salesforce", crm_salesforce, "Salesforce", False),
    Vendor("zoho-crm", crm_zoho, "Zoho CRM", True),
    Vendor("microsoft365", crm_microsoft365, "Microsoft", False),
    Vendor("google-contacts", crm_google_contacts, "Google", True),
]


class Background:
    """An event loop in a thread, for the reproductions and a WebSocket while the test drives Chromium."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="oauth-reproductions", daemon=True)
        self.thread.start()

    def run(self, coroutine: Awaitable[T], timeout: float = 30) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def call() -> T:
            return fn()

        return self.run(call())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def background() -> Iterator[Background]:
    loop = Background()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def crms(background: Background) -> Iterator[dict[str, FakeCrm]]:
    started: dict[str, FakeCrm] = {}
    try:
        for vendor in VENDORS:
            crm = vendor.module.build()
            assert crm.oauth is not None
            crm.oauth.consent_page = True
            crm.oauth.secret_required = vendor.partner_secret
            crm.refresh_tokens.clear()  # no grant exists until the user signs in
            background.run(crm.start())
            started[vendor.template] = crm
        yield started
    finally:
        for crm in started.values():
            background.run(crm.stop())


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, crms: dict[str, FakeCrm]) -> Iterator[Daemon]:
    base = tmp_path_factory.mktemp("oauth-browser")
    clients = ""
    for vendor in VENDORS:
        oauth = crms[vendor.template].oauth
        assert oauth is not None
        clients += f'[oauth_clients.{vendor.template}]\nclient_id = "{oauth.client_id}"\n'
        if vendor.partner_secret:
            clients += f'client_secret = "{oauth.client_secret}"\n'
    branding = base / "branding.toml"
    branding.write_text(f'[product]\nname = "{PRODUCT}"\nvendor = "Acme Telecom"\n\n{clients}', encoding="utf-8")
    opened = base / "opened-urls.txt"
    recorder = base / "record-url"
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{opened}"\n', encoding="utf-8")
    recorder.chmod(recorder.stat().st_mode | stat.S_IXUSR)
    env = {"PARTNERCRMD_BRANDING": str(branding), "BROWSER": str(recorder), "XDG_CONFIG_HOME": str(base / "xdg")}
    instance = Daemon(base / "home", extra_env=env)
    try:
        instance.start()
        # The partner registered the daemon's callback with each vendor (Microsoft: any port of 127.0.0.1).
        for crm in crms.values():
            assert crm.oauth is not None
            if not crm.oauth.loopback_any_port:
                crm.oauth.redirect_uris = (f"http://127.0.0.1:{instance.port}{CALLBACK}",)
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope="module")
def app_id(daemon: Daemon) -> str:
    return daemon.register_trusted("Sign-in acceptance softphone")


def open_pages(daemon: Daemon, app_id: str, browser: Browser) -> Page:  # noqa: F811  (the fixture)
    """ShowWindow's one-time login address (its answer's Url), opened in a new 1280x800 context."""
    answer = daemon.call("POST", "ShowWindow", app_id, window="integrations")
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(answer["Url"])
    expect(page).to_have_url(re.compile(r"/ui/integrations$"))
    return page


def screenshot(page: Page, name: str) -> None:
    """With PARTNERCRMD_SCREENSHOTS=<dir>, save the page there as <name>.png (how docs/screenshots/ is made)."""
    folder = os.environ.get("PARTNERCRMD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def fill_settings(page: Page, vendor: Vendor, crm: FakeCrm) -> None:
    """The add form's settings pointing at the reproduction (advanced ones in the collapsed section)."""
    if vendor.template == "hubspot":
        page.get_by_label("HubSpot account (portal) id").fill("2451234")
        page.get_by_label("API address", exact=True).fill(crm.url)
        page.get_by_label("Web app address").fill(crm.url)
    elif vendor.template == "salesforce":
        page.get_by_label("Instance address").fill(crm.url)
        page.get_by_label("Login address").fill(crm.url)
    elif vendor.template == "zoho-crm":
        page.get_by_label("Organisation id").fill("org712345678")
        page.get_by_label("API address (only to override the data centre's)").fill(crm.url)
        page.get_by_label("Accounts address (only to override the data centre's)").fill(crm.url)
    elif vendor.template == "google-contacts":
        page.get_by_text("Advanced", exact=True).click()
        for label in ("People API address", "Google sign-in address", "Google token address"):
            page.get_by_label(label).fill(crm.url)
    else:
        page.get_by_text("Advanced", exact=True).click()
        page.get_by_label("Identity platform address").fill(crm.url)
        page.get_by_label("Microsoft Graph address").fill(crm.url + crm_microsoft365.GRAPH)
        page.get_by_label("Outlook on the web address").fill(crm.url)


def sign_in(page: Page, button: str, vendor: Vendor) -> None:
    """Click the book's sign-in button, allow at the vendor's consent page, and land back on the book's page."""
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Allow access to")
    page.get_by_role("button", name="Allow").click()
    expect(page.locator("#signin-state")).to_have_text(
        f"Signed in to {vendor.button} as dana@northwind.example.", timeout=15_000
    )


def collection(daemon: Daemon, app_id: str, book_id: str, query: str) -> dict[str, Any]:
    [found] = [c for c in daemon.search(app_id, query) if c["AddinId"] == book_id]
    return found


async def watch_events(port: int, app_id: str, seen: list[str], ready: asyncio.Event) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{port}/api/v1/events/{app_id}") as ws,
    ):
        ready.set()
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                seen.append(str(message.json().get("EventType", "")))


@pytest.mark.parametrize("vendor", VENDORS, ids=[v.template for v in VENDORS])
def test_sign_in_through_the_pages_find_a_contact_revoke_and_sign_in_again(
    vendor: Vendor,
    daemon: Daemon,
    app_id: str,
    browser: Browser,  # noqa: F811  (the fixture)
    crms: dict[str, FakeCrm],
    background: Background,
) -> None:
    crm = crms[vendor.template]
    assert crm.oauth is not None
    page = open_pages(daemon, app_id, browser)
    integration_name = {
        "hubspot": "HubSpot",
        "salesforce": "Salesforce",
        "zoho-crm": "Zoho CRM",
        "google-contacts": "Google Contacts",
    }.get(vendor.template, "Microsoft 365 contacts")
    page.get_by_role("link", name=f"Add {integration_name}", exact=True).click()
    page.get_by_label("Name", exact=True).fill(f"{vendor.button} sign-in")
    fill_settings(page, vendor, crm)
    page.get_by_role("button", name="Add address book").click()
    expect(page).to_have_url(re.compile(r"/ui/books/[a-z0-9-]+\?added=1$"))
    book_id = page.url.split("/ui/books/")[1].split("?")[0]
    expect(page.locator("#signin-state")).to_have_text(f"Not signed in to {vendor.button} yet.")

    # Sign in: the vendor's consent page, then back on the book's page with who is signed in.
    sign_in(page, f"Sign in with {vendor.button}", vendor)
    if vendor.template == "hubspot":
        screenshot(page, "book-signed-in")
    assert crm.token_grants[-1:] == ["authorization_code"]  # the PKCE verifier, client and redirect URI matched
    assert [r["DisplayText"] for r in collection(daemon, app_id, book_id, "Whitfield")["Records"]] == ["Dana Whitfield"]

    # Revoked at the vendor: the next search says so, and the book's status is "Sign in again" everywhere.
    seen: list[str] = []
    ready = asyncio.Event()
    watcher = asyncio.run_coroutine_threadsafe(watch_events(daemon.port, app_id, seen, ready), background.loop)
    try:
        background.run(ready.wait())
        background.call(crm.revoke)
        refused = collection(daemon, app_id, book_id, "Whitfield")
        assert refused["Records"] == [] and "Sign in again with the button" in refused["ExceptionText"]
        [book] = [b for b in daemon.address_books(app_id) if b["AddinId"] == book_id]
        assert book["Status"] == "SignInAgain", book
        wait_until(lambda: "AddressBooksChanged" in seen, timeout=10, what="an AddressBooksChanged event")
    finally:
        watcher.cancel()
    page.reload()
    expect(page.get_by_text("Status: Sign in again")).to_be_visible()
    expect(page.locator("#signin-state")).to_contain_text("Sign in again")
    if vendor.template == "hubspot":
        screenshot(page, "book-sign-in-again")

    # Signing in again from the button: found again, and Ready.
    sign_in(page, "Sign in again", vendor)
    assert [r["DisplayText"] for r in collection(daemon, app_id, book_id, "Whitfield")["Records"]] == ["Dana Whitfield"]
    [book] = [b for b in daemon.address_books(app_id) if b["AddinId"] == book_id]
    assert book["Status"] == "Ready", book
    page.context.close()

"""Sign in with the user's account (issue #17, item 1): the core's OAuth flow, through the HTTP of a real app.

The test add-in `oauthdemo` (tests/oauth_signin_addin.py) declares `Integration.sign_in`; its vendor is a real
aiohttp server that checks the client, the redirect URI and PKCE, and rotates refresh tokens. The partner's
client comes from the branding (`[oauth_clients.oauthdemo]`). The browser acceptance test for the four cloud
CRMs is plugins/partnercrmd-templates/tests/test_oauth_signin_browser.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import io
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd.branding import Branding, BrandingError, OAuthClient, parse_branding
from partnercrmd.config import DaemonConfig
from partnercrmd.errors import Forbidden
from partnercrmd.oauth_signin import PendingSignIns, new_verifier, s256_challenge
from partnercrmd.testing import ApiSession, book_sign_in, configure_book, daemon_paths, search
from tests import oauth_signin_addin
from tests.oauth_signin_addin import CLIENT_ID, CLIENT_SECRET, INTEGRATION_ID, OAuthVendor
from tests.ui_support import csrf_of, page_text

Client = TestClient[web.Request, web.Application]


# --- units: PKCE, the state, the branding ----------------------------------------------------------------------


def test_the_pkce_challenge_is_s256_of_the_verifier_as_rfc_7636_appendix_b_shows() -> None:
    assert (
        s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    verifiers = {new_verifier() for _ in range(20)}
    assert len(verifiers) == 20  # never the same twice
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43,128}", v) for v in verifiers)  # RFC 7636 §4.1


def test_a_state_is_used_once_belongs_to_its_browser_and_expires() -> None:
    pending = PendingSignIns()
    state = pending.add("crm", "verifier", "http://127.0.0.1:1/ui/oauth/callback", "browser-a")
    with pytest.raises(Forbidden, match="started in another browser"):
        pending.take(state, "browser-b")
    assert pending.take(state, "browser-a").book_id == "crm"  # the other browser's try did not spend it
    with pytest.raises(Forbidden, match="used already") as used:
        pending.take(state, "browser-a")
    assert used.value.code == "bad_state"
    with pytest.raises(Forbidden, match="does not belong to a sign-in started here"):
        pending.take("made-up", "browser-a")
    short = PendingSignIns(ttl=0.01)
    late = short.add("crm", "verifier", "http://127.0.0.1:1/ui/oauth/callback", "browser-a")
    time.sleep(0.02)
    with pytest.raises(Forbidden, match="took longer than") as expired:
        short.take(late, "browser-a")
    assert expired.value.code == "expired_state"


def test_the_branding_carries_the_partners_oauth_clients_and_refuses_wrong_ones(tmp_path: Path) -> None:
    where = tmp_path / "branding.toml"
    product = {"product": {"name": "Acme Connect"}}
    branding = parse_branding(
        {**product, "oauth_clients": {"hubspot": {"client_id": "abc", "client_secret": "s3cret-value"}}}, where
    )
    assert branding.oauth_clients["hubspot"] == OAuthClient("abc", "s3cret-value")
    assert "s3cret-value" not in repr(branding)  # printed or logged, the secret stays out
    with pytest.raises(BrandingError, match=r"\[oauth_clients.zoho-crm\] client_id is required"):
        parse_branding({**product, "oauth_clients": {"zoho-crm": {"client_secret": "x"}}}, where)
    with pytest.raises(BrandingError, match="unknown keys: secret"):
        parse_branding({**product, "oauth_clients": {"zoho-crm": {"client_id": "x", "secret": "y"}}}, where)


# --- through the HTTP of a real app ----------------------------------------------------------------------------


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [(INTEGRATION_ID, oauth_signin_addin)]


@pytest.fixture
def partnercrmd_config(partnercrmd_config: DaemonConfig) -> DaemonConfig:
    clients = {INTEGRATION_ID: OAuthClient(CLIENT_ID, CLIENT_SECRET)}
    return dataclasses.replace(partnercrmd_config, branding=Branding(oauth_clients=clients))


@pytest.fixture
async def vendor() -> AsyncIterator[OAuthVendor]:
    server = OAuthVendor()
    await server.start()
    yield server
    await server.stop()


async def open_pages(api: ApiSession) -> Client:
    """The one-time login address ShowWindow answers, followed: the client now has a page session."""
    answer = await api.call("POST", "ShowWindow", window="integrations", OpenBrowser="false")
    client = api.client
    page = await client.get(answer["Url"].split(str(client.port), 1)[1])
    assert page.status == 200 and page.url.path == "/ui/integrations", page.url
    return client


async def start_sign_in(client: Client, book_id: str) -> str:
    """Press "Sign in with Demo CRM": the vendor's authorisation address the page moves on to."""
    page = await client.post(
        f"/ui/books/{book_id}/signin", data={"csrf": csrf_of(await page_text(client, f"/ui/books/{book_id}"))}
    )
    text = await page.text()
    assert page.status == 200, text
    found = re.search(r'<a href="([^"]+)" id="signin-continue"', text)
    assert found is not None, text
    return html.unescape(found[1])


async def at_the_vendor(url: str) -> str:
    """The browser at the vendor: where its redirect sends the browser back to (path and query at the daemon)."""
    async with aiohttp.ClientSession() as browser, browser.get(url, allow_redirects=False) as answer:
        assert answer.status == 302, await answer.text()
        back = answer.headers["Location"]
    assert back.startswith("http://127.0.0.1:")
    return "/" + back.split("/", 3)[3]


async def sign_in(client: Client, book_id: str) -> str:
    callback = await at_the_vendor(await start_sign_in(client, book_id))
    page = await client.get(callback)
    text = await page.text()
    assert page.status == 200, text
    return text


async def demo_book(app: web.Application, vendor: OAuthVendor, port: int) -> str:
    vendor.redirect_uris.add(f"http://127.0.0.1:{port}/ui/oauth/callback")
    return await configure_book(app, INTEGRATION_ID, name="Demo", url=vendor.url)


async def status_of(api: ApiSession, book_id: str) -> str:
    [book] = [b for b in await api.call("GET", "AddressBooks") if b["AddinId"] == book_id]
    return str(book["Status"])


async def test_signing_in_stores_the_tokens_in_the_vault_and_shows_who_is_signed_in(
    api: ApiSession, partnercrmd_app: web.Application, vendor: OAuthVendor
) -> None:
    client = await open_pages(api)
    book_id = await demo_book(partnercrmd_app, vendor, client.port or 0)
    page = await client.get(f"/ui/books/{book_id}")
    assert "Not signed in to Demo CRM yet." in await page.text() and "Sign in with Demo CRM" in await page.text()

    done = await sign_in(client, book_id)
    assert "Signed in as dana@northwind.example." in done
    assert f'content="1;url=/ui/books/{book_id}#signin"' in done  # back to the form (same-site: the session)
    assert vendor.grants == ["authorization_code"]  # client, secret, redirect URI and PKCE verifier matched
    page = await client.get(f"/ui/books/{book_id}")
    assert "Signed in to Demo CRM as <strong>dana@northwind.example</strong>." in await page.text()

    stored = await book_sign_in(partnercrmd_app, book_id)
    assert stored["access_token"] in vendor.access_tokens and stored["refresh_token"] in vendor.refresh_tokens
    assert stored["account"] == "dana@northwind.example" and stored["client_id"] == CLIENT_ID
    book_dir = daemon_paths(partnercrmd_app).book_dir(book_id)
    assert not any(stored["refresh_token"] in p.read_text(errors="replace") for p in book_dir.rglob("*") if p.is_file())
    found = (await search(api, "Dana"))[book_id]
    assert [r["DisplayText"] for r in found["Records"]] == ["Dana Whitfield"]


async def test_the_callback_refuses_a_made_up_state_and_another_browsers_answer_with_a_clear_page(
    api: ApiSession, partnercrmd_app: web.Application, vendor: OAuthVendor
) -> None:
    client = await open_pages(api)
    book_id = await demo_book(partnercrmd_app, vendor, client.port or 0)
    made_up = await client.get("/ui/oauth/callback?code=abc&state=made-up")
    assert made_up.status == 403
    assert "does not belong to a sign-in started here" in await made_up.text()

    callback = await at_the_vendor(await start_sign_in(client, book_id))
    # The same answer in a browser that did not start the sign-in (no binding cookie): refused, not spent.
    async with aiohttp.ClientSession() as other, other.get(f"http://127.0.0.1:{client.port}{callback}") as page:
        assert page.status == 403 and "started in another browser" in await page.text()
    assert (await client.get(callback)).status == 200
    again = await client.get(callback)  # a state is used once
    assert again.status == 403 and "used already" in await again.text()
    assert vendor.grants == ["authorization_code"]

    # The user says no at the vendor: a page that says so, nothing stored.
    state = re.search(r"state=([^&]+)", await start_sign_in(client, book_id))
    assert state is not None
    refused = await client.get(f"/ui/oauth/callback?error=access_denied&state={state[1]}")
    assert refused.status == 403 and "did not sign you in: access_denied" in await refused.text()


async def test_the_sign_in_button_needs_the_pages_form_token(
    api: ApiSession, partnercrmd_app: web.Application, vendor: OAuthVendor
) -> None:
    client = await open_pages(api)
    book_id = await demo_book(partnercrmd_app, vendor, client.port or 0)
    forged = await client.post(f"/ui/books/{book_id}/signin", data={"csrf": "forged"})
    assert forged.status == 403 and "This form has expired" in await forged.text()


async def test_an_expired_token_is_refreshed_silently_and_the_rotated_refresh_token_kept(
    api: ApiSession, partnercrmd_app: web.Application, vendor: OAuthVendor
) -> None:
    client = await open_pages(api)
    book_id = await demo_book(partnercrmd_app, vendor, client.port or 0)
    await sign_in(client, book_id)
    first = await book_sign_in(partnercrmd_app, book_id)
    vendor.expire()
    found = (await search(api, "Dana"))[book_id]
    assert found["ExceptionText"] == "" and [r["DisplayText"] for r in found["Records"]] == ["Dana Whitfield"]
    assert vendor.grants == ["authorization_code", "refresh_token"]
    now = await book_sign_in(partnercrmd_app, book_id)
    assert now["refresh_token"] in vendor.refresh_tokens and now["refresh_token"] != first["refresh_token"]
    assert now["access_token"] in vendor.access_tokens
    assert await status_of(api, book_id) == "Ready"


async def test_a_token_refused_after_a_refresh_asks_to_sign_in_again_and_never_loops(
    api: ApiSession, partnercrmd_app: web.Application, vendor: OAuthVendor
) -> None:
    client = await open_pages(api)
    book_id = await demo_book(partnercrmd_app, vendor, client.port or 0)
    await sign_in(client, book_id)
    vendor.refuse_every_token = True
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        failed = (await search(api, "Dana"))[book_id]
        assert "refused the access token after a refresh. Sign in again" in failed["ExceptionText"]
        assert vendor.grants == ["authorization_code", "refresh_token"]  # one refresh, then no more
        assert await status_of(api, book_id) == "SignInAgain"
        kinds: list[str] = []
        while "AddressBooksChanged" not in kinds:
            kinds.append((await asyncio.wait_for(ws.receive_json(), 10)).get("EventType", ""))
    failed = (await search(api, "Dana"))[book_id]
    assert "Sign in again with the button on the address book's page" in failed["ExceptionText"]
    assert vendor.grants == ["authorization_code", "refresh_token"]  # the next search does not try again
    page = await client.get(f"/ui/books/{book_id}")
    text = await page.text()
    assert "Status: Sign in again" in text and ">Sign in again</button>" in text
    assert (await book_sign_in(partnercrmd_app, book_id))["needs_sign_in"]

    vendor.refuse_every_token = False
    await sign_in(client, book_id)  # from the button: found again, and Ready at once
    assert await status_of(api, book_id) == "Ready"
    found = (await search(api, "Dana"))[book_id]
    assert [r["DisplayText"] for r in found["Records"]] == ["Dana Whitfield"]


async def test_a_revoked_grant_asks_to_sign_in_again(
    api: ApiSession, partnercrmd_app: web.Application, vendor: OAuthVendor
) -> None:
    client = await open_pages(api)
    book_id = await demo_book(partnercrmd_app, vendor, client.port or 0)
    await sign_in(client, book_id)
    vendor.revoke()
    failed = (await search(api, "Dana"))[book_id]
    assert "Demo CRM refused the sign-in (revoked). Sign in again with the button" in failed["ExceptionText"]
    assert await status_of(api, book_id) == "SignInAgain"
    stored: dict[str, Any] = await book_sign_in(partnercrmd_app, book_id)
    assert stored["access_token"] == "" and stored["refresh_token"] == ""  # a dead grant's tokens are not kept


async def test_no_token_or_client_secret_reaches_the_log(
    api: ApiSession, partnercrmd_app: web.Application, vendor: OAuthVendor, log_file: io.StringIO
) -> None:
    client = await open_pages(api)
    book_id = await demo_book(partnercrmd_app, vendor, client.port or 0)
    await sign_in(client, book_id)
    await search(api, "Dana")
    vendor.expire()
    await search(api, "Dana")  # a refresh, and the add-in logs the new token too
    written = log_file.getvalue()
    assert "GET " in written and "/people with Bearer ***" in written  # the add-in's careless lines are there
    assert len(vendor.issued) == 4
    for secret in [*vendor.issued, CLIENT_SECRET]:
        assert secret not in written

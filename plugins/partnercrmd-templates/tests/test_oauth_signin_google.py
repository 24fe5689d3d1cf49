"""The Google Contacts template through the daemon, signed in with Google (the user's own Desktop app client under
Advanced), against the People API and Google OAuth reproduction (crm_google_contacts.py), every request and answer
held to Google's discovery document (discovery_contract.py).

Acceptance: "Sign in with Google" on the book's page (Google's installed-app flow: PKCE S256, a loopback redirect on
the daemon's port, access_type=offline, the client secret at the token endpoint), the book's page says who signed
in; a caller found by number (Google's canonical E.164 form shown), a name found, the contact opened in Google
Contacts, a contact created and found by the next call (the warm-up after the write); the grant revoked at Google,
the next search turns the book to "Sign in again"; signing in again from the button; found again.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import crm_google_contacts
import pytest
from aiohttp import web
from templates_fake_crm import FakeCrm
from vendor_contract import VendorContract
from vendor_contracts import discovery_contract_of

from partnercrmd.testing import (
    ApiSession,
    RecordingOpener,
    action,
    book_sign_in,
    configure_book,
    remove_default_book,
    search,
)

CATALOGUE = Path(__file__).resolve().parents[1] / "partnercrmd_templates" / "catalogue"
WARM_UP = "/v1/people:searchContacts?query=&readMask=names"


@pytest.fixture
async def google() -> AsyncIterator[tuple[FakeCrm, VendorContract]]:
    crm = crm_google_contacts.build()
    assert crm.oauth is not None
    crm.refresh_tokens.clear()  # no grant exists until the user signs in
    contract = discovery_contract_of("google-contacts")
    assert contract is not None
    crm.outer_middlewares.append(contract.middleware())
    await crm.start()
    yield crm, contract
    await crm.stop()
    assert contract.checked, "no People API request was checked"
    contract.assert_kept()


async def sign_in_from_the_page(api: ApiSession, book_id: str, button: str) -> dict[str, list[str]]:
    """Press the book page's sign-in button and follow Google's redirect back as a browser would; the query of the
    authorisation request Google was sent."""
    client = api.client
    page = await (await client.get(f"/ui/books/{book_id}")).text()
    assert button in page, page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    moving_on = await (await client.post(f"/ui/books/{book_id}/signin", data={"csrf": csrf[1]})).text()
    vendor = re.search(r'<a href="([^"]+)" id="signin-continue"', moving_on)
    assert vendor is not None
    authorize = html.unescape(vendor[1])
    async with aiohttp.ClientSession() as browser, browser.get(authorize, allow_redirects=False) as at:
        assert at.status == 302, await at.text()  # client id, the loopback redirect URI (any port), PKCE S256
        back = at.headers["Location"]
    done = await client.get("/" + back.split("/", 3)[3])
    assert "Signed in as dana@northwind.example." in await done.text()
    return parse_qs(urlsplit(authorize).query)


async def book_status(api: ApiSession, book_id: str) -> str:
    [book] = [b for b in await api.call("GET", "AddressBooks") if b["AddinId"] == book_id]
    return str(book["Status"])


async def test_sign_in_with_google_find_open_create_revoke_and_sign_in_again(
    api: ApiSession,
    partnercrmd_app: web.Application,
    google: tuple[FakeCrm, VendorContract],
    partnercrmd_opener: RecordingOpener,
) -> None:
    crm, contract = google
    assert crm.oauth is not None
    await remove_default_book(partnercrmd_app)
    settings = crm_google_contacts.settings(crm)
    del settings["refresh_token"]
    book_id = await configure_book(partnercrmd_app, "google-contacts", name="Google", **settings)
    login = await api.call("POST", "ShowWindow", window="integrations", OpenBrowser="false")
    assert (await api.client.get(login["Url"].split(str(api.client.port), 1)[1])).status == 200

    asked = await sign_in_from_the_page(api, book_id, "Sign in with Google")
    assert asked["access_type"] == ["offline"] and asked["code_challenge_method"] == ["S256"]
    assert "https://www.googleapis.com/auth/contacts" in asked["scope"][0].split()
    assert asked["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert crm.token_grants == ["authorization_code"]  # with the client secret (the reproduction requires it)
    assert (await book_sign_in(partnercrmd_app, book_id))["account"] == "dana@northwind.example"

    # Found by number and by name; the cache was warmed once, before the first search.
    before = len(crm.requests)
    found = (await search(api, "020 7946 0958"))[book_id]
    assert found["ExceptionText"] == "" and [r["DisplayText"] for r in found["Records"]] == ["Dana Whitfield"]
    [dana] = found["Records"]
    assert {f["WellKnownName"]: f["Value"] for f in dana["Fields"]}["BusinessPhone"] == "+442079460958"
    named = (await search(api, "Lefèvre"))[book_id]
    assert [r["DisplayText"] for r in named["Records"]] == ["Zoë Lefèvre"]
    sent = [path for _, path in crm.requests[before:]]
    assert sent[0] == WARM_UP and sent.count(WARM_UP) == 1, sent

    await api.call("POST", "DoAction", actionId=action(dana, "Open"))
    [dana_in_google] = [p for p in crm.records.values() if p["names"][0]["displayName"] == "Dana Whitfield"]
    person_id = dana_in_google["resourceName"].removeprefix("people/")
    assert partnercrmd_opener.urls == [f"https://contacts.google.com/person/{person_id}"]

    # A created contact is found by the very next call: the book warms the cache right after writing.
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book_id}/Contact",
        FirstName="Grace",
        LastName="Hopper",
        Phone="+44 20 7183 8750",
        Email="grace.hopper@example.com",
    )
    assert created["DisplayText"] == "Grace Hopper"
    grace = (await search(api, "020 7183 8750"))[book_id]
    assert [r["DisplayText"] for r in grace["Records"]] == ["Grace Hopper"]

    # Revoked at Google: the next search says so and the book asks to sign in again.
    crm.revoke()
    refused = (await search(api, "Whitfield"))[book_id]
    assert refused["Records"] == [] and "Sign in again with the button" in refused["ExceptionText"]
    assert await book_status(api, book_id) == "SignInAgain"

    await sign_in_from_the_page(api, book_id, "Sign in again")
    assert crm.token_grants[-1] == "authorization_code"
    again = (await search(api, "Whitfield"))[book_id]
    assert again["ExceptionText"] == "" and [r["DisplayText"] for r in again["Records"]] == ["Dana Whitfield"]
    assert await book_status(api, book_id) == "Ready"
    assert "GET /v1/people/{peopleId}" in contract.checked  # who signed in: people/me, held to the document too


@pytest.fixture
def briskly_warmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's folder with a copy of the shipped template whose warm-up is due again after one second instead of
    five minutes (set before the daemon starts: the test names this fixture first)."""
    text = (CATALOGUE / "google-contacts.yaml").read_text(encoding="utf-8")
    assert text.count("  every_seconds: 300\n") == 1
    text = text.replace("  every_seconds: 300\n", "  every_seconds: 1\n")
    text = text.replace("id: google-contacts\n", "id: google-contacts-brisk\n", 1)
    folder = tmp_path / "user-templates"
    folder.mkdir()
    (folder / "google-contacts-brisk.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("PARTNERCRMD_TEMPLATES_DIR", str(folder))
    return folder


async def test_a_contact_added_elsewhere_is_found_once_the_warm_up_is_due_again(
    briskly_warmed: Path,
    google: tuple[FakeCrm, VendorContract],
    api: ApiSession,
    partnercrmd_app: web.Application,
) -> None:
    """The warm-up is sent again before a search once it is older than `every_seconds`: a contact added on the
    phone after the book's last warm-up is not in Google's search cache, and is found by the first search after the
    warm-up is due again (not before: one warm-up per period, not one per call)."""
    crm, _ = google
    assert crm.oauth is not None
    crm.refresh_tokens.add(crm.oauth.refresh_token)
    await remove_default_book(partnercrmd_app)
    book_id = await configure_book(partnercrmd_app, "google-contacts-brisk", **crm_google_contacts.settings(crm))
    assert [r["DisplayText"] for r in (await search(api, "Whitfield"))[book_id]["Records"]] == ["Dana Whitfield"]
    crm_google_contacts.add_elsewhere(crm, "Ada", "Lovelace", "+44 20 7946 0111")
    assert (await search(api, "Lovelace"))[book_id]["Records"] == []  # not in Google's cache yet
    assert crm.requests.count(("GET", WARM_UP)) == 1
    await asyncio.sleep(1.2)
    found = (await search(api, "+44 20 7946 0111"))[book_id]
    assert [r["DisplayText"] for r in found["Records"]] == ["Ada Lovelace"]
    assert crm.requests.count(("GET", WARM_UP)) == 2

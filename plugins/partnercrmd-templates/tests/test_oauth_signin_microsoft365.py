"""The Microsoft 365 contacts template through the daemon, signed in with the user's own app registration (the
advanced client id), against the Microsoft Graph and identity platform reproduction (crm_microsoft365.py): find by
number (Graph's exact-text `$filter` on businessPhones, mobilePhone, homePhones), search by name, open in Outlook on
the web, create a contact. The sign-in runs the daemon's own flow over HTTP, as a browser would."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import aiohttp
import crm_microsoft365
import pytest
from aiohttp import web
from odata_contract import graph_contract
from templates_fake_crm import FakeCrm

from partnercrmd.testing import (
    ApiSession,
    RecordingOpener,
    action,
    book_sign_in,
    configure_book,
    remove_default_book,
    search,
)


@pytest.fixture
async def graph() -> AsyncIterator[FakeCrm]:
    """The Graph reproduction, its traffic held to Microsoft Graph's CSDL (odata_contract.py): paths, $select,
    $filter and created bodies use the contact type's properties as their types allow, answers carry no others."""
    crm = crm_microsoft365.build()
    contract = graph_contract()
    crm.outer_middlewares.append(contract.middleware())
    await crm.start()
    yield crm
    await crm.stop()
    assert contract.checked, "no Graph request was checked"
    contract.assert_kept()


async def signed_in_book(api: ApiSession, app: web.Application, graph: FakeCrm) -> str:
    """A Microsoft 365 book with the user's own (public) client id, signed in through the daemon's pages."""
    assert graph.oauth is not None
    await remove_default_book(app)
    book_id = await configure_book(
        app, "microsoft365", name="Outlook", client_id=graph.oauth.client_id, **crm_microsoft365.settings(graph)
    )
    client = api.client
    login = await api.call("POST", "ShowWindow", window="integrations", OpenBrowser="false")
    assert (await client.get(login["Url"].split(str(client.port), 1)[1])).status == 200
    page = await (await client.get(f"/ui/books/{book_id}")).text()
    assert "Sign in with Microsoft" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    moving_on = await (await client.post(f"/ui/books/{book_id}/signin", data={"csrf": csrf[1]})).text()
    vendor = re.search(r'<a href="([^"]+)" id="signin-continue"', moving_on)
    assert vendor is not None
    async with aiohttp.ClientSession() as browser, browser.get(html.unescape(vendor[1]), allow_redirects=False) as at:
        assert at.status == 302, await at.text()  # client id, the loopback redirect URI (any port), PKCE S256
        back = at.headers["Location"]
    done = await client.get("/" + back.split("/", 3)[3])
    assert "Signed in as dana@northwind.example." in await done.text()
    return book_id


async def test_find_by_number_and_name_open_and_create_in_microsoft_365(
    api: ApiSession, partnercrmd_app: web.Application, graph: FakeCrm, partnercrmd_opener: RecordingOpener
) -> None:
    book_id = await signed_in_book(api, partnercrmd_app, graph)
    assert graph.token_grants == ["authorization_code"]  # a public client: no secret was sent (else refused)
    assert (await book_sign_in(partnercrmd_app, book_id))["account"] == "dana@northwind.example"

    for number, name in (("020 7946 0958", "Dana Whitfield"), ("+1 212 736 5001", "Eamon O'Neill")):
        found = (await search(api, number))[book_id]
        assert found["ExceptionText"] == "" and [r["DisplayText"] for r in found["Records"]] == [name], number
    filters = [path for method, path in graph.requests if "/me/contacts?" in path]
    assert any("businessPhones%2Fany" in path or "businessPhones/any" in path for path in filters)
    named = (await search(api, "Zoë"))[book_id]
    assert [r["DisplayText"] for r in named["Records"]] == ["Zoë Lefèvre"]
    quoted = (await search(api, "O'Neill"))[book_id]  # a quote in OData is doubled, not a broken filter
    assert quoted["ExceptionText"] == "" and [r["DisplayText"] for r in quoted["Records"]] == ["Eamon O'Neill"]

    [dana] = (await search(api, "Whitfield"))[book_id]["Records"]
    await api.call("POST", "DoAction", actionId=action(dana, "Open"))
    assert partnercrmd_opener.urls == [f"{graph.url}/people/"]

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
    [sent] = graph.written["contacts"]
    assert sent == {
        "givenName": "Grace",
        "surname": "Hopper",
        "businessPhones": ["+44 20 7183 8750"],
        "emailAddresses": [{"address": "grace.hopper@example.com"}],
    }
    found = (await search(api, "+44 20 7183 8750"))[book_id]
    assert [r["DisplayText"] for r in found["Records"]] == ["Grace Hopper"]

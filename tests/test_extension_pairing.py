"""Pairing the browser extension (SECURITY.md rule 7) through the HTTP API of the real app, and its codes."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from partnercrmd import appkeys
from partnercrmd.client_apps import AppStatus, set_app_status
from partnercrmd.extension_pairing import (
    ALPHABET,
    MAX_ATTEMPTS,
    MAX_WAITING,
    create_pairing_code,
    is_extension_origin,
    new_pairing_code,
    normalise_code,
)
from partnercrmd.testing import ApiSession

Client = TestClient[web.Request, web.Application]
CHROME = "chrome-extension://fokjphgeciookbmeoppekikldnamjmca"
FIREFOX = "moz-extension://0b6f1c36-2d5e-4b8e-9c1e-5d1f0e0b9c2a"


async def pair(client: Client, code: str, origin: str | None = CHROME, name: str = "") -> ClientResponse:
    headers = {"Origin": origin} if origin else {}
    fields = {"Code": code, **({"Name": name} if name else {})}
    return await client.post("/api/v1/PairExtension", data=fields, headers=headers)


async def code_for(client: Client) -> str:
    return (await new_pairing_code(client.app)).text


async def test_a_code_pairs_an_extension_with_its_own_approved_registration(api: ApiSession) -> None:
    client = api.client
    code = await new_pairing_code(client.app)
    assert code.expires_in() > 200
    response = await pair(client, code.text, name="Browser extension (Chromium)")
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["Region"] == "GB"
    assert body["ProductName"]
    app_id = body["ApplicationId"]
    record = client.app[appkeys.APPS].apps[app_id]
    assert record.status is AppStatus.APPROVED
    assert record.origin == CHROME
    assert record.name == "Browser extension (Chromium)"
    # From now on the extension's origin is allowed, with its ApplicationId, and CORS echoes it.
    dial = await client.post(
        "/api/v1/Dial",
        data={"Destination": "020 7946 0958", "Source": "WebPage"},
        headers={"Origin": CHROME, "ApplicationId": app_id},
    )
    assert dial.status == 200, await dial.text()
    assert dial.headers["Access-Control-Allow-Origin"] == CHROME
    assert (await dial.json())["E164"] == "+442079460958"


async def test_codes_are_typed_loosely(api: ApiSession) -> None:
    code = await code_for(api.client)
    typed = code.replace("-", " ").lower()
    response = await pair(api.client, typed, origin=FIREFOX)
    assert response.status == 200, await response.text()


async def test_a_code_works_once(api: ApiSession) -> None:
    code = await code_for(api.client)
    assert (await pair(api.client, code)).status == 200
    again = await pair(api.client, code)
    assert again.status == 403
    assert (await again.json())["Code"] == "no_pairing_code"
    await code_for(api.client)  # another code waiting: the used one is now simply wrong
    again = await pair(api.client, code)
    assert (await again.json())["Code"] == "wrong_pairing_code"
    assert "wrong or was used" in (await again.json())["Message"]


async def test_an_expired_code_does_not_pair(api: ApiSession) -> None:
    vault = api.client.app[appkeys.VAULT]
    code = await asyncio.to_thread(create_pairing_code, vault, 0.2)
    await asyncio.sleep(0.3)
    response = await pair(api.client, code.text)
    assert response.status == 403
    assert (await response.json())["Code"] == "no_pairing_code"


async def test_wrong_guesses_use_up_the_waiting_code(api: ApiSession) -> None:
    code = await code_for(api.client)
    for _ in range(MAX_ATTEMPTS):
        response = await pair(api.client, "AAAA-AAAA" if code != "AAAA-AAAA" else "BBBB-BBBB")
        assert (await response.json())["Code"] == "wrong_pairing_code"
    response = await pair(api.client, code)
    assert response.status == 403
    assert (await response.json())["Code"] == "no_pairing_code"


async def test_only_a_few_codes_wait_at_once(api: ApiSession) -> None:
    codes = [await code_for(api.client) for _ in range(MAX_WAITING + 1)]
    assert (await pair(api.client, codes[0])).status == 403  # pushed out by the newest
    assert (await pair(api.client, codes[-1])).status == 200


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "https://crm.example.com", "null", "http://127.0.0.1:9", "file://"]
)
async def test_a_web_page_cannot_pair_even_with_a_good_code(api: ApiSession, origin: str) -> None:
    code = await code_for(api.client)
    response = await pair(api.client, code, origin=origin)
    assert response.status == 403
    assert (await response.json())["Code"] == "forbidden_origin"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert (await pair(api.client, code)).status == 200  # the refused attempt did not use the code up


async def test_a_client_without_an_origin_cannot_pair(api: ApiSession) -> None:
    response = await pair(api.client, await code_for(api.client), origin=None)
    assert response.status == 403
    assert (await response.json())["Code"] == "not_an_extension"


async def test_an_unpaired_extension_origin_may_only_pair(partnercrmd_client: Client) -> None:
    response = await partnercrmd_client.post(
        "/api/v1/Dial", data={"Destination": "020 7946 0958"}, headers={"Origin": CHROME}
    )
    assert response.status == 403
    assert (await response.json())["Code"] == "forbidden_origin"


async def test_an_empty_code_is_a_clear_bad_request(api: ApiSession) -> None:
    response = await pair(api.client, " - ")
    assert response.status == 400
    assert "pairing code" in (await response.json())["Message"]


async def test_revoking_a_paired_extension_cuts_it_off(api: ApiSession) -> None:
    client = api.client
    app_id = (await (await pair(client, await code_for(client))).json())["ApplicationId"]
    await asyncio.to_thread(set_app_status, client.app[appkeys.VAULT], app_id, AppStatus.REVOKED)
    from partnercrmd.vault_sync import reload_vault

    await reload_vault(client.app)
    assert CHROME not in client.app[appkeys.APPS].origins()
    response = await client.post(
        "/api/v1/Dial", data={"Destination": "020 7946 0958"}, headers={"Origin": CHROME, "ApplicationId": app_id}
    )
    assert response.status == 403
    assert (await response.json())["Code"] == "forbidden_origin"
    response = await client.post(
        "/api/v1/Dial", data={"Destination": "020 7946 0958"}, headers={"ApplicationId": app_id}
    )
    assert response.status == 401
    assert (await response.json())["Code"] == "not_approved"


async def test_pairing_the_same_extension_again_replaces_its_registration(api: ApiSession) -> None:
    client = api.client
    first = (await (await pair(client, await code_for(client))).json())["ApplicationId"]
    second = (await (await pair(client, await code_for(client))).json())["ApplicationId"]
    apps = client.app[appkeys.APPS].apps
    assert apps[first].status is AppStatus.REVOKED
    assert apps[second].status is AppStatus.APPROVED
    assert client.app[appkeys.APPS].origins() == {CHROME}


async def test_codes_avoid_look_alike_characters_and_differ(api: ApiSession) -> None:
    codes = {await code_for(api.client) for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert code[4] == "-" and len(code) == 9
        assert set(normalise_code(code)) <= set(ALPHABET)
    assert not set("01IOL") & set(ALPHABET)
    assert normalise_code(" abcd-efgh ") == "ABCDEFGH"


@pytest.mark.parametrize(
    ("origin", "extension"),
    [
        (CHROME, True),
        (FIREFOX, True),
        ("chrome-extension://abc/def", False),
        ("http://chrome-extension.example", False),
        ("null", False),
        ("", False),
    ],
)
def test_extension_origins(origin: str, extension: bool) -> None:
    assert is_extension_origin(origin) is extension

"""CreateNewRecord with RecordTypeId alone gives a draft; SaveRecord of the draft creates the contact, exactly once."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd import appkeys
from partnercrmd.app import create_app
from partnercrmd.config import DaemonConfig
from partnercrmd.testing import ApiSession, names, search

from .test_api import assert_matches, error_of, openapi

Client = TestClient[web.Request, web.Application]


async def new_draft(api: ApiSession) -> dict[str, Any]:
    """What the published client sends: `RecordTypeId` and nothing else."""
    response = await api.client.post(
        "/api/v1/CreateNewRecord",
        data="RecordTypeId=local%2FContact",
        headers={
            **api.headers,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status == 200, await response.text()
    draft: dict[str, Any] = await response.json()
    return draft


async def named(api: ApiSession, name: str) -> list[str]:
    return names((await search(api, name))["local"])


async def test_record_type_alone_gives_an_empty_record_of_that_type_without_creating_one(api: ApiSession) -> None:
    before = await named(api, "Mulder")
    draft = await new_draft(api)
    assert_matches(await openapi(api.client), "ContactRecord", draft)
    assert draft["RecordType"] == "Contact" and draft["Actions"] == []
    assert {f["WellKnownName"] for f in draft["Fields"]} >= {
        "ContactName", "FirstName", "LastName", "CompanyName", "Email", "BusinessPhone", "Notes",
    }  # fmt: skip
    assert all(f["Value"] == "" for f in draft["Fields"])
    assert await named(api, "Mulder") == before == []


async def test_saving_a_draft_creates_the_contact_and_returns_the_real_record(api: ApiSession) -> None:
    draft = await new_draft(api)
    saved = await api.call(
        "POST", "SaveRecord", RecordId=draft["UniqueId"], FirstName="Fox", LastName="Mulder", Phone="+1 202 555 0199"
    )
    assert_matches(await openapi(api.client), "ContactRecord", saved)
    assert saved["DisplayText"] == "Fox Mulder" and saved["UniqueId"] != draft["UniqueId"]
    assert {a["SpecialKind"] for a in saved["Actions"]} >= {"Open", "LogActivity"}
    found = (await search(api, "(202) 555-0199"))["local"]["Records"]
    assert [r["UniqueId"] for r in found] == [saved["UniqueId"]]
    # the real record's id works as any other: SaveRecord changes it
    changed = await api.call("POST", "SaveRecord", RecordId=saved["UniqueId"], CompanyName="FBI")
    assert {f["WellKnownName"]: f["Value"] for f in changed["Fields"]}["CompanyName"] == "FBI"


async def test_saving_the_same_draft_twice_creates_one_contact_and_changes_it(api: ApiSession) -> None:
    draft = await new_draft(api)
    first = await api.call("POST", "SaveRecord", RecordId=draft["UniqueId"], ContactName="Walter Skinner")
    second = await api.call("POST", "SaveRecord", RecordId=draft["UniqueId"], CompanyName="FBI")
    assert second["UniqueId"] == first["UniqueId"]
    assert await named(api, "Skinner") == ["Walter Skinner"]
    assert {f["WellKnownName"]: f["Value"] for f in second["Fields"]}["CompanyName"] == "FBI"


async def test_two_saves_of_one_draft_at_once_create_one_contact(api: ApiSession) -> None:
    draft = await new_draft(api)
    answers = await asyncio.gather(
        *(api.call("POST", "SaveRecord", RecordId=draft["UniqueId"], ContactName="Monica Reyes") for _ in range(5))
    )
    assert len({a["UniqueId"] for a in answers}) == 1
    assert await named(api, "Reyes") == ["Monica Reyes"]


async def test_a_draft_is_remembered_by_a_restarted_daemon(
    api: ApiSession,
    partnercrmd_config: DaemonConfig,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    draft = await new_draft(api)
    await api.call("POST", "SaveRecord", RecordId=draft["UniqueId"], ContactName="John Doggett")
    await api.client.server.close()  # the daemon stops; a new one starts on the same home
    restarted = await aiohttp_client(create_app(partnercrmd_config))
    token = restarted.app[appkeys.INSTALL_TOKEN].value
    again = ApiSession(restarted, api.app_id)
    response = await restarted.post(
        "/api/v1/Register", data={"Name": "Test client", "Id": api.app_id}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 204
    await again.call("POST", "SaveRecord", RecordId=draft["UniqueId"], Email="doggett@example.org")
    assert await named(again, "Doggett") == ["John Doggett"]


async def test_a_draft_cannot_be_forged_nor_saved_empty(api: ApiSession) -> None:
    draft = await new_draft(api)
    body, mac = draft["UniqueId"].split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["t"] = "Lead"
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    forged = await error_of(await api.request("POST", "SaveRecord", RecordId=f"{forged_body}.{mac}", Notes="x"), 400)
    assert forged["Code"] == "invalid_id"
    empty = await error_of(await api.request("POST", "SaveRecord", RecordId=draft["UniqueId"]), 400)
    assert "Give at least one" in empty["Message"]
    unknown = await error_of(await api.request("POST", "CreateNewRecord", RecordTypeId="local/Lead"), 404)
    assert unknown["Code"] == "unknown_type"

"""Audit items 1 and 10 (issue 14): the registration policy (apps.RegistrationPolicy) through POST Register.

An approved or pending application's name and licensed user change only with the install token or by the user;
pending registrations are capped, rate-limited and expire.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd import appkeys
from partnercrmd.client_apps import AppStatus, RegistrationPolicy, read_apps, set_app_status
from partnercrmd.testing import ApiSession
from partnercrmd.vault_sync import reload_vault

Client = TestClient[web.Request, web.Application]


async def stored_apps(client: Client) -> dict[str, Any]:
    doc = await asyncio.to_thread(client.app[appkeys.VAULT].read)
    return read_apps(doc)


async def register(client: Client, app_id: str, name: str, user: str = "", token: str = "") -> Any:
    data = {"Id": app_id, "Name": name, **({"UserId": user} if user else {})}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/api/v1/Register", data=data, headers=headers)


async def test_an_approved_application_cannot_be_taken_over_without_the_token(api: ApiSession) -> None:
    client = api.client
    token = client.app[appkeys.INSTALL_TOKEN].value
    assert (await register(client, api.app_id, "Test client", "alice", token)).status == 204

    attack = await register(client, api.app_id, "EvilRename", "mallory")
    assert attack.status == 409
    answer = await attack.json()
    assert answer["Code"] == "app_details_locked"
    assert "install token" in answer["Message"]
    record = (await stored_apps(client))[api.app_id]
    assert (record.name, record.user_id, record.status) == ("Test client", "alice", AppStatus.APPROVED)
    for headers in ({"UserId": "mallory"}, {}):  # a rename through the header alone is refused as well
        response = await client.post(
            "/api/v1/Register", data={"Id": api.app_id, "Name": "Test client"}, headers={**headers}
        )
        assert response.status == (409 if headers else 204)
    assert (await stored_apps(client))[api.app_id].user_id == "alice"
    # the licensed user is still alice for the application's requests
    version = await api.call("GET", "Version")
    assert version["ProductName"]


async def test_the_token_holder_and_the_user_may_change_an_application(api: ApiSession) -> None:
    client = api.client
    token = client.app[appkeys.INSTALL_TOKEN].value
    assert (await register(client, api.app_id, "Renamed by its owner", "bob", token)).status == 204
    record = (await stored_apps(client))[api.app_id]
    assert (record.name, record.user_id) == ("Renamed by its owner", "bob")
    # the user revokes it; the application may then ask again with other details, and waits for approval
    await asyncio.to_thread(set_app_status, client.app[appkeys.VAULT], api.app_id, AppStatus.REVOKED)
    await reload_vault(client.app)
    client.app[appkeys.CONFIG].registration_wait = 0.2
    again = await register(client, api.app_id, "New name", "carol")
    assert again.status == 403
    assert (await again.json())["Code"] == "approval_pending"
    record = (await stored_apps(client))[api.app_id]
    assert (record.name, record.user_id, record.status) == ("New name", "carol", AppStatus.PENDING)


async def test_a_pending_application_keeps_the_details_it_asked_with(partnercrmd_client: Client) -> None:
    partnercrmd_client.app[appkeys.CONFIG].registration_wait = 0.1
    first = await register(partnercrmd_client, "soft-7", "Softphone", "u1")
    assert first.status == 403
    assert (await register(partnercrmd_client, "soft-7", "Softphone", "u1")).status == 403  # asking again: fine
    other = await register(partnercrmd_client, "soft-7", "Softphone", "u2")
    assert other.status == 409
    record = (await stored_apps(partnercrmd_client))["soft-7"]
    assert (record.name, record.user_id, record.status) == ("Softphone", "u1", AppStatus.PENDING)


async def test_a_flood_of_registrations_is_rate_limited_and_writes_little(partnercrmd_client: Client) -> None:
    partnercrmd_client.app[appkeys.CONFIG].registration_wait = 0.05
    policy = RegistrationPolicy()
    responses = await asyncio.gather(*(register(partnercrmd_client, f"flood-{i}", "Flood") for i in range(300)))
    statuses = [r.status for r in responses]
    assert statuses.count(403) == policy.new_per_minute  # accepted as pending, waited, not approved
    assert statuses.count(429) == 300 - policy.new_per_minute
    refused = next(r for r in responses if r.status == 429)
    assert (await refused.json())["Code"] == "too_many_registrations"
    pending = [a for a in (await stored_apps(partnercrmd_client)).values() if a.status is AppStatus.PENDING]
    assert len(pending) == policy.new_per_minute


async def test_pending_registrations_are_capped(partnercrmd_client: Client) -> None:
    partnercrmd_client.app[appkeys.CONFIG].registration_wait = 0.05
    partnercrmd_client.app[appkeys.APPS].policy = RegistrationPolicy(new_per_minute=1000, max_pending=20)
    responses = await asyncio.gather(*(register(partnercrmd_client, f"cap-{i}", "Cap") for i in range(30)))
    assert sorted(r.status for r in responses) == [403] * 20 + [429] * 10
    assert any([(await r.json())["Code"] == "too_many_pending" for r in responses if r.status == 429])
    # the install token's holder is never held back by strangers' registrations
    token = partnercrmd_client.app[appkeys.INSTALL_TOKEN].value
    assert (await register(partnercrmd_client, "own-program", "Own", token=token)).status == 204


async def test_old_pending_registrations_expire(partnercrmd_client: Client) -> None:
    partnercrmd_client.app[appkeys.CONFIG].registration_wait = 0.05
    long_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")

    def old_requests(doc: dict[str, Any]) -> None:
        apps = doc.setdefault("apps", {})
        for i in range(20):
            apps[f"old-{i}"] = {"id": f"old-{i}", "name": "Old", "status": "pending", "registered": long_ago}

    await asyncio.to_thread(partnercrmd_client.app[appkeys.VAULT].update, old_requests)
    await reload_vault(partnercrmd_client.app)
    response = await register(partnercrmd_client, str(uuid.uuid4()), "Fresh")
    assert response.status == 403  # pending, not refused: the old ones no longer count
    apps = await stored_apps(partnercrmd_client)
    assert not [a for a in apps if a.startswith("old-")]

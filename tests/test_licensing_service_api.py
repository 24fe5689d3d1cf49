"""The daemon licensed by the partner's HTTP licensing service, through its API: up, down within grace, past grace.

A local aiohttp server stands in for the partner's licensing platform (it
cannot be reached from here); it answers as docs/licensing.md documents.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from partnercrmd import appkeys
from partnercrmd.app import create_app
from partnercrmd.branding import Branding, Licensing
from partnercrmd.config import DaemonConfig
from partnercrmd.paths import Paths
from partnercrmd.testing import ApiSession, RecordingOpener
from tests.test_licensing import LicensingPlatform


@pytest.fixture
async def platform() -> AsyncIterator[LicensingPlatform]:
    platform = LicensingPlatform()
    await platform.start()
    yield platform
    if platform.server is not None:
        await platform.server.close()


@pytest.fixture
def grace_hours() -> int:
    return 72


@pytest.fixture
def partnercrmd_config(
    partnercrmd_home: Paths,
    partnercrmd_opener: RecordingOpener,
    partnercrmd_addins: list[tuple[str, object]],
    platform: LicensingPlatform,
    grace_hours: int,
) -> DaemonConfig:
    branding = Branding(
        product_name="Acme Phone",
        licensing=Licensing(
            provider="http",
            endpoint=f"http://127.0.0.1:{platform.port}/licence",
            cache_minutes=0,  # every request refreshes behind the answer, so a test sees the service's state at once
            grace_hours=grace_hours,
        ),
    )
    return DaemonConfig(
        paths=partnercrmd_home,
        port=0,
        region="GB",
        opener=partnercrmd_opener,
        extra_plugins=partnercrmd_addins,
        registration_wait=1.0,
        vault_poll_interval=0.05,
        branding=branding,
    )


async def search(api: ApiSession, user: str) -> aiohttp.ClientResponse:
    response: aiohttp.ClientResponse = await api.client.post(
        "/api/v1/Search", data={"query": "Huffman"}, headers={**api.headers, "UserId": user}
    )
    return response


async def version(api: ApiSession, user: str) -> dict[str, Any]:
    body: dict[str, Any] = await (await api.client.get("/api/v1/Version", headers={"UserId": user})).json()
    return {entry["Key"]: entry["Description"] for entry in body["Licenses"]}


async def test_service_up_licenses_per_user(api: ApiSession, platform: LicensingPlatform) -> None:
    assert (await search(api, "alice")).status == 200
    refused = await search(api, "mallory")
    assert refused.status == 402 and (await refused.json())["Code"] == "unlicensed"
    licences = await version(api, "alice")
    assert licences["mode"] == "Licensing service" and licences["user"].startswith("Licensed")
    assert "alice" in platform.asked and "mallory" in platform.asked


async def test_service_down_within_grace_keeps_users_working(api: ApiSession, platform: LicensingPlatform) -> None:
    assert (await search(api, "alice")).status == 200
    await platform.stop()
    for _ in range(3):
        assert (await search(api, "alice")).status == 200
        await asyncio.sleep(0.1)
    assert "unreachable" in (await version(api, "alice"))["source"]


@pytest.mark.parametrize("grace_hours", [0])
async def test_service_down_past_grace_unlicenses_and_announces(api: ApiSession, platform: LicensingPlatform) -> None:
    assert (await search(api, "alice")).status == 200
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        assert (await ws.receive_json())["EventType"] == "Initial"
        await platform.stop()
        await search(api, "alice")  # starts the refresh that finds the service gone
        while True:
            message = await asyncio.wait_for(ws.receive_json(), 10)
            if message["EventType"] == "LicenceChanged":
                break
    assert (message["UserId"], message["Licensed"], message["Mode"]) == ("alice", False, "http")
    refused = await search(api, "alice")
    assert refused.status == 402 and "grace period" in (await refused.json())["Message"]


async def test_development_mode_is_visibly_unlicensed_and_refuses_nothing(
    aiohttp_client: Any, partnercrmd_home: Paths
) -> None:
    client = await aiohttp_client(create_app(DaemonConfig(paths=partnercrmd_home, port=0, region="GB")))
    token = client.app[appkeys.INSTALL_TOKEN].value
    response = await client.post(
        "/api/v1/Register", data={"Name": "t", "Id": "dev-app"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 204
    session = ApiSession(client, "dev-app")
    assert (await session.request("POST", "Search", query="Huffman")).status == 200  # no UserId at all
    body = await (await client.get("/api/v1/Version")).json()
    assert body["Licenses"][0]["Description"] == "Development (unlicensed)"
    assert "evaluation" in body["Licenses"][1]["Description"]
    assert [entry["Value"] for entry in body["Licenses"]] == [0, 0]  # a number: development licenses nobody


async def test_a_licence_revoked_by_the_service_is_announced_and_enforced(
    api: ApiSession, platform: LicensingPlatform
) -> None:
    assert (await search(api, "alice")).status == 200
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        assert (await ws.receive_json())["EventType"] == "Initial"
        platform.licensed["alice"] = False  # the partner ends alice's subscription
        assert (await search(api, "alice")).status == 200  # answered from the cache; the refresh runs behind it
        while True:
            message = await asyncio.wait_for(ws.receive_json(), 10)
            if message["EventType"] == "LicenceChanged":
                break
    assert (message["UserId"], message["Licensed"]) == ("alice", False)
    assert (await search(api, "alice")).status == 402

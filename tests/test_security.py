"""SECURITY.md rules on the live app: DNS rebinding, foreign origins (HTTP and WebSocket), approval, CORS."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd import appkeys
from partnercrmd.client_apps import AppStatus, set_app_status
from partnercrmd.testing import ApiSession

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1",
        "localhost:1",
        "127.0.0.1.nip.io:{port}",
        "192.168.1.5:{port}",
    ],
)
async def test_foreign_host_header_is_refused_everywhere(api: ApiSession, host: str) -> None:
    headers = {**api.headers, "Host": host.format(port=api.client.port)}
    for method, path in (("GET", "/api/v1/Version"), ("POST", "/api/v1/Search"), ("GET", "/ui/configuration")):
        response = await api.client.request(method, path, headers=headers, data={"query": "Alice"})
        assert response.status == 403
        assert (await response.json())["Code"] == "forbidden_host"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "LOCALHOST:{port}"])
async def test_loopback_host_names_are_accepted(api: ApiSession, host: str) -> None:
    response = await api.client.get("/api/v1/Version", headers={"Host": host.format(port=api.client.port)})
    assert response.status == 200


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://127.0.0.1:1", "http://localhost.evil.example"]
)
async def test_foreign_origin_is_refused(api: ApiSession, origin: str) -> None:
    response = await api.client.post(
        "/api/v1/Search", data={"query": "Alice"}, headers={**api.headers, "Origin": origin}
    )
    assert response.status == 403
    assert (await response.json())["Code"] == "forbidden_origin"
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = await api.client.options("/api/v1/Search", headers={"Origin": origin})
    assert preflight.status == 403


async def test_own_origin_is_echoed_never_a_wildcard(api: ApiSession) -> None:
    origin = f"http://127.0.0.1:{api.client.port}"
    response = await api.client.post(
        "/api/v1/Search", data={"query": "Alice"}, headers={**api.headers, "Origin": origin}
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Vary"] == "Origin"
    preflight = await api.client.options(
        "/api/v1/Search", headers={"Origin": origin, "Access-Control-Request-Headers": "ApplicationId"}
    )
    assert preflight.status == 204
    assert "ApplicationId" in preflight.headers["Access-Control-Allow-Headers"]


async def test_paired_extension_origin_is_allowed(api: ApiSession) -> None:
    origin = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
    vault = api.client.app[appkeys.VAULT]

    def pair(doc: dict[str, object]) -> None:
        apps = doc["apps"]
        assert isinstance(apps, dict)
        apps[api.app_id]["origin"] = origin

    await asyncio.to_thread(vault.update, pair)
    await asyncio.sleep(0.3)  # the vault watcher picks the change up
    response = await api.client.post(
        "/api/v1/Search", data={"query": "Alice"}, headers={**api.headers, "Origin": origin}
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin


async def test_unregistered_or_missing_application_id_is_401(api: ApiSession) -> None:
    for headers in ({}, {"ApplicationId": str(uuid.uuid4())}):
        response = await api.client.post("/api/v1/Search", data={"query": "Alice"}, headers=headers)
        assert response.status == 401
        assert (await response.json())["Message"]


async def test_register_without_token_waits_then_is_refused(partnercrmd_client: Client) -> None:
    response = await partnercrmd_client.post("/api/v1/Register", data={"Name": "Stranger", "Id": "stranger-1"})
    assert response.status == 403
    assert (await response.json())["Code"] == "approval_pending"
    wrong = await partnercrmd_client.post(
        "/api/v1/Register", data={"Name": "Liar", "Id": "liar-1"}, headers={"Authorization": "Bearer not-the-token"}
    )
    assert wrong.status == 403


async def test_register_completes_when_the_user_approves(partnercrmd_client: Client) -> None:
    partnercrmd_client.app[appkeys.CONFIG].registration_wait = 5.0
    pending = asyncio.create_task(
        partnercrmd_client.post("/api/v1/Register", data={"Name": "Softphone", "Id": "soft-1", "UserId": "u42"})
    )
    await asyncio.sleep(0.3)
    assert not pending.done()
    vault = partnercrmd_client.app[appkeys.VAULT]
    await asyncio.to_thread(set_app_status, vault, "soft-1", AppStatus.APPROVED)  # what `apps approve` does
    response = await asyncio.wait_for(pending, 3)
    assert response.status == 204
    search = await partnercrmd_client.post(
        "/api/v1/Search", data={"query": "Alice"}, headers={"ApplicationId": "soft-1"}
    )
    assert search.status == 200


async def test_register_is_refused_when_the_user_revokes(partnercrmd_client: Client) -> None:
    partnercrmd_client.app[appkeys.CONFIG].registration_wait = 5.0
    pending = asyncio.create_task(partnercrmd_client.post("/api/v1/Register", data={"Name": "Bad", "Id": "bad-1"}))
    await asyncio.sleep(0.3)
    await asyncio.to_thread(set_app_status, partnercrmd_client.app[appkeys.VAULT], "bad-1", AppStatus.REVOKED)
    response = await asyncio.wait_for(pending, 3)
    assert response.status == 403
    assert (await response.json())["Code"] == "approval_denied"


async def test_register_bad_input(partnercrmd_client: Client) -> None:
    for data in ({"Name": "x"}, {"Id": "x"}, {"Name": "x", "Id": "has spaces"}, {"Name": "x", "Id": "a" * 200}):
        response = await partnercrmd_client.post("/api/v1/Register", data=data)
        assert response.status == 400, data
        assert (await response.json())["Message"]


async def test_websocket_checks_host_origin_and_application(api: ApiSession) -> None:
    path = f"/api/v1/events/{api.app_id}"
    for headers, status in (
        ({"Origin": "https://evil.example"}, 403),
        ({"Host": "evil.example"}, 403),
    ):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await api.client.ws_connect(path, headers=headers)
        assert refused.value.status == status
    with pytest.raises(aiohttp.WSServerHandshakeError) as unknown:
        await api.client.ws_connect(f"/api/v1/events/{uuid.uuid4()}")
    assert unknown.value.status == 401


async def test_record_page_links_cannot_be_forged(api: ApiSession) -> None:
    response = await api.client.get(
        "/records/eyJiIjoibG9jYWwiLCJjIjoiMSIsImUiOmZhbHNlfQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
    assert response.status == 400
    ui = await api.client.get("/ui/configuration")
    assert ui.status == 403  # no session without the one-time login


async def test_rotated_install_token_replaces_the_old_one_without_restart(partnercrmd_client: Client) -> None:
    app = partnercrmd_client.app
    old = app[appkeys.INSTALL_TOKEN].value
    await asyncio.to_thread(main_in_home, ["apps", "rotate-token"])
    await asyncio.sleep(0.3)  # the vault watcher applies it
    new = app[appkeys.INSTALL_TOKEN].value
    assert new != old
    stale = await partnercrmd_client.post(
        "/api/v1/Register", data={"Name": "Old", "Id": "old-1"}, headers={"Authorization": f"Bearer {old}"}
    )
    assert stale.status == 403
    fresh = await partnercrmd_client.post(
        "/api/v1/Register", data={"Name": "New", "Id": "new-1"}, headers={"Authorization": f"Bearer {new}"}
    )
    assert fresh.status == 204


def main_in_home(argv: list[str]) -> None:
    from partnercrmd.cli import main

    assert main(argv) == 0

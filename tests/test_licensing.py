"""Per-user licensing: signed licence files, the partner's HTTP licensing service, development mode.

The partner's licensing platform cannot be reached from here: a local aiohttp
server that answers as docs/licensing.md documents stands in for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from partnercrmd import appkeys
from partnercrmd.branding import Branding, Licensing
from partnercrmd.config import DaemonConfig
from partnercrmd.licensing.http_provider import HttpProvider
from partnercrmd.licensing.licence_file import FileProvider, issue_licence, parse_licence
from partnercrmd.partner_keys import SignatureError, generate_private_key, load_private_key, load_public_key
from partnercrmd.paths import Paths
from partnercrmd.testing import ApiSession, RecordingOpener
from partnercrmd.vault import Vault

TODAY = datetime.now(UTC).date()


@pytest.fixture(scope="module")
def partner_key() -> tuple[str, str]:
    return generate_private_key()


def licence_text(partner_key: tuple[str, str], **kwargs: Any) -> str:
    kwargs.setdefault("valid_from", TODAY - timedelta(days=3))
    return issue_licence(load_private_key(partner_key[0]), kwargs.pop("licensee", "Acme Ltd"), **kwargs)


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")
    return Vault.open(tmp_path / "config")


async def file_state(
    partner_key: tuple[str, str], vault: Vault, tmp_path: Path, text: str, user: str, *, key: str | None = None
) -> Any:
    path = tmp_path / "licence.lic"
    path.write_text(text, encoding="utf-8")
    provider = FileProvider(path, load_public_key(key or partner_key[1]), vault)
    await asyncio.to_thread(provider.load)
    return await provider.state(user)


# --- licence files -------------------------------------------------------------------------------


async def test_a_valid_licence_file_licenses_its_named_users(
    partner_key: tuple[str, str], vault: Vault, tmp_path: Path
) -> None:
    state = await file_state(partner_key, vault, tmp_path, licence_text(partner_key, users=("alice", "bob")), "bob")
    assert state.licensed and state.licensee == "Acme Ltd"
    assert state.expires_at is not None and state.expires_at.date() > TODAY


async def test_a_licence_file_does_not_license_another_user(
    partner_key: tuple[str, str], vault: Vault, tmp_path: Path
) -> None:
    state = await file_state(partner_key, vault, tmp_path, licence_text(partner_key, users=("alice",)), "mallory")
    assert not state.licensed
    assert "'mallory' is not named in the licence of Acme Ltd" in state.reason


async def test_an_expired_licence_file_licenses_nobody(
    partner_key: tuple[str, str], vault: Vault, tmp_path: Path
) -> None:
    text = licence_text(partner_key, users=("alice",), valid_from=TODAY - timedelta(days=70), months=1)
    state = await file_state(partner_key, vault, tmp_path, text, "alice")
    assert not state.licensed and "expired on" in state.reason


async def test_a_licence_not_yet_valid_licenses_nobody(
    partner_key: tuple[str, str], vault: Vault, tmp_path: Path
) -> None:
    text = licence_text(partner_key, users=("alice",), valid_from=TODAY + timedelta(days=5))
    state = await file_state(partner_key, vault, tmp_path, text, "alice")
    assert not state.licensed and "starts on" in state.reason


def tamper(text: str, old: str, new: str) -> str:
    """The licence file with its payload edited (re-encoded, signature kept): what a user might try."""
    import base64
    import json

    comment, token = text.strip().splitlines()
    kind, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload = json.loads(json.dumps(payload).replace(old, new))
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{comment}\n{kind}.{forged}.{signature}\n"


async def test_a_tampered_licence_file_licenses_nobody(
    partner_key: tuple[str, str], vault: Vault, tmp_path: Path
) -> None:
    text = licence_text(partner_key, users=("alice",))
    forged = tamper(text, '"alice"', '"mallory"')
    state = await file_state(partner_key, vault, tmp_path, forged, "mallory")
    assert not state.licensed and "altered" in state.reason
    longer = tamper(text, (TODAY - timedelta(days=3)).isoformat(), "2099-01-01")
    assert not (await file_state(partner_key, vault, tmp_path, longer, "alice")).licensed
    with pytest.raises(SignatureError):
        parse_licence(load_public_key(partner_key[1]), text.replace("licence.", "licence.A", 1))


async def test_a_licence_signed_by_another_partner_is_refused(
    partner_key: tuple[str, str], vault: Vault, tmp_path: Path
) -> None:
    other_public = generate_private_key()[1]
    text = licence_text(partner_key, users=("alice",))
    state = await file_state(partner_key, vault, tmp_path, text, "alice", key=other_public)
    assert not state.licensed and "not issued for this product or has been altered" in state.reason


async def test_seats_go_to_the_first_users_and_are_kept(
    partner_key: tuple[str, str], vault: Vault, tmp_path: Path
) -> None:
    path = tmp_path / "licence.lic"
    path.write_text(licence_text(partner_key, seats=2), encoding="utf-8")
    provider = FileProvider(path, load_public_key(partner_key[1]), vault)
    await asyncio.to_thread(provider.load)
    assert (await provider.state("u1")).licensed and (await provider.state("u2")).licensed
    third = await provider.state("u3")
    assert not third.licensed and "All 2 seats" in third.reason
    again = FileProvider(path, load_public_key(partner_key[1]), vault)  # a restart remembers who holds the seats
    await asyncio.to_thread(again.load)
    assert (await again.state("u2")).licensed and not (await again.state("u3")).licensed


def test_a_licence_runs_whole_months() -> None:
    key = load_private_key(generate_private_key()[0])
    text = issue_licence(key, "Acme", users=("a",), valid_from=date(2027, 1, 31), months=1)
    assert "2027-01-31 until 2027-02-28" in text


# --- the daemon: 402 for the unlicensed, Version.Licenses ------------------------------------------


@pytest.fixture
def branding(partner_key: tuple[str, str], tmp_path: Path) -> Branding:
    path = tmp_path / "licence.lic"
    path.write_text(licence_text(partner_key, users=("alice",)), encoding="utf-8")
    return Branding(
        product_name="Acme Phone",
        public_key=load_public_key(partner_key[1]),
        licensing=Licensing(provider="file", licence_file=path),
        source=tmp_path / "branding.toml",
    )


@pytest.fixture
def partnercrmd_config(
    partnercrmd_home: Paths,
    partnercrmd_opener: RecordingOpener,
    partnercrmd_addins: list[tuple[str, object]],
    branding: Branding,
) -> DaemonConfig:
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


async def post(api: ApiSession, route: str, user: str | None, **fields: str) -> aiohttp.ClientResponse:
    headers = {**api.headers, **({"UserId": user} if user is not None else {})}
    response: aiohttp.ClientResponse = await api.client.post(f"/api/v1/{route}", data=fields, headers=headers)
    return response


async def test_licensed_users_search_and_others_get_402(api: ApiSession) -> None:
    assert (await post(api, "Search", "alice", query="Huffman")).status == 200
    refused = await post(api, "Search", "mallory", query="Huffman")
    assert refused.status == 402
    body = await refused.json()
    assert body["Code"] == "unlicensed" and "'mallory' is not named in the licence" in body["Message"]
    nobody = await post(api, "Search", None, query="Huffman")
    assert nobody.status == 402 and (await nobody.json())["Code"] == "no_user_id"
    action = await post(api, "DoAction", "mallory", actionId="whatever")
    assert action.status == 402
    call = await post(api, "CallEvent", "mallory", CallId="c1", State="Ringing", Direction="Inbound")
    assert call.status == 402


async def test_the_user_id_registered_with_the_application_is_used(api: ApiSession) -> None:
    token = api.client.app[appkeys.INSTALL_TOKEN].value
    response = await api.client.post(
        "/api/v1/Register",
        data={"Name": "Softphone", "Id": "softphone-alice", "UserId": "alice"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 204
    search = await api.client.post(
        "/api/v1/Search", data={"query": "Huffman"}, headers={"ApplicationId": "softphone-alice"}
    )
    assert search.status == 200


async def test_version_reports_the_licence(api: ApiSession) -> None:
    body = await (await api.client.get("/api/v1/Version", headers={"UserId": "alice"})).json()
    licences = {entry["Key"]: entry for entry in body["Licenses"]}
    assert licences["mode"]["Description"] == "Licence file"
    assert "Acme Ltd" in licences["source"]["Description"]
    assert licences["user"]["Description"].startswith("Licensed") and licences["user"]["ExpiresAt"]
    assert [licences[k]["Value"] for k in ("mode", "source", "user")] == [1, 1, 1]  # a number (issue #20)
    other = await (await api.client.get("/api/v1/Version", headers={"UserId": "mallory"})).json()
    assert any(e["Description"].startswith("Unlicensed") and e["Value"] == 0 for e in other["Licenses"])


async def test_a_replaced_licence_file_is_picked_up_and_announced(
    api: ApiSession, partner_key: tuple[str, str], branding: Branding
) -> None:
    assert (await post(api, "Search", "alice", query="Huffman")).status == 200
    async with api.client.ws_connect(f"/api/v1/events/{api.app_id}") as ws:
        assert (await ws.receive_json())["EventType"] == "Initial"
        assert branding.licensing.licence_file is not None
        branding.licensing.licence_file.write_text(licence_text(partner_key, users=("bob",)), encoding="utf-8")
        while True:
            message = await asyncio.wait_for(ws.receive_json(), 10)
            if message["EventType"] == "LicenceChanged":
                break
    assert (message["UserId"], message["Licensed"], message["Mode"]) == ("alice", False, "file")
    assert (await post(api, "Search", "alice", query="Huffman")).status == 402
    assert (await post(api, "Search", "bob", query="Huffman")).status == 200


# --- the partner's HTTP licensing service (a local stand-in) ---------------------------------------


class LicensingPlatform:
    """Stands in for a partner's licensing platform: answers per user id as docs/licensing.md describes."""

    def __init__(self) -> None:
        self.licensed = {"alice": True, "mallory": False}
        self.asked: list[str] = []
        self.server: TestServer | None = None
        self.port = 0

    async def answer(self, request: web.Request) -> web.Response:
        user = request.query.get("user", "")
        self.asked.append(user)
        licensed = self.licensed.get(user, False)
        expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return web.json_response({"licensed": licensed, "expires": expires, "licensee": "Acme Ltd"})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/licence", self.answer)
        self.server = TestServer(app, port=self.port)
        await self.server.start_server()
        self.port = self.server.port or 0
        return f"http://127.0.0.1:{self.port}/licence"

    async def stop(self) -> None:
        assert self.server is not None
        await self.server.close()


async def http_provider(
    vault: Vault, endpoint: str, *, clock: Callable[[], float], cache_minutes: int = 60, grace_hours: int = 72
) -> HttpProvider:
    provider = HttpProvider(
        endpoint, "Acme Phone", vault, cache_minutes=cache_minutes, grace_hours=grace_hours, clock=clock
    )
    await provider.start()
    return provider


async def settle(provider: HttpProvider) -> None:
    """Wait for the background refreshes the provider started."""
    for task in list(provider._refreshing.values()):
        await task


async def test_licensing_service_up_answers_per_user_and_is_cached(vault: Vault) -> None:
    platform = LicensingPlatform()
    endpoint = await platform.start()
    now = [1_000_000.0]
    provider = await http_provider(vault, endpoint, clock=lambda: now[0])
    try:
        assert (await provider.state("alice")).licensed
        assert not (await provider.state("mallory")).licensed
        assert platform.asked == ["alice", "mallory"]
        await provider.state("alice")
        assert platform.asked == ["alice", "mallory"]  # cached: not asked again within cache_minutes
        now[0] += 3601
        assert (await provider.state("alice")).licensed  # stale: answered from the cache, refreshed behind
        await settle(provider)
        assert platform.asked[-1] == "alice" and len(platform.asked) == 3
    finally:
        await provider.close()
        await platform.stop()


async def test_licensing_service_down_within_grace_keeps_the_last_answer(vault: Vault) -> None:
    platform = LicensingPlatform()
    endpoint = await platform.start()
    now = [1_000_000.0]
    provider = await http_provider(vault, endpoint, clock=lambda: now[0], cache_minutes=1, grace_hours=72)
    try:
        assert (await provider.state("alice")).licensed
        await platform.stop()
        now[0] += 71 * 3600
        state = await provider.state("alice")
        await settle(provider)
        state = await provider.state("alice")
        assert state.licensed and "cannot be reached" in state.reason
        assert "unreachable" in provider.describe()
    finally:
        await provider.close()


async def test_licensing_service_down_past_grace_unlicenses(vault: Vault) -> None:
    platform = LicensingPlatform()
    endpoint = await platform.start()
    now = [1_000_000.0]
    provider = await http_provider(vault, endpoint, clock=lambda: now[0], cache_minutes=1, grace_hours=72)
    try:
        assert (await provider.state("alice")).licensed
        await platform.stop()
        now[0] += 120
        await provider.state("alice")
        await settle(provider)
        now[0] += 73 * 3600
        state = await provider.state("alice")
        assert not state.licensed and "grace period" in state.reason
        await platform.start()  # the same port: the service is back
        await settle(provider)
        now[0] += 120
        await provider.state("alice")
        await settle(provider)
        assert (await provider.state("alice")).licensed
    finally:
        await provider.close()
        await platform.stop()


async def test_a_never_seen_user_is_allowed_during_grace_while_the_service_is_down(vault: Vault) -> None:
    now = [1_000_000.0]
    provider = await http_provider(vault, "http://127.0.0.1:9/licence", clock=lambda: now[0], grace_hours=1)
    try:
        state = await provider.state("newcomer")
        assert state.licensed and state.provisional
        now[0] += 3601
        assert not (await provider.state("newcomer")).licensed
    finally:
        await provider.close()


async def test_answers_survive_a_restart(vault: Vault) -> None:
    platform = LicensingPlatform()
    endpoint = await platform.start()
    now = [1_000_000.0]
    provider = await http_provider(vault, endpoint, clock=lambda: now[0])
    await provider.state("alice")
    await provider.close()
    await platform.stop()
    again = await http_provider(vault, endpoint, clock=lambda: now[0])
    try:
        assert (await again.state("alice")).licensed  # from the vault, nobody asked
        assert platform.asked == ["alice"]
    finally:
        await again.close()

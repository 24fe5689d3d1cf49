"""Allowed web origins (issue #20 item 1): pages of origins the partner or the user allowed may call the API.

Through the live app: CORS and Private Network Access preflights, simple and non-simple requests,
the event WebSocket, the wildcard subdomain form, the union of the branding's and the setting's lists,
the setting taking effect without a restart, and malformed lists refused by the CLI and the
Applications page. Every other foreign origin stays refused as before (tests/test_security.py).
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd import appkeys
from partnercrmd.branding import BrandingError, load_branding_file
from partnercrmd.cli import main
from partnercrmd.config import DaemonConfig
from partnercrmd.settings import read_settings
from partnercrmd.testing import ApiSession
from partnercrmd.web_origins import WebOriginError, parse_origin, parse_origin_list
from tests.daemon_process import SERVE_ARGS, Daemon, describe, run_cli, wait_until
from tests.ui_support import csrf_of, log_in, page_text

Client = TestClient[web.Request, web.Application]

CRM = "https://crm.example.com"
SOFTPHONE_DEV = "http://localhost:3000"
PARTNER = "https://softphone.acme.example"
PREFLIGHT_ASKS = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "applicationid,content-type",
}
MALFORMED = [
    ("*", "allowing every web page is never possible"),
    ("null", "'null' is the origin of sandboxed frames"),
    ("https://crm.example.com/app", "no path, query or fragment"),
    ("https://user:secret@crm.example.com", "no user name or password"),
    ("ftp://crm.example.com", "only http:// and https://"),
    ("chrome-extension://abcdefghijklmnop", "only http:// and https://"),
    ("crm.example.com", "write scheme://host[:port]"),
    ("http://*.example.com", "over https only"),
    ("https://*.com", "two labels at least"),
    ("https://crm.*.example.com", "the only wildcard is a whole first label"),
    ("https://crm.example.com:70000", "from 1 to 65535"),
]


async def allow(client: Client, *origins: str) -> None:
    """`partnercrmd settings set web_origins=…` while the daemon runs, then let its vault watcher apply it."""
    assert await asyncio.to_thread(main, ["settings", "set", "web_origins=" + ",".join(origins)]) == 0
    wanted = parse_origin_list(origins)
    for _ in range(100):
        if client.app[appkeys.CONFIG].web_origins == wanted:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the running daemon did not apply web_origins={wanted}")


@pytest.fixture
async def crm_allowed(api: ApiSession) -> AsyncIterator[ApiSession]:
    await allow(api.client, CRM, SOFTPHONE_DEV)
    yield api


# --- preflights -------------------------------------------------------------------------------------------


async def test_preflight_from_an_allowed_origin_is_answered_with_the_echo_methods_headers_and_max_age(
    crm_allowed: ApiSession,
) -> None:
    for origin in (CRM, SOFTPHONE_DEV):
        response = await crm_allowed.client.options("/api/v1/Search", headers={"Origin": origin, **PREFLIGHT_ASKS})
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert "Origin" in response.headers["Vary"]
        assert {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")} == {"GET", "POST"}
        allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"applicationid", "authorization", "content-type", "userid"} <= allowed
        assert int(response.headers["Access-Control-Max-Age"]) > 0
        assert "Access-Control-Allow-Credentials" not in response.headers  # the API takes no cookies
        assert "Access-Control-Allow-Private-Network" not in response.headers  # not asked for


async def test_private_network_access_preflight_is_answered_for_an_allowed_origin_only(
    crm_allowed: ApiSession,
) -> None:
    asks = {**PREFLIGHT_ASKS, "Access-Control-Request-Private-Network": "true"}
    allowed = await crm_allowed.client.options("/api/v1/Search", headers={"Origin": CRM, **asks})
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Private-Network"] == "true"
    assert allowed.headers["Access-Control-Allow-Origin"] == CRM
    refused = await crm_allowed.client.options("/api/v1/Search", headers={"Origin": "https://evil.example", **asks})
    assert refused.status == 403
    assert (await refused.json())["Code"] == "forbidden_origin"
    assert "Access-Control-Allow-Private-Network" not in refused.headers
    assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "http://crm.example.com",  # the allowed host over another scheme
        "https://crm.example.com:8443",  # another port
        "https://crm.example.com.evil.example",  # a look-alike
        "https://app.crm.example.com",  # a subdomain of an exact entry
        "https://CRM.example.com",  # not what a browser sends: only the exact form is echoed
        "http://localhost:3001",
    ],
)
async def test_origins_not_allowed_stay_refused_on_preflight_request_and_websocket(
    crm_allowed: ApiSession, origin: str
) -> None:
    client = crm_allowed.client
    preflight = await client.options("/api/v1/Search", headers={"Origin": origin, **PREFLIGHT_ASKS})
    assert preflight.status == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    response = await client.post(
        "/api/v1/Search", data={"query": "Alice"}, headers={**crm_allowed.headers, "Origin": origin}
    )
    assert response.status == 403
    assert (await response.json())["Code"] == "forbidden_origin"
    assert "Access-Control-Allow-Origin" not in response.headers
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"/api/v1/events/{crm_allowed.app_id}", headers={"Origin": origin})
    assert refused.value.status == 403


# --- requests ---------------------------------------------------------------------------------------------


async def test_simple_request_from_an_allowed_origin_gets_the_echo(crm_allowed: ApiSession) -> None:
    response = await crm_allowed.client.get("/api/v1/Version", headers={"Origin": CRM})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == CRM
    assert "Origin" in response.headers["Vary"]
    assert (await response.json())["ProductVersion"]


async def test_non_simple_search_from_an_allowed_origin_answers_with_the_echo(crm_allowed: ApiSession) -> None:
    response = await crm_allowed.client.post(
        "/api/v1/Search", data={"query": "Alice"}, headers={**crm_allowed.headers, "Origin": CRM}
    )
    assert response.status == 200, await response.text()
    assert response.headers["Access-Control-Allow-Origin"] == CRM
    collections = await response.json()
    assert any(r["DisplayText"].startswith("Alice") for c in collections for r in c["Records"])


async def test_an_allowed_origin_still_needs_an_approved_application_and_can_read_why(
    crm_allowed: ApiSession,
) -> None:
    client = crm_allowed.client
    for headers in ({}, {"ApplicationId": str(uuid.uuid4())}):
        response = await client.post("/api/v1/Search", data={"query": "Alice"}, headers={**headers, "Origin": CRM})
        assert response.status == 401
        assert response.headers["Access-Control-Allow-Origin"] == CRM  # the page can read the Message
        assert (await response.json())["Message"]
    register = await client.post(
        "/api/v1/Register", data={"Name": "Web CRM", "Id": "web-crm-1"}, headers={"Origin": CRM}
    )
    assert register.status == 403
    assert (await register.json())["Code"] == "approval_pending"
    assert register.headers["Access-Control-Allow-Origin"] == CRM
    assert not client.app[appkeys.APPS].is_approved("web-crm-1")


async def test_register_with_the_install_token_from_an_allowed_origin_is_approved_at_once(
    crm_allowed: ApiSession,
) -> None:
    client = crm_allowed.client
    token = client.app[appkeys.INSTALL_TOKEN].value
    register = await client.post(
        "/api/v1/Register",
        data={"Name": "Web CRM", "Id": "web-crm-2"},
        headers={"Origin": CRM, "Authorization": f"Bearer {token}"},
    )
    assert register.status == 204
    assert register.headers["Access-Control-Allow-Origin"] == CRM
    search = await client.post(
        "/api/v1/Search", data={"query": "Alice"}, headers={"Origin": CRM, "ApplicationId": "web-crm-2"}
    )
    assert search.status == 200


async def test_errors_to_an_allowed_origin_carry_the_echo(crm_allowed: ApiSession) -> None:
    client = crm_allowed.client
    for method, path in (("POST", "/api/v1/NoSuchRoute"), ("GET", "/api/v1/Search"), ("POST", "/api/v1/MakeCall")):
        response = await client.request(method, path, headers={**crm_allowed.headers, "Origin": CRM})
        assert 400 <= response.status < 500, (method, path, response.status)
        assert response.headers["Access-Control-Allow-Origin"] == CRM, (method, path)
        assert (await response.json())["Code"]


async def test_allowed_web_origins_reach_the_api_only_not_the_configuration_pages(crm_allowed: ApiSession) -> None:
    client = crm_allowed.client
    await log_in(client)
    for path in ("/ui/applications", "/ui/integrations"):
        response = await client.get(path, headers={"Origin": CRM})
        assert response.status == 403, path
        assert "Access-Control-Allow-Origin" not in response.headers
    posted = await client.post("/ui/applications/web-origins", data={"web_origins": "*"}, headers={"Origin": CRM})
    assert posted.status == 403


async def test_a_host_header_not_on_the_loopback_list_is_refused_even_from_an_allowed_origin(
    crm_allowed: ApiSession,
) -> None:
    response = await crm_allowed.client.post(
        "/api/v1/Search",
        data={"query": "Alice"},
        headers={**crm_allowed.headers, "Origin": CRM, "Host": "crm.example.com"},
    )
    assert response.status == 403
    assert (await response.json())["Code"] == "forbidden_host"


# --- the event WebSocket ----------------------------------------------------------------------------------


async def test_event_websocket_is_accepted_from_an_allowed_origin(crm_allowed: ApiSession) -> None:
    ws = await crm_allowed.client.ws_connect(f"/api/v1/events/{crm_allowed.app_id}", headers={"Origin": CRM})
    try:
        initial = await ws.receive_json(timeout=5)
        assert initial["EventType"] == "Initial"
    finally:
        await ws.close()


async def test_event_websocket_from_an_allowed_origin_still_needs_an_approved_application(
    crm_allowed: ApiSession,
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await crm_allowed.client.ws_connect(f"/api/v1/events/{uuid.uuid4()}", headers={"Origin": CRM})
    assert refused.value.status == 401


# --- wildcard, union, runtime changes ---------------------------------------------------------------------


async def test_wildcard_allows_subdomains_at_any_depth_never_the_domain_itself(api: ApiSession) -> None:
    await allow(api.client, "https://*.example.com")
    for origin, status in (
        ("https://crm.example.com", 200),
        ("https://eu.crm.example.com", 200),
        ("https://example.com", 403),
        ("http://crm.example.com", 403),
        ("https://crm.example.com:8443", 403),
        ("https://crmexample.com", 403),
        ("https://example.com.evil.test", 403),
    ):
        response = await api.client.post(
            "/api/v1/Search", data={"query": "Alice"}, headers={**api.headers, "Origin": origin}
        )
        assert response.status == status, origin
        assert (response.headers.get("Access-Control-Allow-Origin") == origin) is (status == 200), origin


@pytest.fixture
def partner_branding(tmp_path: Path, partnercrmd_config: DaemonConfig) -> DaemonConfig:
    """A branding file whose `[api] web_origins` allows the partner's web softphone."""
    branding = tmp_path / "branding.toml"
    branding.write_text(
        f'[product]\nname = "Acme Connect"\n[api]\nweb_origins = ["{PARTNER}/", "HTTPS://SOFTPHONE.acme.example:443"]\n',
        encoding="utf-8",
    )
    partnercrmd_config.branding = load_branding_file(branding)
    return partnercrmd_config


async def test_branding_and_setting_origins_are_allowed_together(
    partner_branding: DaemonConfig, api: ApiSession
) -> None:
    assert partner_branding.branding.web_origins == (PARTNER,)  # normalised and de-duplicated
    await allow(api.client, CRM)
    for origin, status in ((PARTNER, 200), (CRM, 200), ("https://evil.example", 403)):
        response = await api.client.post(
            "/api/v1/Search", data={"query": "Alice"}, headers={**api.headers, "Origin": origin}
        )
        assert response.status == status, origin
    await allow(api.client)  # the user's list emptied: the partner's stays
    assert (await api.client.get("/api/v1/Version", headers={"Origin": PARTNER})).status == 200
    assert (await api.client.get("/api/v1/Version", headers={"Origin": CRM})).status == 403


async def test_changing_the_setting_takes_effect_without_a_restart(api: ApiSession) -> None:
    async def search_status() -> int:
        response = await api.client.post(
            "/api/v1/Search", data={"query": "Alice"}, headers={**api.headers, "Origin": CRM}
        )
        return response.status

    assert await search_status() == 403
    await allow(api.client, CRM)
    assert await search_status() == 200
    ws = await api.client.ws_connect(f"/api/v1/events/{api.app_id}", headers={"Origin": CRM})
    await ws.close()
    await allow(api.client, SOFTPHONE_DEV)
    assert await search_status() == 403
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await api.client.ws_connect(f"/api/v1/events/{api.app_id}", headers={"Origin": CRM})


@pytest.mark.parametrize(("entry", "message"), MALFORMED)
def test_a_malformed_branding_list_is_refused_with_the_file_named(tmp_path: Path, entry: str, message: str) -> None:
    branding = tmp_path / "branding.toml"
    branding.write_text(f'[product]\nname = "Acme Connect"\n[api]\nweb_origins = ["{entry}"]\n', encoding="utf-8")
    with pytest.raises(BrandingError) as refused:
        load_branding_file(branding)
    assert str(branding) in refused.value.message
    assert message in refused.value.message


def test_branding_web_origins_must_be_a_list(tmp_path: Path) -> None:
    branding = tmp_path / "branding.toml"
    branding.write_text(f'[product]\nname = "Acme"\n[api]\nweb_origins = "{CRM}"\n', encoding="utf-8")
    with pytest.raises(BrandingError, match=r"\[api\] web_origins must be a list"):
        load_branding_file(branding)


# --- the CLI ----------------------------------------------------------------------------------------------


def test_cli_stores_the_list_normalised_and_shows_it(
    partnercrmd_home: object, capsys: pytest.CaptureFixture[str]
) -> None:
    given = (
        "web_origins=HTTPS://CRM.example.com:443/, http://localhost:3000 ,https://*.example.com,https://crm.example.com"
    )
    assert main(["settings", "set", given]) == 0
    capsys.readouterr()
    assert main(["settings", "show"]) == 0
    shown = capsys.readouterr().out
    assert "web_origins = https://crm.example.com, http://localhost:3000, https://*.example.com" in shown


@pytest.mark.parametrize(("entry", "message"), MALFORMED)
def test_cli_refuses_a_malformed_list_with_a_clear_message_and_changes_nothing(
    partnercrmd_home: object, capsys: pytest.CaptureFixture[str], entry: str, message: str
) -> None:
    assert main(["settings", "set", f"web_origins={CRM}"]) == 0
    capsys.readouterr()
    assert main(["settings", "set", f"web_origins={SOFTPHONE_DEV},{entry}"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert main(["settings", "show"]) == 0
    assert f"web_origins = {CRM}" in capsys.readouterr().out


# --- the Applications page --------------------------------------------------------------------------------


async def test_applications_page_shows_edits_and_applies_the_list_at_once(
    partner_branding: DaemonConfig, api: ApiSession
) -> None:
    client = api.client
    await log_in(client)
    page = await page_text(client, "/ui/applications")
    assert 'id="web-origins-field"' in page
    assert f"<code>{PARTNER}</code>" in page  # the partner's list, shown, not editable
    response = await client.post(
        "/ui/applications/web-origins",
        data={"csrf": csrf_of(page), "web_origins": f"HTTPS://CRM.example.com:443\n{SOFTPHONE_DEV}\n"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert client.app[appkeys.CONFIG].web_origins == (CRM, SOFTPHONE_DEV)  # no wait: the page applies it
    doc = await asyncio.to_thread(client.app[appkeys.VAULT].read)
    assert read_settings(doc)["web_origins"] == [CRM, SOFTPHONE_DEV]
    assert (await client.get("/api/v1/Version", headers={"Origin": CRM})).status == 200
    page = await page_text(client, "/ui/applications?done=web_origins")
    assert f">{CRM}\n{SOFTPHONE_DEV}</textarea>" in page
    assert "Saved." in page


@pytest.mark.parametrize(("entry", "message"), MALFORMED[:4])
async def test_applications_page_shows_a_malformed_entry_beside_the_field_and_changes_nothing(
    api: ApiSession, entry: str, message: str
) -> None:
    client = api.client
    await allow(client, CRM)
    await log_in(client)
    page = await page_text(client, "/ui/applications")
    response = await client.post(
        "/ui/applications/web-origins", data={"csrf": csrf_of(page), "web_origins": f"{SOFTPHONE_DEV}\n{entry}"}
    )
    assert response.status == 400
    html = await response.text()
    assert 'aria-invalid="true"' in html
    assert 'id="web-origins-error"' in html
    assert message.replace("'", "&#39;") in html
    assert f"{SOFTPHONE_DEV}\n" in html  # what the user typed stays in the field
    assert client.app[appkeys.CONFIG].web_origins == (CRM,)
    doc = await asyncio.to_thread(client.app[appkeys.VAULT].read)
    assert read_settings(doc)["web_origins"] == [CRM]


async def test_applications_page_form_needs_the_anti_forgery_token(api: ApiSession) -> None:
    await log_in(api.client)
    response = await api.client.post("/ui/applications/web-origins", data={"web_origins": CRM})
    assert response.status == 403
    assert api.client.app[appkeys.CONFIG].web_origins == ()


# --- the parser -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("https://crm.example.com", "https://crm.example.com"),
        ("HTTPS://CRM.Example.COM:443/", "https://crm.example.com"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[0:0::1]:8080", "http://[::1]:8080"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://*.Example.com:8443", "https://*.example.com:8443"),
    ],
)
def test_entries_are_normalised_to_what_a_browser_sends(written: str, stored: str) -> None:
    assert str(parse_origin(written)) == stored


@pytest.mark.parametrize(
    "entry",
    [
        "https://",
        "https://a b.example",
        "https://-a.example",
        "https://999.1.1.1",
        "https://[::1",
        "https://x.example?a",
    ],
)
def test_entries_that_are_no_origin_are_refused(entry: str) -> None:
    with pytest.raises(WebOriginError):
        parse_origin(entry)


# --- the HTTPS listener serves the same rules ----------------------------------------------------------------


@pytest.fixture
def https_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A real `partnercrmd serve` with HTTPS on a free port (its first use makes the local authority)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        https_port = probe.getsockname()[1]
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    daemon = Daemon(
        tmp_path / "home", args=(*SERVE_ARGS, "--https-port", str(https_port)), extra_env={"HOME": str(user_home)}
    )
    try:
        yield daemon.start()
    finally:
        daemon.close()


def https_request(
    port: int, method: str, route: str, authority: Path, headers: dict[str, str], body: bytes | None = None
) -> http.client.HTTPResponse:
    """One request to `https://localhost:PORT/api/v1/ROUTE`, trusting only the daemon's authority; the answer, read."""
    connection = http.client.HTTPSConnection(
        "localhost", port, context=ssl.create_default_context(cafile=str(authority)), timeout=10
    )
    try:
        connection.request(method, f"/api/v1/{route}", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


async def wss_first_event(port: int, app_id: str, origin: str, authority: Path) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"wss://localhost:{port}/api/v1/events/{app_id}",
            ssl=ssl.create_default_context(cafile=str(authority)),
            headers={"Origin": origin},
        ) as ws,
    ):
        return str((await ws.receive_json(timeout=10))["EventType"])


def test_allowed_origins_get_the_same_cors_over_https(https_daemon: Daemon) -> None:
    result = run_cli(https_daemon.home, "settings", "set", f"web_origins={CRM}")
    assert result.returncode == 0, describe(result)
    port = int(https_daemon.info["https_port"])
    authority = https_daemon.home / "tls" / "authority.pem"
    app_id = https_daemon.register_trusted("HTTPS web CRM")
    form = {"ApplicationId": app_id, "Content-Type": "application/x-www-form-urlencoded"}

    def preflight_status() -> int:
        return https_request(port, "OPTIONS", "Search", authority, {"Origin": CRM, **PREFLIGHT_ASKS}).status

    wait_until(lambda: preflight_status() == 204, timeout=10, what="the running daemon allowing the origin")
    asks = {"Origin": CRM, **PREFLIGHT_ASKS, "Access-Control-Request-Private-Network": "true"}
    preflight = https_request(port, "OPTIONS", "Search", authority, asks)
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == CRM
    assert preflight.headers["Access-Control-Allow-Private-Network"] == "true"
    search = https_request(port, "POST", "Search", authority, {**form, "Origin": CRM}, b"query=Alice")
    assert search.status == 200
    assert search.headers["Access-Control-Allow-Origin"] == CRM
    assert asyncio.run(wss_first_event(port, app_id, CRM, authority)) == "Initial"

    refused = https_request(port, "POST", "Search", authority, {**form, "Origin": "https://evil.example"}, b"query=A")
    assert refused.status == 403
    assert refused.headers.get("Access-Control-Allow-Origin") is None
    with pytest.raises(aiohttp.WSServerHandshakeError) as handshake:
        asyncio.run(wss_first_event(port, app_id, "https://evil.example", authority))
    assert handshake.value.status == 403

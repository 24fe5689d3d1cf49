"""Templates and the daemon's sign-in (issue #17, item 1), without a browser: what a template declares for
"Sign in with <CRM>" (per tenant and region), tokens of an older release's file adopted into the vault, and
API-key templates whose key is checked, with a real authenticated call, as it is saved.

The browser acceptance test is test_oauth_signin_browser.py; the core's flow is tested in tests/test_oauth_signin.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import crm_hubspot
import crm_microsoft365
import crm_pipedrive
import pytest
from aiohttp import web
from partnercrmd_templates import discover
from templates_fake_crm import FakeCrm

from partnercrmd.sdk import Integration
from partnercrmd.testing import (
    ApiSession,
    Paths,
    book_ids,
    book_sign_in,
    configure_book,
    daemon_paths,
    remove_default_book,
    run_cli,
    search,
)


def integration(integration_id: str) -> Integration:
    return next(i for i in discover().integrations if i.id == integration_id)


def test_a_template_says_where_to_sign_in_for_the_books_region_and_whose_client() -> None:
    zoho = integration("zoho-crm")
    assert zoho.sign_in is not None
    eu = zoho.sign_in({"data_centre": "eu", "org_id": "org1"})
    assert eu is not None
    assert (eu.authorize_url, eu.token_url) == (
        "https://accounts.zoho.eu/oauth/v2/auth",
        "https://accounts.zoho.eu/oauth/v2/token",
    )
    assert eu.userinfo_url == "https://www.zohoapis.eu/crm/v8/users?type=CurrentUser"
    assert eu.token_scheme == "Zoho-oauthtoken" and eu.authorize_params == {
        "access_type": "offline",
        "prompt": "consent",
    }
    assert eu.client_id == "" and eu.client_secret == ""  # the partner's client, from the branding
    assert eu.account_name is not None
    assert eu.account_name({"users": [{"email": "dana@northwind.example", "full_name": "Dana"}]}) == (
        "dana@northwind.example"
    )
    own = zoho.sign_in({"data_centre": "com", "org_id": "org1", "client_id": "mine", "client_secret": "my-secret"})
    assert own is not None and (own.client_id, own.client_secret) == ("mine", "my-secret")

    microsoft = integration("microsoft365")
    assert microsoft.sign_in is not None
    tenant = microsoft.sign_in({"tenant": "contoso.onmicrosoft.com"})
    assert tenant is not None and tenant.service == "Microsoft"
    assert tenant.authorize_url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    assert tenant.scopes == ("offline_access User.Read Contacts.ReadWrite",)
    # Integrations that do not sign in by authorisation code have no button.
    assert integration("pipedrive").sign_in is None and integration("dynamics365").sign_in is None
    # The user's own client id is an advanced setting, never required: the partner's is the norm.
    client_field = integration("hubspot").config_field("client_id")
    assert client_field is not None and client_field.advanced and not client_field.required


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeCrm]:
    crm = crm_hubspot.build()
    await crm.start()
    yield crm
    await crm.stop()


async def test_an_older_releases_token_file_is_moved_into_the_vault(
    api: ApiSession, partnercrmd_app: web.Application, hubspot: FakeCrm
) -> None:
    await remove_default_book(partnercrmd_app)
    settings = crm_hubspot.settings(hubspot)
    del settings["refresh_token"]
    book_id = await configure_book(partnercrmd_app, "hubspot", name="Sales", **settings)
    token_file = daemon_paths(partnercrmd_app).book_dir(book_id) / "oauth-tokens.json"
    assert hubspot.oauth is not None
    older = {"access_token": "", "expires_at": 0, "refresh_token": hubspot.oauth.refresh_token, "seed": ""}
    token_file.write_text(json.dumps(older), encoding="utf-8")  # as `partnercrmd template authorize` left it

    found = (await search(api, "Whitfield"))[book_id]
    assert [r["DisplayText"] for r in found["Records"]] == ["Dana Whitfield"]
    assert not token_file.exists()
    stored = await book_sign_in(partnercrmd_app, book_id)
    assert stored["refresh_token"] == hubspot.oauth.refresh_token and stored["access_token"] in hubspot.access_tokens
    assert hubspot.token_grants == ["refresh_token"]


@pytest.fixture
async def pipedrive() -> AsyncIterator[FakeCrm]:
    crm = crm_pipedrive.build()
    await crm.start()
    yield crm
    await crm.stop()


async def test_an_api_key_is_checked_with_a_real_call_as_it_is_saved(
    partnercrmd_home: Paths, pipedrive: FakeCrm, capsys: pytest.CaptureFixture[str]
) -> None:
    def add(name: str, settings: dict[str, str]) -> int:
        return run_cli(["books", "add", "pipedrive", "--name", name, *[f"--set={k}={v}" for k, v in settings.items()]])

    before = len(pipedrive.requests)
    assert await asyncio.to_thread(add, "Wrong key", crm_pipedrive.wrong_settings(pipedrive)) != 0
    said = capsys.readouterr().err
    assert "refused" in said and crm_pipedrive.wrong_settings(pipedrive)["api_token"] not in said
    assert len(pipedrive.requests) > before  # the check asked the CRM itself
    assert await asyncio.to_thread(add, "Right key", crm_pipedrive.settings(pipedrive)) == 0
    assert "Right key" in capsys.readouterr().out


async def test_a_book_that_signs_in_is_saved_before_the_user_signs_in(
    api: ApiSession, partnercrmd_app: web.Application, hubspot: FakeCrm, tmp_path: Path
) -> None:
    """No credentials exist yet when the form is saved: the check does not try to connect, the page then signs in."""
    settings = {"portal_id": "2451234", "api_url": hubspot.url, "app_url": hubspot.url}
    started = time.monotonic()
    code = await asyncio.to_thread(
        run_cli, ["books", "add", "hubspot", "--name", "Later", *[f"--set={k}={v}" for k, v in settings.items()]]
    )
    assert code == 0 and time.monotonic() - started < 30
    assert hubspot.requests == []
    for _ in range(100):
        if any(b != "local" for b in book_ids(partnercrmd_app)):
            break
        await asyncio.sleep(0.05)
    [book_id] = [b for b in book_ids(partnercrmd_app) if b != "local"]
    found = (await search(api, "Whitfield"))[book_id]
    assert "Not signed in to HubSpot yet" in found["ExceptionText"]


async def test_the_reproductions_refuse_what_the_vendors_refuse(hubspot: FakeCrm) -> None:
    """The OAuth reproductions are only worth their tests if they refuse like the vendors: an unknown client, an
    unregistered redirect URI (HubSpot compares exactly; Microsoft ignores the port of a loopback address), a
    request without PKCE S256; and, at the token endpoint, a verifier that does not match."""
    microsoft = crm_microsoft365.build()
    await microsoft.start()
    assert hubspot.oauth is not None and microsoft.oauth is not None
    hubspot.oauth.redirect_uris = ("http://127.0.0.1:10088/ui/oauth/callback",)
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B
    good = {
        "response_type": "code",
        "client_id": hubspot.oauth.client_id,
        "redirect_uri": "http://127.0.0.1:10088/ui/oauth/callback",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    try:
        async with aiohttp.ClientSession() as browser:

            async def authorize(crm: FakeCrm, **changes: str) -> tuple[int, str]:
                assert crm.oauth is not None
                query = {**good, "client_id": crm.oauth.client_id, **changes}
                async with browser.get(crm.url + crm.oauth.authorize_path, params=query, allow_redirects=False) as at:
                    return at.status, at.headers.get("Location", "") or await at.text()

            assert (await authorize(hubspot))[0] == 302
            assert await authorize(hubspot, client_id="someone-else") == (
                400,
                "bad authorisation request: unknown client_id",
            )
            wrong_port = {"redirect_uri": "http://127.0.0.1:10089/ui/oauth/callback"}
            assert (await authorize(hubspot, **wrong_port))[1].endswith("redirect_uri is not registered")
            assert (await authorize(hubspot, code_challenge_method="plain"))[1].endswith("PKCE S256 only")
            assert (await authorize(microsoft, **wrong_port))[0] == 302  # any port of the registered loopback address
            assert (await authorize(microsoft, redirect_uri="http://127.0.0.1:10089/elsewhere"))[0] == 400

            _, back = await authorize(hubspot)
            code = back.split("code=")[1].split("&")[0]
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": good["redirect_uri"],
                "code_verifier": "not-the-verifier-of-that-challenge-0000000000",
                "client_id": hubspot.oauth.client_id,
                "client_secret": hubspot.oauth.client_secret,
            }
            async with browser.post(hubspot.url + hubspot.oauth.token_path, data=form) as token:
                assert token.status == 400 and (await token.json())["error"] == "invalid_grant"
    finally:
        await microsoft.stop()

"""OAuth 2 in templates: signing a book in with `partnercrmd template authorize` (authorisation code with
PKCE, loopback redirect on 127.0.0.1 as RFC 8252 §7.3 describes for native apps), and rotated refresh
tokens that outlive the daemon. The authorisation server is the HubSpot and Salesforce reproductions
(crm_hubspot.py, crm_salesforce.py), which follow RFC 6749/7636 as those CRMs document them."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import crm_hubspot
import crm_salesforce
import pytest
from aiohttp import web
from partnercrmd_templates import discover
from partnercrmd_templates.connector import TemplateBook
from templates_fake_crm import FakeCrm

from partnercrmd.sdk import BookContext, SearchQuery
from partnercrmd.testing import ApiSession, Paths, book_ids, book_sign_in


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeCrm]:
    crm = crm_hubspot.build()
    await crm.start()
    yield crm
    await crm.stop()


async def cli(home: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "partnercrmd",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PARTNERCRMD_HOME": str(home)},
    )


async def test_authorize_signs_a_book_in_through_the_browser_and_the_daemon_uses_it(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_home: Paths, hubspot: FakeCrm
) -> None:
    home = partnercrmd_home.config_dir
    settings = crm_hubspot.settings(hubspot)
    del settings["refresh_token"]  # nothing but the app's credentials: the user signs in
    settings["app_url"] = hubspot.url  # where HubSpot's consent page is
    add = await cli(
        home, "books", "add", "hubspot", "--name", "Sales", *[f"--set={k}={v}" for k, v in settings.items()]
    )
    out, err = await add.communicate()
    assert add.returncode == 0, err.decode()
    book_id = out.decode().split("(id ")[1].split(",")[0]

    authorize = await cli(home, "template", "authorize", "Sales", "--no-browser")
    assert authorize.stdout is not None
    assert (await asyncio.wait_for(authorize.stdout.readline(), 30)).decode().strip() == "Open this address to sign in:"
    url = (await authorize.stdout.readline()).decode().strip()
    assert url.startswith(f"{hubspot.url}/oauth/authorize?response_type=code&client_id=partnercrmd-client")
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url and "code_challenge_method=S256" in url
    # The browser: the consent page redirects to the command's loopback listener, which takes the code.
    async with aiohttp.ClientSession() as browser, browser.get(url) as page:
        assert page.status == 200
        assert await page.text() == "partnercrmd is authorised; you may close this window."
    rest, err = await asyncio.wait_for(authorize.communicate(), 30)
    assert authorize.returncode == 0, err.decode()
    assert "'Sales' is signed in; the tokens are kept in the encrypted vault." in rest.decode()
    assert hubspot.token_grants == ["authorization_code"]  # the PKCE verifier matched the challenge

    stored = await book_sign_in(partnercrmd_app, book_id)  # in the vault, never in a file
    assert stored["refresh_token"] in hubspot.refresh_tokens and stored["client_id"] == settings["client_id"]
    assert not (home / "data" / "books" / book_id / "oauth-tokens.json").exists()

    # The running daemon picks the book up from the vault and searches with the stored tokens.
    for _ in range(100):
        if book_id in book_ids(partnercrmd_app):
            break
        await asyncio.sleep(0.05)
    [collection] = [c for c in await api.call("POST", "Search", query="Whitfield") if c["AddinId"] == book_id]
    assert [r["DisplayText"] for r in collection["Records"]] == ["Dana Whitfield"]
    assert hubspot.token_grants == ["authorization_code"]  # the access token from the sign-in was used
    hubspot.expire_access_tokens()
    [collection] = [c for c in await api.call("POST", "Search", query="Whitfield") if c["AddinId"] == book_id]
    assert collection["ExceptionText"] == "" and hubspot.token_grants == ["authorization_code", "refresh_token"]


async def test_an_unauthorised_book_says_how_to_sign_in(tmp_path: Path, hubspot: FakeCrm) -> None:
    settings = crm_hubspot.settings(hubspot)
    settings["refresh_token"] = ""
    integration = next(i for i in discover().integrations if i.id == "hubspot")
    connector = integration.open(BookContext("crm", "CRM", settings, tmp_path, "GB"))
    assert isinstance(connector, TemplateBook)
    try:
        with pytest.raises(
            Exception, match=r"HubSpot is not authorised yet: run `partnercrmd template authorize BOOK`"
        ):
            await connector.search(SearchQuery("Dana", 5))
    finally:
        await connector.close()


async def test_a_rotated_refresh_token_outlives_the_daemon(tmp_path: Path) -> None:
    crm = crm_salesforce.build()  # Salesforce with refresh token rotation turned on
    await crm.start()
    integration = next(i for i in discover().integrations if i.id == "salesforce")
    settings = crm_salesforce.settings(crm)
    try:
        first = integration.open(BookContext("crm", "CRM", settings, tmp_path, "GB"))
        assert isinstance(first, TemplateBook)
        assert [c.name for c in await first.search(SearchQuery("Dana", 5))] == ["Dana Whitfield"]
        await first.close()
        assert crm.oauth is not None and crm.oauth.refresh_token not in crm.refresh_tokens  # spent and rotated

        # "Restart": a new connector with the same settings (the spent token) and the same data folder.
        crm.expire_access_tokens()
        second = integration.open(BookContext("crm", "CRM", settings, tmp_path, "GB"))
        assert isinstance(second, TemplateBook)
        assert [c.name for c in await second.search(SearchQuery("Eamon", 5))] == ["Eamon O'Neill"]
        await second.close()
        assert crm.token_grants == ["refresh_token", "refresh_token"]

        # A new refresh token typed into the settings replaces the stored one.
        fresh = "refresh-typed-by-the-user-42"
        crm.refresh_tokens.add(fresh)
        crm.expire_access_tokens()
        third = integration.open(BookContext("crm", "CRM", {**settings, "refresh_token": fresh}, tmp_path, "GB"))
        assert isinstance(third, TemplateBook)
        assert [c.name for c in await third.search(SearchQuery("Zoë", 5))] == ["Zoë Lefèvre"]
        await third.close()
        assert fresh not in crm.refresh_tokens  # it was the one used (and rotated)
    finally:
        await crm.stop()


async def test_requests_refused_at_once_renew_the_token_once(tmp_path: Path) -> None:
    crm = crm_salesforce.build()  # rotation on: a second refresh with the spent token would fail
    await crm.start()
    integration = next(i for i in discover().integrations if i.id == "salesforce")
    connector = integration.open(BookContext("crm", "CRM", crm_salesforce.settings(crm), tmp_path, "GB"))
    assert isinstance(connector, TemplateBook)
    try:
        await connector.search(SearchQuery("Dana", 5))
        crm.expire_access_tokens()
        found = await asyncio.gather(*(connector.search(SearchQuery(name, 5)) for name in ("Dana", "Eamon", "Zoë")))
        assert [[c.name for c in f] for f in found] == [["Dana Whitfield"], ["Eamon O'Neill"], ["Zoë Lefèvre"]]
        assert crm.token_grants == ["refresh_token", "refresh_token"]
    finally:
        await connector.close()
        await crm.stop()

"""Helpers for HTTP-level tests of the configuration UI: log in as ShowWindow would, read forms' tokens."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd.pages import window_login_url

Client = TestClient[web.Request, web.Application]

UI_PAGES = (
    "/ui/integrations",
    "/ui/dialling",
    "/ui/applications",
    "/ui/viewer",
    "/ui/about",
    "/ui/configuration",
    "/ui/start",
    "/ui/contacts",
    "/ui/requests/new",
)
"""Every page of the configuration UI reachable from the navigation (books' pages come on top)."""


async def log_in(client: Client, window: str = "integrations") -> None:
    """Redeem a one-time login link, as the browser ShowWindow opens does; the client keeps the cookie."""
    url = window_login_url(client.app, window)
    path = url.split(f":{client.port}", 1)[1]
    response = await client.get(path, allow_redirects=False)
    assert response.status == 303, await response.text()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no form with an anti-forgery token"
    return match.group(1)


async def page_text(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, f"GET {path} -> {response.status}: {text[:500]}"
    return text


async def post_form(client: Client, path: str, fields: dict[str, Any], *, page: str = "/ui/integrations") -> Any:
    """POST a form with the session's anti-forgery token (read from a page, as a browser would have it)."""
    token = csrf_of(await page_text(client, page))
    return await client.post(path, data={"csrf": token, **fields}, allow_redirects=False)

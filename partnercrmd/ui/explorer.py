"""The API explorer page (`/ui/api`): Swagger UI over the daemon's own openapi.json, with "Try it out".

Swagger UI is bundled at build time from npm (explorer/build.mjs copies it into static/explorer/) and served by
the daemon: the page loads nothing from anywhere else. Its calls are made as the explorer's own application, a
registered application approved for the signed-in user: opening the page (which needs a configuration session)
creates it on first use and approves it again if the user revoked it. Its ApplicationId, a random id kept in the
vault, is written into the page for the request interceptor; the install token never reaches the page.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from aiohttp import web

from .. import appkeys
from ..client_apps import AppRecord, AppStatus, register_app
from ..vault import Vault
from ..vault_sync import reload_vault
from .common import branding_of, page, render

VAULT_KEY = "api_explorer"
"""The vault section that remembers the explorer application's id."""
SPEC_URL = "/api/v1/openapi.json"
EXPLORER_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
"""The configuration pages' policy, plus `data:` images: Swagger UI's stylesheet draws its icons as data URLs."""


def explorer_app_name(product_name: str) -> str:
    return f"{product_name} API explorer"


def explorer_app_id(vault: Vault) -> str:
    """The explorer application's id, made (random, unguessable: it is the application's credential) on first use."""

    def change(doc: dict[str, Any]) -> str:
        section = doc.setdefault(VAULT_KEY, {})
        if not section.get("app_id"):
            section["app_id"] = f"api-explorer-{secrets.token_urlsafe(18)}"
        return str(section["app_id"])

    return vault.update(change)


def ensure_explorer_app(vault: Vault, product_name: str) -> AppRecord:
    """Register the explorer application, approved (the signed-in user opened it); blocking: run in a thread."""
    return register_app(vault, explorer_app_id(vault), explorer_app_name(product_name), "", approved=True)


async def explorer_application(app: web.Application) -> AppRecord:
    """The explorer's application, registered and approved; the registry is refreshed when that changed anything."""
    vault = app[appkeys.VAULT]
    product_name = branding_of(app).product_name
    doc = await asyncio.to_thread(vault.read)
    known = app[appkeys.APPS].apps.get(str(doc.get(VAULT_KEY, {}).get("app_id", "")))
    if known is not None and known.status is AppStatus.APPROVED and known.name == explorer_app_name(product_name):
        return known
    record = await asyncio.to_thread(ensure_explorer_app, vault, product_name)
    await reload_vault(app)
    return record


@page
async def explorer_page(request: web.Request) -> web.StreamResponse:
    request.app[appkeys.UI].csrf(request)  # a configuration session first: no session, no application
    record = await explorer_application(request.app)
    context = {"application": record, "spec_url": SPEC_URL}
    response = render(request, "ui_api.html", context, current="api")
    response.headers["Content-Security-Policy"] = EXPLORER_CSP
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui/api", explorer_page)

"""The About page: product and add-in versions, release notes per add-in, licence status,
where the vault key is kept, and where to ask for a new integration."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from .. import appkeys
from ..catalogue import visible_integrations
from ..licensing.requests import request_user_id
from .common import branding_of, page, render
from .integration_requests import about_requests


async def licences(request: web.Request) -> list[dict[str, str]]:
    """The licence entries `GET Version` reports, asked of the same licence service, so the two never disagree."""
    entries = await request.app[appkeys.LICENCES].licenses(request_user_id(request))
    return [{"Name": str(entry.get("Name", "")), "Value": str(entry.get("Description", ""))} for entry in entries]


@page
async def about_page(request: web.Request) -> web.StreamResponse:
    app = request.app
    host = app[appkeys.HOST]
    branding = branding_of(app)
    doc = await asyncio.to_thread(app[appkeys.VAULT].read)
    integrations = visible_integrations(host, branding, doc)
    addins = sorted(host.addins.values(), key=lambda a: a.name)
    context: dict[str, Any] = {
        "addins": [
            {
                "name": a.name,
                "version": a.version,
                "state": "failed to load" if a.error else ("disabled" if a.disabled else "loaded"),
                "integrations": [i.name for i in integrations if (p := host.provider(i.id)) and p.name == a.name],
            }
            for a in addins
        ],
        "integrations": integrations,
        "licences": await licences(request),
        "key_location": app[appkeys.VAULT].key_location,
        "vault_file": str(app[appkeys.VAULT].path),
        "requests": await about_requests(request),
    }
    return render(request, "ui_about.html", context, current="about")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui/about", about_page)

"""The Applications page: pending `Register` requests to approve or deny, registered ones to revoke."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .. import appkeys
from ..client_apps import AppStatus, set_app_status
from ..errors import ConfigError
from ..vault_sync import reload_vault
from .common import checked_form, page, render, see_other

DECISIONS = {"approve": AppStatus.APPROVED, "deny": AppStatus.REVOKED, "revoke": AppStatus.REVOKED}


@page
async def applications_page(request: web.Request) -> web.StreamResponse:
    apps = sorted(request.app[appkeys.APPS].apps.values(), key=lambda a: (a.name.lower(), a.id))
    context = {
        "pending": [a for a in apps if a.status is AppStatus.PENDING],
        "approved": [a for a in apps if a.status is AppStatus.APPROVED],
        "revoked": [a for a in apps if a.status is AppStatus.REVOKED],
        "message": {"approve": "Approved.", "deny": "Denied.", "revoke": "Revoked."}.get(
            request.query.get("done", ""), ""
        ),
    }
    return render(request, "ui_applications.html", context, current="applications")


@page
async def decide(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    decision = str(form.get("decision", ""))
    status = DECISIONS.get(decision)
    if status is None:
        raise ConfigError("Choose approve, deny or revoke.")
    app_id = str(form.get("app_id", ""))[:128]
    await asyncio.to_thread(set_app_status, request.app[appkeys.VAULT], app_id, status)

    await reload_vault(request.app)
    raise see_other(f"/ui/applications?done={decision}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui/applications", applications_page)
    app.router.add_post("/ui/applications", decide)

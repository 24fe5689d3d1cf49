"""The Applications page: pending `Register` requests to approve or deny, registered ones to revoke, and the
web pages allowed to call the API (the user's `web_origins` setting beside the partner's; web_origins.py)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .. import appkeys
from ..client_apps import AppStatus, set_app_status
from ..errors import ConfigError
from ..settings import change_settings
from ..vault_sync import reload_vault
from .common import checked_form, page, render, see_other

DECISIONS = {"approve": AppStatus.APPROVED, "deny": AppStatus.REVOKED, "revoke": AppStatus.REVOKED}


WEB_ORIGINS_FIELD = "web_origins"
MAX_WEB_ORIGINS_CHARS = 8000
"""What the field takes (a hundred origins and their separators); more is cut and the rest refused as malformed."""


@page
async def applications_page(request: web.Request) -> web.StreamResponse:
    return await _applications_page(request)


async def _applications_page(
    request: web.Request, *, web_origins_error: str = "", web_origins_posted: str | None = None, status: int = 200
) -> web.StreamResponse:
    apps = sorted(request.app[appkeys.APPS].apps.values(), key=lambda a: (a.name.lower(), a.id))
    config = request.app[appkeys.CONFIG]
    context = {
        "web_origins": "\n".join(config.web_origins) if web_origins_posted is None else web_origins_posted,
        "partner_web_origins": config.branding.web_origins,
        "web_origins_error": web_origins_error,
        "pending": [a for a in apps if a.status is AppStatus.PENDING],
        "approved": [a for a in apps if a.status is AppStatus.APPROVED],
        "revoked": [a for a in apps if a.status is AppStatus.REVOKED],
        "message": {"approve": "Approved.", "deny": "Denied.", "revoke": "Revoked.", "web_origins": "Saved."}.get(
            request.query.get("done", ""), ""
        ),
    }
    return render(request, "ui_applications.html", context, current="applications", status=status)


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


@page
async def save_web_origins(request: web.Request) -> web.StreamResponse:
    """Store the web pages allowed to call the API; a wrong entry is shown beside the field and nothing changes."""
    form = await checked_form(request)
    posted = str(form.get(WEB_ORIGINS_FIELD, ""))[:MAX_WEB_ORIGINS_CHARS]
    try:
        await asyncio.to_thread(change_settings, request.app[appkeys.VAULT], {WEB_ORIGINS_FIELD: posted})
    except ConfigError as exc:
        return await _applications_page(request, web_origins_error=exc.message, web_origins_posted=posted, status=400)
    await reload_vault(request.app)  # in force for the next request, not after the vault watcher's next look
    raise see_other("/ui/applications?done=web_origins#web-origins")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui/applications", applications_page)
    app.router.add_post("/ui/applications", decide)
    app.router.add_post("/ui/applications/web-origins", save_web_origins)

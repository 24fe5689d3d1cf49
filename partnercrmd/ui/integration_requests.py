"""The "Request a new integration" form, and the requests listed on the About page with their state.

A request is kept on this computer first (`integration_requests.RequestStore`), then sent where the partner's
branding says: POSTed as JSON to its endpoint at once (Retry when that failed; the daemon also retries on its
own), or offered as a mailto: link the user sends from their e-mail program (then marks as sent). See
`partnercrmd.integration_requests`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ..errors import ConfigError, NotFound
from ..integration_request_sending import send, store_of
from ..integration_requests import (
    FAILED,
    KEPT,
    MAILTO,
    NOWHERE,
    URL,
    WAITING,
    is_email,
    mailto_link,
    new_request,
    sent_changes,
)
from .common import branding_of, checked_form, page, render, see_other

FIELDS = {
    "system": ("Which system?", 100),
    "web_address": ("Its web address", 300),
    "lookup": ("What should be looked up and logged?", 2000),
    "contact_email": ("Your e-mail address", 254),
}
"""The form's fields: (label, most characters)."""


def check(posted: Mapping[str, str]) -> dict[str, str]:
    """The reason beside each field that is not right, by field name."""
    errors: dict[str, str] = {}
    for name, (_, limit) in FIELDS.items():
        if len(posted[name]) > limit:
            errors[name] = f"At most {limit} characters (this has {len(posted[name])})."
    if not posted["system"]:
        errors.setdefault("system", "Name the system, e.g. the CRM or help desk you use.")
    address = posted["web_address"]
    if address and not re.match(r"^(https?://)?[^\s/]+\.[^\s]+$", address, re.IGNORECASE):
        errors.setdefault("web_address", "A web address looks like https://www.example.com (or leave it empty).")
    if not posted["lookup"]:
        errors.setdefault("lookup", "Say what should happen, e.g. show the caller's account, log calls as activities.")
    if not is_email(posted["contact_email"]):
        errors.setdefault("contact_email", "An e-mail address looks like name@example.com.")
    return errors


async def _form(
    request: web.Request, posted: Mapping[str, str], errors: Mapping[str, str] | None = None, status: int = 200
) -> web.StreamResponse:
    target = branding_of(request.app).integration_requests
    context = {
        "posted": posted,
        "errors": errors or {},
        "fields": FIELDS,
        "target_kind": target.kind,
        "error": "Some fields need a change: see below." if errors else "",
    }
    return render(request, "ui_integration_request.html", context, current="about", status=status)


@page
async def request_form(request: web.Request) -> web.StreamResponse:
    posted = dict.fromkeys(FIELDS, "")
    posted["system"] = request.query.get("system", "").strip()[:100]
    return await _form(request, posted)


@page
async def request_submit(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    posted = {name: str(form.get(name, "")).replace("\r\n", "\n").strip() for name in FIELDS}
    errors = check(posted)
    if errors:
        return await _form(request, posted, errors, status=400)
    app = request.app
    target = branding_of(app).integration_requests
    entry = new_request(posted["system"], posted["web_address"], posted["lookup"], posted["contact_email"], target)
    await asyncio.to_thread(store_of(app).add, entry)  # kept first: nothing is lost if sending fails
    if target.kind == URL:
        entry = await send(app, entry)
    raise see_other(f"/ui/about?request={entry.id}#requests")


def _entry_id(request: web.Request) -> str:
    return request.match_info["request"][:32]


@page
async def request_retry(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    app = request.app
    entry = await asyncio.to_thread(store_of(app).get, _entry_id(request))
    if entry is None:
        raise NotFound("There is no such request.", code="unknown_request")
    if branding_of(app).integration_requests.kind != URL:
        raise ConfigError("Requests are not sent to a web address here: send it by e-mail, or pass it on yourself.")
    if entry.state in (WAITING, FAILED):
        entry = await send(app, entry)
    raise see_other(f"/ui/about?request={entry.id}#requests")


@page
async def request_mark_sent(request: web.Request) -> web.StreamResponse:
    """The user sent the request's e-mail (or passed it on): it is listed as sent from now on."""
    await checked_form(request)
    store = store_of(request.app)
    entry = await asyncio.to_thread(store.get, _entry_id(request))
    if entry is None:
        raise NotFound("There is no such request.", code="unknown_request")
    if entry.state in (WAITING, KEPT, FAILED):
        await asyncio.to_thread(store.update, entry.id, **{**sent_changes(entry), "attempts": entry.attempts})
    raise see_other(f"/ui/about?request={entry.id}#requests")


async def about_requests(request: web.Request) -> dict[str, Any]:
    """What the About page shows of the requests: each with its state and what the user can do next."""
    branding = branding_of(request.app)
    target = branding.integration_requests
    entries = await asyncio.to_thread(store_of(request.app).all)
    rows = [
        {
            "request": entry,
            "mailto": mailto_link(entry, target.address, branding.product_name)
            if target.kind == MAILTO and entry.state != "sent"
            else "",
            "retry": target.kind == URL and entry.state in (WAITING, FAILED),
            "mark_sent": entry.state != "sent" and target.kind in (MAILTO, NOWHERE),
        }
        for entry in entries
    ]
    return {
        "requests": rows,
        "target_kind": target.kind,
        "just_made": request.query.get("request", ""),
    }


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui/requests/new", request_form)
    app.router.add_post("/ui/requests/new", request_submit)
    app.router.add_post("/ui/requests/{request}/retry", request_retry)
    app.router.add_post("/ui/requests/{request}/sent", request_mark_sent)

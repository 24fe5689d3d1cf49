"""Pages the daemon serves to the user's browser: record pages, and the login to the windows `ShowWindow` opens.

Record pages are reached through signed links (opened by `DoAction`). Windows
(each served by its own module: partnercrmd/ui/, the call history page) are
reached through a one-time login link; then an HttpOnly, SameSite=Strict
session cookie. Every form carries an anti-forgery token.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from aiohttp import web

from . import appkeys
from .api.body import read_form
from .api_shapes import contact_fields
from .errors import BadRequest, Forbidden, NotFound
from .extension_pages import add_extension_routes
from .integration import Capability
from .local_book.addin import live_call_of
from .model import ContactPatch
from .page_templates import render_template
from .ui_sessions import SESSION_COOKIE, SESSION_TTL

WINDOWS = ("configuration", "callhistory", "integrations", "dialling", "viewer", "about", "api")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",  # no-referrer would make browsers send `Origin: null` with our own forms
}


def record_page_url(app: web.Application, book_id: str, contact_id: str, edit: bool) -> str:
    token = app[appkeys.SIGNER].sign("page", {"b": book_id, "c": contact_id, "e": edit})
    return f"http://127.0.0.1:{app[appkeys.CONFIG].port}/records/{token}"


def window_login_url(app: web.Application, window: str) -> str:
    token = app[appkeys.UI].new_login()
    return f"http://127.0.0.1:{app[appkeys.CONFIG].port}/ui/login/{token}?window={window}"


def _secure(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(SECURITY_HEADERS)
    return response


async def record_page(request: web.Request) -> web.StreamResponse:
    app = request.app
    payload = app[appkeys.SIGNER].verify("page", request.match_info["token"], what="link")
    book = app[appkeys.BOOKS].get(str(payload["b"]))
    if book.connector is None or book.integration is None:
        raise NotFound(book.error or "The address book is unavailable.")
    contact = await book.connector.get(str(payload["c"]))
    if contact is None:
        raise NotFound("This contact no longer exists.", code="unknown_record")
    activities = []
    if Capability.SHOW_ACTIVITIES in book.capabilities:
        activities = list(await book.connector.activities(contact.id, 50))
    edit = bool(payload.get("e")) and Capability.UPDATE_CONTACT in book.capabilities
    context = {
        "book": book,
        "contact": contact,
        "fields": contact_fields(contact, include_picture=False),
        "activities": activities,
        "edit": edit,
        "csrf": _page_csrf(request) if edit else "",
        "saved": request.query.get("saved") == "1",
        "live_call": live_call_of(book.connector, contact.id),
    }
    return _secure(render_template("record.html", request, context))


def _page_csrf(request: web.Request) -> str:
    """Anti-forgery token of an edit page: bound to its own signed link."""
    return request.app[appkeys.SIGNER].sign("csrf", {"page": request.match_info["token"]}).rpartition(".")[2]


async def record_save(request: web.Request) -> web.StreamResponse:
    app = request.app
    token = request.match_info["token"]
    payload = app[appkeys.SIGNER].verify("page", token, what="link")
    form = await read_form(request)
    if not payload.get("e") or not hmac.compare_digest(str(form.get("csrf", "")), _page_csrf(request)):
        raise Forbidden("This form has expired; reopen the contact.", code="bad_csrf")
    book = app[appkeys.BOOKS].get(str(payload["b"]))
    if book.connector is None:
        raise NotFound(book.error or "The address book is unavailable.")
    contact = await book.connector.get(str(payload["c"]))
    if contact is None:
        raise NotFound("This contact no longer exists.", code="unknown_record")
    shown = {
        "display_name": contact.display_name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "company": contact.company,
        "email": contact.emails[0] if contact.emails else "",
        "phone": contact.phones[0].number if contact.phones else "",
        "notes": contact.notes,
    }
    posted = {n: str(form[n]).replace("\r\n", "\n")[:2000] for n in shown if n in form}  # browsers send CRLF
    changed = {n: value for n, value in posted.items() if value != shown[n]}
    if changed:  # only what the user changed, so the backend keeps everything else as it is
        await book.connector.update(contact.id, ContactPatch(**changed))
    app[appkeys.SEARCH].cache.invalidate(book.id)
    raise web.HTTPSeeOther(f"/records/{token}?saved=1")


async def ui_login(request: web.Request) -> web.StreamResponse:
    window = request.query.get("window", "configuration")
    if window not in WINDOWS:
        raise BadRequest(f"Unknown window '{window[:40]}'.")
    session = request.app[appkeys.UI].redeem(request.match_info["token"])
    response = web.HTTPSeeOther(f"/ui/{window}")
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="Strict", path="/ui", max_age=int(SESSION_TTL))
    _secure(response)
    raise response


def add_page_routes(app: web.Application) -> None:
    app.router.add_static("/static", Path(__file__).parent / "static")
    app.router.add_get("/records/{token}", record_page)
    app.router.add_post("/records/{token}", record_save)
    app.router.add_get("/ui/login/{token}", ui_login)
    add_extension_routes(app)

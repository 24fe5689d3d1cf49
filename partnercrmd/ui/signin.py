"""The pages of "Sign in with <CRM>": the button's route, the loopback callback page, and what the book's page shows.

The flow itself (PKCE, state, the token exchange, the vault) is oauth_signin.py's; these routes only carry it
to and from the browser. The button posts the page's anti-forgery token; the callback is reached from the
vendor's site, so it answers with a page of its own and sends the browser back to the book's page from there
(a same-site navigation, on which the Strict session cookie is sent again).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .. import appkeys
from ..books import OpenBook
from ..errors import BadRequest, Forbidden, PartnerError
from ..oauth_signin import BINDING_COOKIE, CALLBACK_PATH, STATE_TTL, read_record, service_name, spec_for
from ..page_templates import render_template
from ..redact import redact
from .common import checked_form, page, secure

__all__ = ["SignInView", "add_routes", "sign_in_view"]


@dataclass(frozen=True)
class SignInView:
    """What the book's page shows about its sign-in."""

    service: str
    """The vendor's name, for "Sign in with <service>"."""
    account: str
    """Who is signed in ("" when no one, or the vendor's who-am-I said nothing)."""
    signed_in: bool
    needs_sign_in: str
    """Why the user must sign in again; "" when not."""


async def sign_in_view(app: web.Application, book: OpenBook) -> SignInView | None:
    """The book's sign-in for its page, or None when its integration (with these settings) does not sign in."""
    if book.integration is None or book.withheld is not None:
        return None
    try:
        spec = spec_for(book.integration, book.config.settings)
    except Exception:  # noqa: BLE001  (add-in code: the page still shows, without the button)
        return None
    if spec is None:
        return None
    record = read_record(await asyncio.to_thread(app[appkeys.VAULT].read), book.id)
    return SignInView(
        service=service_name(book.integration, spec),
        account=record.account,
        signed_in=record.signed_in,
        needs_sign_in=record.needs_sign_in,
    )


@page
async def start_sign_in(request: web.Request) -> web.StreamResponse:
    """POST from the book's page: on to the vendor's authorisation page, with a new state and PKCE challenge."""
    await checked_form(request)
    app = request.app
    book = app[appkeys.BOOKS].get(request.match_info["book"][:128])
    if book.integration is None or book.withheld is not None:
        raise BadRequest(book.error or "This address book's integration cannot be used here.", code="no_sign_in")
    binding = request.cookies.get(BINDING_COOKIE, "") or secrets.token_urlsafe(32)
    url = app[appkeys.SIGN_INS].start(
        book.id, book.integration, book.config.settings, app[appkeys.CONFIG].port, binding
    )
    # A page that moves on by itself rather than a redirect: the pages' CSP (form-action 'self') forbids a form's
    # redirect to another site, and a refresh (or the link) is an ordinary navigation.
    context = {
        "nav": (),
        "url": url,
        "service": service_name(book.integration, spec_for(book.integration, book.config.settings)),
        "wait": int(STATE_TTL // 60),
    }
    response = render_template("ui_oauth_start.html", request, context)
    # Lax, not Strict: the vendor's redirect back to the callback is a cross-site navigation.
    response.set_cookie(
        BINDING_COOKIE, binding, httponly=True, samesite="Lax", path=CALLBACK_PATH, max_age=int(STATE_TTL)
    )
    return secure(response)


async def callback(request: web.Request) -> web.StreamResponse:
    """GET from the vendor's consent page: finish the sign-in and show where it ended."""
    app = request.app
    query = request.query
    try:
        pending = app[appkeys.SIGN_INS].pending.take(
            query.get("state", "")[:200], request.cookies.get(BINDING_COOKIE, "")
        )
        book = app[appkeys.BOOKS].get(pending.book_id)
        if book.integration is None:
            raise BadRequest(book.error or "This address book's integration is not installed.", code="no_sign_in")
        service = service_name(book.integration, spec_for(book.integration, book.config.settings))
        if "error" in query:
            said = " ".join(str(query.get("error_description") or query["error"]).split())[:200]
            raise Forbidden(
                f"{service} did not sign you in: {said}. Start again from the address book's page.",
                code="sign_in_refused",
            )
        code = query.get("code", "")
        if not code:
            raise BadRequest(
                f"{service} sent no authorisation code back. Start again from the address book's page.", code="no_code"
            )
        record = await app[appkeys.SIGN_INS].finish(pending, code[:2000], book.integration, book.config.settings)
    except PartnerError as exc:
        status = exc.status if 400 <= exc.status < 600 else 400
        return _callback_page(request, {"ok": False, "message": exc.message, "code": exc.code}, status)
    # The status: a sign-in cures "Sign in again" at once (and says so to clients), not at the next search.
    await app[appkeys.BOOKS].record(book, None)
    context = {
        "ok": True,
        "service": service,
        "account": redact(record.account, book.integration, book.config.settings),
        "book": book,
        "back": f"/ui/books/{book.id}#signin",
    }
    return _callback_page(request, context, 200)


def _callback_page(request: web.Request, context: dict[str, Any], status: int) -> web.StreamResponse:
    full = {"nav": (), "wait": int(STATE_TTL // 60), **context}
    response = render_template("ui_oauth_callback.html", request, full, status=status)
    return secure(response)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/ui/books/{book}/signin", start_sign_in)
    app.router.add_get(CALLBACK_PATH, callback)

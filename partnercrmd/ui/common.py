"""What every configuration-UI page shares: the session check, anti-forgery tokens, branding, the page frame.

Pages are reached through the one-time login link `ShowWindow` opens; the
session cookie then carries them (ui_sessions.py: `UiSessions`). Every form posts the
session's anti-forgery token (`checked_form`). Errors a page hits are shown as
a page of their own with the right status (`page`), never as a stack trace.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import MultiDictProxy

from .. import __version__, appkeys
from ..api.body import read_form
from ..branded_text import brand
from ..branding import Branding
from ..errors import Forbidden, PartnerError
from ..page_templates import render_string, render_template
from ..pages import SECURITY_HEADERS

if TYPE_CHECKING:
    import jinja2

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

NAV: tuple[tuple[str, str], ...] = (
    ("integrations", "Integrations"),
    ("contacts", "Contacts"),
    ("dialling", "Dialling"),
    ("applications", "Applications"),
    ("callhistory", "Call history"),
    ("viewer", "CRM viewer"),
    ("api", "API explorer"),
    ("about", "About"),
)
"""The pages in the navigation bar: (path under /ui/, label)."""

DEFAULT_PROJECT_URL = "https://github.com/partnercrmd/"
"""Links into the unbranded project's site; a branded build points them at the partner's guide instead."""

_CSS_VALUE = re.compile(r"^[#a-zA-Z0-9(),.%\s-]{1,64}$")
COLOUR_NAMES = ("primary", "accent", "background", "text")


def branding_of(app: web.Application) -> Branding:
    return app[appkeys.CONFIG].branding


def partner_link(branding: Branding, url: str) -> str:
    """`url`, or '' when a branded build would send the user to the unbranded project's site."""
    return "" if branding.branded and url.startswith(DEFAULT_PROJECT_URL) else url


def guide_link(branding: Branding, url: str) -> str:
    """Where an integration's guide link points: its own guide; in a branded build never the project's site."""
    if branding.branded and (not url or url.startswith(DEFAULT_PROJECT_URL)):
        return partner_link(branding, branding.guide_url)
    return url


def branded_text(branding: Branding, text: str) -> str:
    """Text written by other parts (platform checks, add-ins) with the product's own name when branded."""
    return brand(branding, text)


def install_branding(env: jinja2.Environment, branding: Branding) -> None:
    """Give templates the branding and the filters that keep the default name and the project's links out."""
    env.globals["branding"] = branding
    env.filters["branded"] = functools.partial(branded_text, branding)
    env.filters["partner_link"] = functools.partial(partner_link, branding)


def session_csrf(request: web.Request) -> str:
    """The session's anti-forgery token; Forbidden (no_session) without a live session."""
    return request.app[appkeys.UI].csrf(request)


async def checked_form(request: web.Request) -> MultiDictProxy[str]:
    """The posted form, once its anti-forgery token matches the session's; Forbidden otherwise."""
    expected = session_csrf(request)
    form = await read_form(request)
    if not hmac.compare_digest(str(form.get("csrf", "")), expected):
        raise Forbidden("This form has expired; reload the page and try again.", code="bad_csrf")
    return form


def secure(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(SECURITY_HEADERS)
    return response


def _frame(request: web.Request, context: Mapping[str, Any], current: str) -> dict[str, Any]:
    return {"nav": NAV, "current": current, "csrf": session_csrf(request), "version": __version__, **context}


def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, current: str = "", status: int = 200
) -> web.StreamResponse:
    """A page of the configuration UI in the branded frame, with the security headers."""
    response = render_template(template, request, _frame(request, context, current), status=status)
    return secure(response)


def render_text(request: web.Request, template: str, context: Mapping[str, Any], *, current: str = "") -> str:
    """A page as `render` makes it, as text: for pages sent in parts as they are made (a streamed Test)."""
    return render_string(template, request, _frame(request, context, current))


def error_page(request: web.Request, exc: PartnerError) -> web.StreamResponse:
    response = render_template(
        "ui_error.html", request, {"message": exc.message, "code": exc.code, "nav": ()}, status=exc.status
    )
    return secure(response)


def page(handler: Handler) -> Handler:
    """Show what went wrong as a page (with its status) rather than as the API's JSON."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except PartnerError as exc:
            return error_page(request, exc)

    return wrapped


def see_other(location: str) -> web.HTTPSeeOther:
    response = web.HTTPSeeOther(location)
    secure(response)
    return response


def branding_css(branding: Branding) -> str:
    """CSS custom properties of the partner's colours (a file: the CSP allows no inline styles)."""
    lines = [
        f"  --{name}: {value.strip()};"
        for name, value in branding.colours.items()
        if name in COLOUR_NAMES and _CSS_VALUE.match(value)
    ]
    return ":root {\n" + "\n".join(lines) + "\n}\n" if lines else ":root {}\n"


async def branding_stylesheet(request: web.Request) -> web.StreamResponse:
    text = branding_css(branding_of(request.app))
    return secure(web.Response(text=text, content_type="text/css"))


async def branding_logo(request: web.Request) -> web.StreamResponse:
    logo = branding_of(request.app).logo
    if logo is None:
        raise web.HTTPNotFound()
    response = web.FileResponse(logo)
    response.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"})
    return response

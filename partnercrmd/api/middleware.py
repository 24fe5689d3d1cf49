"""The two middlewares: errors become `{Message, Code}`; every request passes the localhost security rules.

Security (SECURITY.md rules 2-4): the Host header must name the loopback
address and the port the request arrived on (the DNS-rebinding defence); an
Origin, when sent, must be the daemon's own, a paired extension's or, on API
routes, a web origin the partner or the user allowed (`origin_is_allowed`, the
one decision; web_origins.py); API routes other than Version and Register need
an approved ApplicationId, whatever the origin.

An allowed origin gets CORS: its preflight answered here (with Chromium's
Private Network Access header when asked) and every answer to it, errors and
streamed answers included, carries the echo `Access-Control-Allow-Origin` with
`Vary: Origin` (`cross_origin_headers`, run as each response is prepared).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from .. import appkeys
from ..errors import Forbidden, PartnerError, Unauthorized
from ..extension_pairing import is_extension_origin
from ..logging_setup import UNEXPECTED_REQUEST_ERROR
from ..web_origins import allowed_web_origins
from .json_responses import json_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIX = "/api/v1/"
PUBLIC_ROUTES = {"Version", "Register", "openapi.json", "PairExtension"}
"""Routes a client may call before it is approved."""
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
CORS_METHODS = "GET, POST"
CORS_HEADERS = "ApplicationId, UserId, Content-Type, Authorization"
CORS_MAX_AGE = "600"
"""Seconds a browser may reuse a preflight's answer (Chromium caps it at 7200)."""
CORS_ORIGIN: web.RequestKey[str] = web.RequestKey("cors_origin", str)
"""The allowed Origin a request came with: echoed on whatever answers it."""

HTTP_MESSAGES = {
    404: ("There is no such route.", "not_found"),
    405: ("This route does not take that method.", "method_not_allowed"),
    413: ("The request body is too large.", "payload_too_large"),
}


def json_error(status: int, message: str, code: str) -> web.Response:
    return json_response({"Message": message, "Code": code}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Translate every error to HTTP in one place."""
    try:
        return await handler(request)
    except PartnerError as exc:
        return json_error(exc.status, exc.message, exc.code)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message, code = HTTP_MESSAGES.get(exc.status, (exc.reason, "http_error"))
        response = json_error(exc.status, message, code)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except asyncio.CancelledError:
        raise
    except Exception:
        # one line, and a traceback only for the first few (logging_setup): a client must not flood the log
        log.exception("unexpected error on %s %s", request.method, request.path, extra=UNEXPECTED_REQUEST_ERROR)
        return json_error(500, "partnercrmd hit an unexpected error; see its log.", "internal_error")


def local_port(request: web.Request) -> int:
    """The port this connection arrived on (what a legitimate Host header names)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return int(sockname[1]) if sockname else -1


def own_origins(port: int) -> set[str]:
    """The daemon's own pages on this port (over HTTP, or HTTPS where that listener serves the same app)."""
    return {f"{scheme}://{name}:{port}" for scheme in ("http", "https") for name in LOOPBACK_NAMES}


def check_host(request: web.Request, port: int) -> None:
    host = request.headers.get("Host", "").strip().lower()
    if host not in {f"{name}:{port}" for name in LOOPBACK_NAMES}:
        raise Forbidden(
            "Requests must be addressed to 127.0.0.1, localhost or [::1] on this port.", code="forbidden_host"
        )


def origin_is_allowed(request: web.Request, origin: str, port: int) -> bool:
    """Whether a page of `origin` may make this request: the one decision, for HTTP and the WebSocket.

    The daemon's own pages and paired browser extensions anywhere; an extension's first PairExtension;
    on API routes only, the web origins in force (the branding's and the user's setting as it is now).
    """
    if origin in own_origins(port):
        return True
    app = request.app
    if appkeys.APPS in app and origin in app[appkeys.APPS].origins():
        return True
    name = route_name(request)
    if name == "PairExtension" and is_extension_origin(origin):
        return True  # a browser extension pairing for the first time: allow-listed once the code is good
    if name is None:
        return False  # configuration and record pages are the daemon's own: no web page drives them
    config = app[appkeys.CONFIG]
    return allowed_web_origins(config.branding.web_origins, config.web_origins).allows(origin)


def check_origin(request: web.Request, port: int) -> str | None:
    """The allowed Origin of the request (remembered for the answer's CORS headers), None when it sent none;
    Forbidden for any other."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    if not origin_is_allowed(request, origin, port):
        raise Forbidden("Requests from this web page's origin are not allowed.", code="forbidden_origin")
    request[CORS_ORIGIN] = origin
    return origin


def preflight(request: web.Request) -> web.Response:
    """The answer to an allowed origin's CORS preflight, with Private Network Access when Chromium asks for it.

    No `Access-Control-Allow-Credentials`: the API takes no cookies (an application is its ApplicationId).
    """
    headers = {
        "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Max-Age": CORS_MAX_AGE,
    }
    if request.headers.get("Access-Control-Request-Private-Network", "").strip().lower() == "true":
        headers["Access-Control-Allow-Private-Network"] = "true"
    return web.Response(status=204, headers=headers)


async def cross_origin_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: echo the allowed origin on every answer to it (errors and streams too)."""
    origin = request.get(CORS_ORIGIN)
    if origin is None:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    vary = response.headers.get("Vary", "")
    if "origin" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"


def route_name(request: web.Request) -> str | None:
    if not request.path.startswith(API_PREFIX):
        return None
    return request.path[len(API_PREFIX) :]


def check_application(request: web.Request) -> None:
    """An approved ApplicationId, or the install token itself (the user's own programs, e.g. `partnercrmd dial`)."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer " and request.app[appkeys.INSTALL_TOKEN].matches(auth[7:].strip()):
        return
    app_id = request.headers.get("ApplicationId", "").strip()
    if not app_id:
        raise Unauthorized("Send the ApplicationId header of a registered application (POST Register first).")
    if not request.app[appkeys.APPS].is_approved(app_id):
        raise Unauthorized(
            "This application is not registered or not approved; POST Register and have the user approve it.",
            code="not_approved",
        )


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    port = local_port(request)
    check_host(request, port)
    origin = check_origin(request, port)
    if request.method == "OPTIONS" and origin is not None:
        return preflight(request)
    name = route_name(request)
    known_route = request.match_info.http_exception is None and "name" not in request.match_info
    if name is not None and known_route and name not in PUBLIC_ROUTES and not name.startswith("events/"):
        check_application(request)
    return await handler(request)

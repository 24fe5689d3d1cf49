"""A small framework for local reproductions of cloud CRM APIs, shared by the catalogue's tests.

The cloud CRMs cannot be reached from the tests, so each is reproduced by an aiohttp server on
127.0.0.1 that follows its public REST documentation: its endpoints, request and response shapes
and its authentication (OAuth 2: RFC 6749 §4.1 and §6 with PKCE, RFC 7636; what each vendor adds, such as
exact or loopback-any-port redirect URIs and required secrets, is set per CRM in `OAuthSettings`).
`FakeCrm` holds what every reproduction needs: people seeded in the CRM's own record shape, a
bearer-token check with the CRM's own 401 answer, an OAuth 2 token endpoint (client credentials,
refresh tokens with optional rotation, authorisation code with PKCE),
rate limiting on demand (429 with Retry-After), and a log of requests and of what was written.
Each CRM's module then only adds its routes and record shape (see test_templates_catalogue.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import phonenumbers
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Person:
    """Someone seeded into every CRM, written the way that CRM's users would have typed it."""

    first: str
    last: str
    phone: str
    email: str = ""
    company: str = ""
    title: str = ""
    mobile: str = ""
    region: str = "GB"
    """The country the CRM's users assume for numbers written without one."""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


PEOPLE = [
    Person(
        "Dana",
        "Whitfield",
        "+44 (0)20 7946-0958",
        "dana.whitfield@northwind.example",
        "Northwind Traders",
        "Head of Sales",
    ),
    Person(
        "Eamon", "O'Neill", "212.736.5000", "eamon@contoso.example", "Contoso", mobile="+1 212 736 5001", region="US"
    ),
    Person("Zoë", "Lefèvre", "0033 1 42 68 53 00", "zoe@contoso.example", "Contoso", region="FR"),
]


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def nsn(text: str, region: str = "GB") -> str:
    """The national significant number (no country code, no trunk 0), as HubSpot's calculated phone fields hold it."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return digits(text)
    return phonenumbers.national_significant_number(parsed)


def same_number(query: str, stored: str) -> bool:
    """How these CRMs' phone searches behave for our seeds: the last nine digits agree."""
    a, b = digits(query), digits(stored)
    return len(a) >= 7 and len(b) >= 7 and a[-9:] == b[-9:]


def rate_limit_reset_headers(limit: int) -> Middleware:
    """A middleware for vendors whose 429 says when to come back in X-RateLimit-Reset (a Unix time) and carries
    no Retry-After (Intercom, Capsule): FakeCrm's 429 is answered in that vendor's way."""

    @web.middleware
    async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if response.status == 429:
            response.headers.pop("Retry-After", None)
            response.headers["X-RateLimit-Limit"] = str(limit)
            response.headers["X-RateLimit-Remaining"] = "0"
            response.headers["X-RateLimit-Reset"] = str(int(time.time()) + 1)
        return response

    return headers


@dataclass
class OAuthSettings:
    client_id: str = "partnercrmd-client"
    client_secret: str = "client-secret-0123456789"
    refresh_token: str = "refresh-token-initial-0001"
    rotate_refresh_tokens: bool = False
    expires_in: int | None = 3600
    token_path: str = "/oauth/token"
    authorize_path: str = "/oauth/authorize"
    client_auth: str = "body"
    scheme: str = "Bearer"
    """The Authorization scheme the API wants for access tokens (Zoho: Zoho-oauthtoken)."""
    token_extra: dict[str, Any] = field(default_factory=dict)
    redirect_uris: tuple[str, ...] = ()
    """Redirect URIs registered with the app; empty: any (the `template authorize` tests' ephemeral listener)."""
    loopback_any_port: bool = False
    """Microsoft identity platform: a registered http://127.0.0.1 or http://localhost redirect URI matches whatever
    the port (https://learn.microsoft.com/entra/identity-platform/reply-url, "localhost exceptions")."""
    secret_required: bool = False
    """The code and refresh grants need the client secret (HubSpot, Zoho: their token endpoints require it)."""
    public_client: bool = False
    """A public client (Microsoft's mobile and desktop registrations): a client secret sent to the token endpoint is
    refused."""
    consent_page: bool = False
    """Show a consent page with an Allow button (a browser test clicks it) instead of redirecting at once."""
    account: dict[str, Any] = field(
        default_factory=lambda: {"name": "Dana Whitfield", "email": "dana@northwind.example"}
    )
    """The user who signs in (each vendor's who-am-I route answers it in its own shape)."""


@dataclass
class FakeCrm:
    """One CRM reproduction: routes, records, authentication and a record of what happened."""

    name: str
    unauthorized: Callable[[], web.Response]
    oauth: OAuthSettings | None = None
    static_credentials: set[str] = field(default_factory=set)
    """Accepted values of the Authorization header (or API-key header) for non-OAuth CRMs."""
    credential_header: str = "Authorization"
    credentials_in_body: bool = False
    """The API takes its credentials inside each call (Odoo's JSON-RPC: database, uid and key are arguments): no
    header is checked here, the reproduction's own routes check them."""
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    written: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    token_grants: list[str] = field(default_factory=list)
    pending_codes: dict[str, dict[str, str]] = field(default_factory=dict)
    limited: int = 0
    retry_after: str = "1"
    server: TestServer | None = None
    routes: list[tuple[str, str, Handler]] = field(default_factory=list)
    next_id: int = 1000
    outage: bool = False
    """The CRM is down for a moment: every API request gets 503 (no Retry-After) until it is set back."""
    hang: bool = False
    """The CRM accepts requests and never answers them."""
    error_body: Callable[[int, str], dict[str, Any]] = lambda status, message: {"message": message}
    """The body of the 429 and 503 answers, in the vendor's documented error shape."""
    error_content_type: str = "application/json"
    """Their media type (Klaviyo answers everything as application/vnd.api+json)."""
    outer_middlewares: list[Middleware] = field(default_factory=list)
    """Middlewares before the CRM's own (the vendor contract checker of vendor_contract.py)."""

    def __post_init__(self) -> None:
        if self.oauth is not None:
            self.refresh_tokens.add(self.oauth.refresh_token)

    # --- set-up -----------------------------------------------------------------------------------

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def add(handler: Handler) -> Handler:
            self.routes.append((method, path, handler))
            return handler

        return add

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def write(self, kind: str, body: dict[str, Any]) -> None:
        self.written.setdefault(kind, []).append(body)

    async def start(self) -> str:
        # The vendor contract (vendor_contract.py) outermost: it sees every request and every answer.
        app = web.Application(middlewares=[*self.outer_middlewares, self._middleware])
        for method, path, handler in self.routes:
            app.router.add_route(method, path, handler)
        if self.oauth is not None:
            app.router.add_post(self.oauth.token_path, self._token)
            app.router.add_get(self.oauth.authorize_path, self._authorize)
            app.router.add_post(self.oauth.authorize_path, self._consent)
        self.server = TestServer(app, host="127.0.0.1", port=0)
        await self.server.start_server()
        return self.url

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    # --- what the tests do to the CRM ---------------------------------------------------------------

    def revoke(self) -> None:
        """The user (or an admin) revokes the app's grant: every token stops working; a refresh gets invalid_grant."""
        self.access_tokens.clear()
        self.refresh_tokens.clear()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (as on expiry or revocation): the next call gets 401."""
        self.access_tokens.clear()

    def limit(self, requests: int, retry_after: str = "1") -> None:
        """The next `requests` API requests get 429 with this Retry-After."""
        self.limited = requests
        self.retry_after = retry_after

    # --- the machinery ------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        if self.oauth is not None and request.path in (self.oauth.token_path, self.oauth.authorize_path):
            return await handler(request)
        while self.hang:  # until the test lets it go (a handler left sleeping would hold up the server's close)
            await asyncio.sleep(0.05)
        if self.outage:
            return web.json_response(
                self.error_body(503, "Service unavailable"), status=503, content_type=self.error_content_type
            )
        if self.limited > 0:
            self.limited -= 1
            return web.json_response(
                self.error_body(429, "Too many requests"),
                status=429,
                headers={"Retry-After": self.retry_after},
                content_type=self.error_content_type,
            )
        if not self._authorised(request):
            return self.unauthorized()
        return await handler(request)

    def _authorised(self, request: web.Request) -> bool:
        if self.credentials_in_body:
            return True
        given = request.headers.get(self.credential_header, "")
        if self.oauth is not None:
            scheme, _, token = given.partition(" ")
            return scheme == self.oauth.scheme and token in self.access_tokens
        return given in self.static_credentials

    def _issue(self) -> dict[str, Any]:
        access = "access-" + secrets.token_hex(8)
        self.access_tokens.add(access)
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
        assert self.oauth is not None
        if self.oauth.expires_in is not None:
            answer["expires_in"] = self.oauth.expires_in
        return answer | self.oauth.token_extra

    def _client_ok(self, request: web.Request, form: dict[str, str]) -> bool:
        assert self.oauth is not None
        if self.oauth.public_client:
            return form.get("client_id") == self.oauth.client_id and "client_secret" not in form
        if self.oauth.secret_required and form.get("client_secret") != self.oauth.client_secret:
            return False
        if self.oauth.client_auth == "basic":
            expected = base64.b64encode(f"{self.oauth.client_id}:{self.oauth.client_secret}".encode()).decode()
            return request.headers.get("Authorization") == f"Basic {expected}"
        return form.get("client_id") == self.oauth.client_id and form.get("client_secret") in (
            self.oauth.client_secret,
            None,
        )

    async def _token(self, request: web.Request) -> web.Response:
        """RFC 6749 token endpoint: client_credentials (§4.4), refresh_token (§6), authorization_code (§4.1.3)."""
        assert self.oauth is not None
        form = {k: str(v) for k, v in (await request.post()).items()}
        grant = form.get("grant_type", "")
        self.token_grants.append(grant)
        if not self._client_ok(request, form):
            return web.json_response({"error": "invalid_client"}, status=401)
        if grant == "client_credentials":
            return web.json_response(self._issue())
        if grant == "refresh_token":
            old = form.get("refresh_token", "")
            if old not in self.refresh_tokens:
                return web.json_response({"error": "invalid_grant", "error_description": "token expired"}, status=400)
            answer = self._issue()
            if self.oauth.rotate_refresh_tokens:
                self.refresh_tokens.discard(old)
                new = "refresh-" + secrets.token_hex(8)
                self.refresh_tokens.add(new)
                answer["refresh_token"] = new
            return web.json_response(answer)
        if grant == "authorization_code":
            pending = self.pending_codes.pop(form.get("code", ""), None)  # a code is used once (RFC 6749 §4.1.2)
            if pending is None or pending["redirect_uri"] != form.get("redirect_uri"):
                return web.json_response({"error": "invalid_grant"}, status=400)
            if pending.get("client_id", self.oauth.client_id) != form.get("client_id", self.oauth.client_id):
                return web.json_response({"error": "invalid_grant", "error_description": "client mismatch"}, status=400)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != pending["code_challenge"]:
                return web.json_response(
                    {"error": "invalid_grant", "error_description": "PKCE check failed"}, status=400
                )
            answer = self._issue()
            refresh = "refresh-" + secrets.token_hex(8)
            self.refresh_tokens.add(refresh)
            return web.json_response(answer | {"refresh_token": refresh})
        return web.json_response({"error": "unsupported_grant_type"}, status=400)

    def redirect_allowed(self, uri: str) -> bool:
        """Whether `uri` is registered, compared as the vendor does (exact; Microsoft: any loopback port)."""
        assert self.oauth is not None
        if not self.oauth.redirect_uris:
            return True
        if uri in self.oauth.redirect_uris:
            return True
        if self.oauth.loopback_any_port:
            match = re.fullmatch(r"http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/.*)", uri)
            return match is not None and f"http://{match[1]}{match[3]}" in self.oauth.redirect_uris
        return False

    async def _authorize(self, request: web.Request) -> web.Response:
        """The authorisation endpoint (RFC 6749 §4.1.1, PKCE RFC 7636 §4.3): an unknown client or an unregistered
        redirect URI gets an error page (never a redirect to it, §4.1.2.1); then the consent page, or (already
        consented) the redirect back with a code."""
        query = request.query
        assert self.oauth is not None
        if query.get("client_id") != self.oauth.client_id:
            return web.Response(status=400, text="bad authorisation request: unknown client_id")
        if not self.redirect_allowed(query.get("redirect_uri", "")):
            return web.Response(status=400, text="bad authorisation request: redirect_uri is not registered")
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="bad authorisation request: code with PKCE S256 only")
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", query.get("code_challenge", "")):
            return web.Response(status=400, text="bad authorisation request: code_challenge")
        if self.oauth.consent_page:
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query.items()
            )
            page = (
                f"<!doctype html><title>{self.name}: allow access</title><h1>Allow access to {self.name}?</h1>"
                f'<form method="post">{hidden}<button id="allow">Allow</button></form>'
            )
            return web.Response(text=page, content_type="text/html")
        return self._redirect_with_code(query)

    async def _consent(self, request: web.Request) -> web.Response:
        """The consent page's Allow button."""
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not self.redirect_allowed(form.get("redirect_uri", "")):
            return web.Response(status=400, text="bad authorisation request: redirect_uri is not registered")
        return self._redirect_with_code(form)

    def _redirect_with_code(self, query: Any) -> web.Response:
        code = "code-" + secrets.token_hex(6)
        self.pending_codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "code_challenge": query["code_challenge"],
            "client_id": query["client_id"],
        }
        raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")

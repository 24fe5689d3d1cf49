"""A test add-in that signs in through the daemon (`Integration.sign_in`), and a small OAuth 2 vendor to sign in to.

`OAuthVendor` is an aiohttp server on 127.0.0.1: an authorisation endpoint that checks the client id, the
redirect URI and the PKCE S256 challenge and redirects back with a code; a token endpoint (RFC 6749 §4.1.3, §6)
that checks the verifier, issues access tokens and rotating refresh tokens, and answers `invalid_grant` once the
grant is revoked; `/me` (who is signed in) and `/people` (the contacts, with the bearer token). Knobs: `revoke()`,
`expire()`, `refuse_every_token` (every API request gets 401, whatever the token).

The add-in `oauthdemo` (setting `url`: the vendor) searches `/people` with `BookContext.sign_in`'s access token,
asks for a new one once after a 401 and reports a second 401 (`SignInSession.refused`). It logs every token it
uses, as a careless add-in would, so the tests can show the log never holds one.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from partnercrmd import hookimpl
from partnercrmd.errors import AddinError
from partnercrmd.integration import BookContext, Capability, ConfigField, Connector, FieldKind, Integration, OAuthSignIn
from partnercrmd.model import Contact, Phone, SearchQuery

INTEGRATION_ID = "oauthdemo"
CLIENT_ID = "partner-client-0001"
CLIENT_SECRET = "partner-secret-0123456789"
addin_log = logging.getLogger("oauthdemo_addin")


@dataclass
class OAuthVendor:
    redirect_uris: set[str] = field(default_factory=set)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    grants: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    """Every token issued (access and refresh), for the log check."""
    refuse_every_token: bool = False
    server: TestServer | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        app.router.add_get("/me", self.me)
        app.router.add_get("/people", self.people)
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

    def revoke(self) -> None:
        self.access_tokens.clear()
        self.refresh_tokens.clear()

    def expire(self) -> None:
        self.access_tokens.clear()

    def _new(self, prefix: str) -> str:
        token = f"{prefix}-{secrets.token_hex(12)}"
        self.issued.append(token)
        return token

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != CLIENT_ID or q.get("redirect_uri") not in self.redirect_uris:
            return web.Response(status=400, text="unknown client or redirect URI")
        if q.get("code_challenge_method") != "S256" or q.get("response_type") != "code":
            return web.Response(status=400, text="PKCE S256 required")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        raise web.HTTPFound(f"{q['redirect_uri']}?code={code}&state={q['state']}")

    async def token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.grants.append(form.get("grant_type", ""))
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") == "authorization_code":
            pending = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if pending is None or pending["redirect_uri"] != form.get("redirect_uri") or digest != pending["challenge"]:
                return web.json_response({"error": "invalid_grant"}, status=400)
        elif form.get("grant_type") == "refresh_token":
            old = form.get("refresh_token", "")
            if old not in self.refresh_tokens:
                return web.json_response({"error": "invalid_grant", "error_description": "revoked"}, status=400)
            self.refresh_tokens.discard(old)  # rotation: a refresh token is used once
        else:
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        access, refresh = self._new("access"), self._new("refresh")
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return web.json_response({"access_token": access, "refresh_token": refresh, "expires_in": 3600})

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return not self.refuse_every_token and scheme == "Bearer" and token in self.access_tokens

    async def me(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response({"email": "dana@northwind.example", "name": "Dana Whitfield"})

    async def people(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response([{"id": "1", "name": "Dana Whitfield", "phone": "+442079460958"}])


class SignedInBook(Connector):
    def __init__(self, context: BookContext) -> None:
        self.context = context
        self.url = str(context.settings["url"])

    async def _get(self, session: aiohttp.ClientSession, token: str) -> aiohttp.ClientResponse:
        addin_log.info("GET %s/people with Bearer %s", self.url, token)  # careless: the host masks it
        return await session.get(f"{self.url}/people", headers={"Authorization": f"Bearer {token}"})

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        sign_in = self.context.sign_in
        assert sign_in is not None
        token = await sign_in.access_token()
        async with aiohttp.ClientSession() as session:
            answer = await self._get(session, token)
            if answer.status == 401:
                token = await sign_in.renew(token)
                answer = await self._get(session, token)
                if answer.status == 401:
                    await sign_in.refused(token, "Demo CRM refused the access token after a refresh")
            if answer.status != 200:
                raise AddinError(f"The vendor answered {answer.status}.", code="cannot_connect")
            people = await answer.json()
        return [Contact(id=p["id"], display_name=p["name"], phones=[Phone(p["phone"])]) for p in people]


def sign_in(settings: Mapping[str, Any]) -> OAuthSignIn:
    url = str(settings["url"])
    return OAuthSignIn(
        authorize_url=f"{url}/authorize",
        token_url=f"{url}/token",
        scopes=("contacts.read", "offline_access"),
        userinfo_url=f"{url}/me",
        account_name=lambda me: str(me.get("email") or ""),
        service="Demo CRM",
    )


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    return [
        Integration(
            id=INTEGRATION_ID,
            name="Demo CRM (signs in)",
            version="1.0",
            open=SignedInBook,
            capabilities=frozenset({Capability.SEARCH_NAME, Capability.SEARCH_NUMBER}),
            config=(ConfigField("url", "Address", FieldKind.URL, required=True),),
            sign_in=sign_in,
        )
    ]

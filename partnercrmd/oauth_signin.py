"""Signing a book in with the user's own account: OAuth 2 authorisation code with PKCE, tokens in the vault.

The add-in says where and what (`Integration.sign_in` → `OAuthSignIn`: endpoints, scopes, who-am-I); this module
does the rest, for every integration alike:

- the client: the user's own client id (the book's advanced settings) or else the partner's, from its branding
  file (`Branding.oauth_clients`), `client_for`;
- the authorisation request: PKCE S256 (RFC 7636 §4), a `state` that is single-use, expires after
  `STATE_TTL` seconds and belongs to the browser and page session that started it (`PendingSignIns`), the
  daemon's own loopback page as redirect URI (RFC 8252 §7.3: `http://127.0.0.1:PORT/ui/oauth/callback`);
- the code exchange, the who-am-I call, and the tokens stored in the vault (`doc["sign_ins"][book id]`, never
  a plain file; an older release's `oauth-tokens.json` is adopted by the add-in through `SignInSession.adopt`);
- at run time (`BookSession`, the connector's `BookContext.sign_in`): silent refresh before expiry and after a
  401, at most once per refused token (never a loop), rotated refresh tokens stored before the new access
  token is used; a refused grant (`invalid_grant`, or a 401 after a refresh) marks the book "Sign in again"
  and raises `AddinError(code=SIGN_IN_REQUIRED)`, and the change is announced (`AddressBooksChanged`).

Every token and client secret is registered with `LOG_REDACTOR` (under the book's owner) as soon as it is known.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlencode

import aiohttp

from .branding import Branding, OAuthClient
from .errors import SIGN_IN_REQUIRED, AddinError, BadRequest, ConfigError, Forbidden
from .integration import Integration, OAuthSignIn, SignInSession
from .redact import LOG_REDACTOR, book_owner
from .vault import Vault

log = logging.getLogger(__name__)

CALLBACK_PATH = "/ui/oauth/callback"
STATE_TTL = 600.0
"""Seconds a started sign-in waits for the browser to come back (the user may have to log in at the vendor)."""
MAX_PENDING = 32
"""Sign-ins waiting at once; the oldest is forgotten first (a page reloaded many times leaves no heap behind)."""
EARLY_SECONDS = 60.0
"""An access token is renewed this long before it expires."""
HTTP_TIMEOUT = 15.0
VAULT_KEY = "sign_ins"
"""Where the vault document keeps each book's sign-in: {book id: SignInRecord as a dict}."""
BINDING_COOKIE = "partnercrmd_signin"
"""Ties a started sign-in to the browser that started it. SameSite=Lax: the vendor's redirect back is a
cross-site navigation, on which the Strict session cookie is not sent."""


# --- PKCE (RFC 7636) --------------------------------------------------------------------------------------------


def new_verifier() -> str:
    """A code verifier: 64 characters of [A-Za-z0-9-_] (RFC 7636 §4.1 asks for 43 to 128 unreserved characters)."""
    return secrets.token_urlsafe(48)


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# --- the client -------------------------------------------------------------------------------------------------


def client_for(integration: Integration, spec: OAuthSignIn, branding: Branding) -> OAuthClient:
    """The client a book signs in with: its own client id when the user gave one, else the partner's."""
    if spec.client_id:
        return OAuthClient(spec.client_id, spec.client_secret, own=True)
    partner = branding.oauth_clients.get(integration.id)
    if partner is not None and partner.client_id:
        return OAuthClient(partner.client_id, partner.client_secret)
    raise ConfigError(
        f"There is no OAuth client to sign in to {service_name(integration, spec)} with: this product's branding "
        "names none for it. Give your own app's client id in the address book's advanced settings.",
        code="no_oauth_client",
    )


def service_name(integration: Integration, spec: OAuthSignIn | None) -> str:
    return (spec.service if spec is not None and spec.service else "") or integration.name


def spec_for(integration: Integration, settings: Mapping[str, Any]) -> OAuthSignIn | None:
    """The integration's sign-in for these settings, or None when it does not sign in by authorisation code."""
    if integration.sign_in is None:
        return None
    return integration.sign_in(settings)


# --- what the vault keeps ---------------------------------------------------------------------------------------


@dataclass
class SignInRecord:
    """A book's sign-in as the vault keeps it."""

    access_token: str = ""
    expires_at: float = 0.0
    refresh_token: str = ""
    account: str = ""
    """Who is signed in, as the vendor's who-am-I call said."""
    client_id: str = ""
    """The client the tokens were issued to (a refresh must present the same one)."""
    signed_in_at: float = 0.0
    needs_sign_in: str = ""
    """Why the user has to sign in again (the grant was refused); "" while the grant works."""
    seed: str = ""
    """Digest of the tokens adopted from elsewhere (`SignInSession.adopt`), so the same ones are not taken twice."""

    @property
    def signed_in(self) -> bool:
        return bool(self.refresh_token or self.access_token) and not self.needs_sign_in

    def fresh(self) -> bool:
        return bool(self.access_token) and time.time() < self.expires_at - EARLY_SECONDS

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Any) -> SignInRecord:
        if not isinstance(data, Mapping):
            return cls()
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def read_record(doc: Mapping[str, Any], book_id: str) -> SignInRecord:
    return SignInRecord.from_dict(doc.get(VAULT_KEY, {}).get(book_id))


def write_record(vault: Vault, book_id: str, record: SignInRecord) -> None:
    """Store a book's sign-in (blocks: call it in a thread)."""

    def change(doc: dict[str, Any]) -> None:
        doc.setdefault(VAULT_KEY, {})[book_id] = record.to_dict()

    vault.update(change)


def forget_record(doc: dict[str, Any], book_id: str) -> None:
    """Inside a vault update: drop a removed book's tokens."""
    doc.get(VAULT_KEY, {}).pop(book_id, None)


# --- the token endpoint -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenAnswer:
    access_token: str
    refresh_token: str
    expires_at: float


class GrantRefused(Exception):
    """The token endpoint refused the grant itself (`invalid_grant`): only signing in again helps."""

    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


async def token_request(
    spec: OAuthSignIn, client: OAuthClient, form: Mapping[str, str], owner: str, service: str
) -> TokenAnswer:
    """POST to the token endpoint (RFC 6749 §4.1.3, §6); GrantRefused on `invalid_grant`, AddinError otherwise."""
    body = dict(form)
    headers = {"Accept": "application/json"}
    if client.client_secret and spec.client_auth == "basic":
        pair = f"{client.client_id}:{client.client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    else:
        body["client_id"] = client.client_id
        if client.client_secret:
            body["client_secret"] = client.client_secret
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT)) as session,
            session.post(spec.token_url, data=body, headers=headers) as answer,
        ):
            raw = await answer.read()
            status = answer.status
    except TimeoutError:
        raise AddinError(f"{service} did not answer the sign-in within {HTTP_TIMEOUT:g} s.", code="timeout") from None
    except aiohttp.ClientError as exc:
        raise AddinError(
            f"{service} cannot be reached to sign in ({type(exc).__name__}).", code="cannot_connect"
        ) from None
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    for issued in (payload.get("access_token"), payload.get("refresh_token")):
        if isinstance(issued, str) and issued:
            LOG_REDACTOR.add_secret(owner, issued)  # before anything may log or show it
    access = payload.get("access_token")
    if status == 200 and isinstance(access, str) and access:
        refresh = payload.get("refresh_token")
        return TokenAnswer(access, refresh if isinstance(refresh, str) else "", time.time() + _expires_in(payload))
    error = str(payload.get("error") or "")
    said = str(payload.get("error_description") or error or f"status {status}")[:300]
    if error == "invalid_grant":
        raise GrantRefused(said)
    if status >= 500:
        raise AddinError(f"{service} could not sign in just now ({said}).", code="cannot_connect")
    raise AddinError(f"{service} refused the sign-in ({said}).", code="invalid_auth")


def _expires_in(payload: Mapping[str, Any]) -> float:
    try:
        return max(float(payload.get("expires_in") or 3600), 0.0)
    except (TypeError, ValueError):
        return 3600.0


async def who_am_i(spec: OAuthSignIn, access_token: str) -> str:
    """The signed-in account's name from the vendor's who-am-I call; "" when there is none or it failed."""
    if not spec.userinfo_url:
        return ""
    url = spec.userinfo_url.replace("{access_token}", access_token)
    headers = {"Accept": "application/json", "Authorization": f"{spec.token_scheme} {access_token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT)) as session,
            session.get(url, headers=headers) as answer,
        ):
            if answer.status != 200:
                log.warning("the who-am-I call answered %s", answer.status)
                return ""
            data = json.loads(await answer.read())
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("the who-am-I call failed: %s", type(exc).__name__)
        return ""
    if spec.account_name is None:
        return ""
    try:
        return str(spec.account_name(data) or "")[:200]
    except Exception as exc:  # noqa: BLE001  (add-in code: the sign-in worked; only the name is missing)
        log.warning("reading the account's name failed: %s", type(exc).__name__)
        return ""


# --- sign-ins waiting for the browser ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingSignIn:
    """One authorisation request sent to the browser, waiting for its answer at the callback."""

    book_id: str
    verifier: str
    redirect_uri: str
    binding: str
    """Digest of the browser's binding cookie: only the browser that started it may finish it."""
    expires: float
    """time.monotonic() after which the answer is refused."""


@dataclass
class PendingSignIns:
    """States of sign-ins started and not finished: each used once, within `STATE_TTL`, by the same browser."""

    ttl: float = STATE_TTL
    waiting: dict[str, PendingSignIn] = field(default_factory=dict)

    def add(self, book_id: str, verifier: str, redirect_uri: str, binding: str) -> str:
        now = time.monotonic()
        self.waiting = {s: p for s, p in self.waiting.items() if p.expires > now}
        while len(self.waiting) >= MAX_PENDING:
            self.waiting.pop(next(iter(self.waiting)))
        state = secrets.token_urlsafe(32)
        self.waiting[state] = PendingSignIn(book_id, verifier, redirect_uri, _digest(binding), now + self.ttl)
        return state

    def take(self, state: str, binding: str) -> PendingSignIn:
        """The sign-in `state` belongs to, removed (one use); Forbidden when unknown, expired or another browser's."""
        pending = self.waiting.get(state)
        if pending is None or not state:
            raise Forbidden(
                "This sign-in answer does not belong to a sign-in started here, or it was used already. "
                "Start again with the Sign in button on the address book's page.",
                code="bad_state",
            )
        if not hmac.compare_digest(pending.binding, _digest(binding)):
            raise Forbidden(
                "This sign-in was started in another browser: finish it there, or start again here.",
                code="bad_state",
            )
        del self.waiting[state]
        if pending.expires < time.monotonic():
            raise Forbidden(
                f"This sign-in took longer than {self.ttl / 60:g} minutes: start again with the Sign in button.",
                code="expired_state",
            )
        return pending


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- the daemon's sign-ins --------------------------------------------------------------------------------------


class SignIns:
    """Every book's sign-in in one daemon: sessions for the connectors, the flow for the pages, the status."""

    def __init__(self, vault: Vault, branding: Branding, changed: Callable[[], None]) -> None:
        self.vault = vault
        self.branding = branding
        self.changed = changed
        """Announces a new sign-in (who is signed in changed: the daemon publishes `AddressBooksChanged`)."""
        self.pending = PendingSignIns()
        self.sessions: dict[str, BookSession] = {}
        """The open books' sessions, so a new sign-in reaches the connector at once."""

    async def session(self, book_id: str, integration: Integration, settings: Mapping[str, Any]) -> BookSession | None:
        """The sign-in session of a book being opened; None when its integration or settings do not sign in."""
        spec = spec_for(integration, settings)
        if spec is None:
            return None
        record = read_record(await asyncio.to_thread(self.vault.read), book_id)
        session = BookSession(self, book_id, integration, spec, record)
        self.sessions[book_id] = session
        return session

    def closed(self, book_id: str) -> None:
        """The book closed: its session goes (a re-opened book gets a new one)."""
        self.sessions.pop(book_id, None)

    # --- the flow the pages run

    def start(
        self, book_id: str, integration: Integration, settings: Mapping[str, Any], port: int, binding: str
    ) -> str:
        """The vendor's authorisation address for a new sign-in of the book (the browser goes there next)."""
        spec = spec_for(integration, settings)
        if spec is None:
            raise BadRequest(f"{integration.name} does not sign in with an account here.", code="no_sign_in")
        client = client_for(integration, spec, self.branding)
        if client.client_secret:
            LOG_REDACTOR.add_secret(book_owner(book_id), client.client_secret)
        verifier = new_verifier()
        redirect_uri = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
        state = self.pending.add(book_id, verifier, redirect_uri, binding)
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": s256_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if spec.scopes:
            params["scope"] = spec.scope_separator.join(spec.scopes)
        params.update(spec.authorize_params)
        return spec.authorize_url + ("&" if "?" in spec.authorize_url else "?") + urlencode(params)

    async def finish(
        self, pending: PendingSignIn, code: str, integration: Integration, settings: Mapping[str, Any]
    ) -> SignInRecord:
        """Exchange the code (with the PKCE verifier), ask who signed in, store the tokens in the vault."""
        spec = spec_for(integration, settings)
        if spec is None:
            raise BadRequest(f"{integration.name} does not sign in with an account here.", code="no_sign_in")
        client = client_for(integration, spec, self.branding)
        owner = book_owner(pending.book_id)
        service = service_name(integration, spec)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.verifier,
        }
        try:
            answer = await token_request(spec, client, form, owner, service)
        except GrantRefused as exc:
            raise AddinError(f"{service} refused the sign-in ({exc.said}); try again.", code="invalid_auth") from None
        account = await who_am_i(spec, answer.access_token)
        before = read_record(await asyncio.to_thread(self.vault.read), pending.book_id)
        record = SignInRecord(
            access_token=answer.access_token,
            expires_at=answer.expires_at,
            refresh_token=answer.refresh_token,
            account=account,
            client_id=client.client_id,
            signed_in_at=time.time(),
            seed=before.seed,  # tokens adopted before (a pasted refresh token) are not taken again
        )
        await asyncio.to_thread(write_record, self.vault, pending.book_id, record)
        session = self.sessions.get(pending.book_id)
        if session is not None:
            session.record = record
            session.refused_tokens.clear()
        log.info("address book %s signed in to %s", pending.book_id, service)
        self.changed()
        return record


def _sign_in_again(why: str) -> str:
    """The message of a grant only the user can renew: why, and what to do (the status says "Sign in again")."""
    return f"{why}. Sign in again with the button on the address book's page."


class BookSession(SignInSession):
    """One open book's sign-in: access tokens for its connector, refreshed silently, kept in the vault."""

    def __init__(
        self, sign_ins: SignIns, book_id: str, integration: Integration, spec: OAuthSignIn, record: SignInRecord
    ) -> None:
        self.sign_ins = sign_ins
        self.book_id = book_id
        self.integration = integration
        self.spec = spec
        self.record = record
        self.owner = book_owner(book_id)
        self.service = service_name(integration, spec)
        self.refused_tokens: set[str] = set()
        """Access tokens a refresh already replaced after a 401: a second 401 of one means the grant is gone."""
        self._lock = asyncio.Lock()
        client_secret = spec.client_secret or getattr(
            sign_ins.branding.oauth_clients.get(integration.id), "client_secret", ""
        )
        for value in (record.access_token, record.refresh_token, client_secret):
            if value:
                LOG_REDACTOR.add_secret(self.owner, value)

    async def access_token(self) -> str:
        async with self._lock:
            await self._reread_unless_signed_in()
            self._check_signed_in()
            if not self.record.fresh():
                await self._refresh()
            return self.record.access_token

    async def renew(self, rejected: str) -> str:
        async with self._lock:
            self._check_signed_in()
            if rejected != self.record.access_token and self.record.fresh():
                return self.record.access_token  # another request renewed it while this one waited
            if rejected in self.refused_tokens:
                await self._revoked(f"{self.service} refused the access token again after a refresh")
            self.refused_tokens.add(rejected)
            await self._refresh()
            return self.record.access_token

    async def refused(self, token: str, reason: str) -> None:
        async with self._lock:
            await self._revoked(reason or f"{self.service} refused the access token after a refresh")

    async def adopt(self, refresh_token: str, access_token: str = "", expires_at: float = 0.0, seed: str = "") -> bool:
        async with self._lock:
            if not refresh_token or seed == self.record.seed:
                return False
            for value in (access_token, refresh_token):
                if value:
                    LOG_REDACTOR.add_secret(self.owner, value)
            client = client_for(self.integration, self.spec, self.sign_ins.branding)
            self.record = SignInRecord(
                access_token=access_token,
                expires_at=expires_at,
                refresh_token=refresh_token,
                client_id=client.client_id,
                signed_in_at=time.time(),
                seed=seed,
            )
            await asyncio.to_thread(write_record, self.sign_ins.vault, self.book_id, self.record)
            return True

    async def _reread_unless_signed_in(self) -> None:
        """Without a usable grant, look in the vault again: another process (`template authorize`) may have signed
        the book in since it opened."""
        if self.record.signed_in:
            return
        stored = read_record(await asyncio.to_thread(self.sign_ins.vault.read), self.book_id)
        if stored.signed_in:
            for value in (stored.access_token, stored.refresh_token):
                if value:
                    LOG_REDACTOR.add_secret(self.owner, value)
            self.record = stored

    def _check_signed_in(self) -> None:
        if self.record.needs_sign_in:
            raise AddinError(_sign_in_again(self.record.needs_sign_in), code=SIGN_IN_REQUIRED)
        if not self.record.refresh_token and not self.record.fresh():
            raise AddinError(
                f"Not signed in to {self.service} yet: use 'Sign in with {self.service}' on the address book's page.",
                code=SIGN_IN_REQUIRED,
            )

    async def _refresh(self) -> None:
        """Swap the refresh token for a new access token (and a rotated refresh token), stored before use."""
        if not self.record.refresh_token:
            await self._revoked(f"The sign-in to {self.service} has expired and there is no refresh token")
        # The client of today's settings and branding: tokens issued to another one are refused, and the user
        # signs in again with this one (a client secret is never kept in the vault record).
        client = client_for(self.integration, self.spec, self.sign_ins.branding)
        form = {"grant_type": "refresh_token", "refresh_token": self.record.refresh_token}
        try:
            answer = await token_request(self.spec, client, form, self.owner, self.service)
        except GrantRefused as exc:
            await self._revoked(f"{self.service} refused the sign-in ({exc.said})")
        new = SignInRecord(
            access_token=answer.access_token,
            expires_at=answer.expires_at,
            refresh_token=answer.refresh_token or self.record.refresh_token,
            account=self.record.account,
            client_id=client.client_id,
            signed_in_at=self.record.signed_in_at,
            seed=self.record.seed,
        )
        await asyncio.to_thread(write_record, self.sign_ins.vault, self.book_id, new)
        self.record = new

    async def _revoked(self, why: str) -> NoReturn:
        """The grant is gone: forget its tokens (the vault keeps why), raise SIGN_IN_REQUIRED.

        The error's key is what turns the book's status to "Sign in again" (`BookManager.note_search`), which
        announces the change to clients (`AddressBooksChanged`)."""
        self.record = SignInRecord(account=self.record.account, client_id=self.record.client_id, needs_sign_in=why)
        await asyncio.to_thread(write_record, self.sign_ins.vault, self.book_id, self.record)
        log.warning("address book %s: sign in again (%s)", self.book_id, why)
        raise AddinError(_sign_in_again(why), code=SIGN_IN_REQUIRED)

"""A template's authentication: none, basic, API-key header, bearer, OAuth 2 client credentials and
authorisation code (PKCE, refresh-token rotation).

In a daemon, a book of an authorisation-code template signs in through the daemon (`SignedInAuth`: the user's
"Sign in with <CRM>", tokens in the daemon's encrypted vault, refreshed there: `BookContext.sign_in`). An older
release's token file (`oauth-tokens.json`) and a refresh token pasted into the settings are handed to the daemon
once (`SignInSession.adopt`) and the file is deleted.

`partnercrmd template authorize` stores what it obtains in the vault too (`partnercrmd.sdk.cli.store_sign_in`).
Outside a daemon (`template try`, a test's own `BookContext`), `OAuthAuth` keeps the tokens
in the book's data directory (`oauth-tokens.json`, mode 0600, in a directory only the user may enter). A refresh
token that came from the book's settings stays in the vault only: the file keeps its digest (`seed`) in its place.
A rotated refresh token is written before the new access token is used, so a crash never leaves only a spent
refresh token on disk.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partnercrmd.sdk import AddinError, SignInSession, atomic_write

from .client import HttpClient, Request
from .expressions import Text

TOKEN_FILE = "oauth-tokens.json"  # noqa: S105  (a file name)
SecretSink = Callable[[str], None]
"""Told every credential as soon as it is known (a daemon's book: `BookContext.add_secret`), so no log shows it."""
EARLY_SECONDS = 60
"""An access token is renewed this long before it expires."""


def _no_sink(value: str) -> None:
    """Outside a daemon's book (`template try`, `template authorize`) no one else needs to know the secrets."""


def _text(spec: Mapping[str, Any], key: str, context: Mapping[str, Any]) -> str:
    value = spec.get(key)
    return Text.compile(value).text(context) if isinstance(value, str) else ""


class StaticAuth:
    """none, basic, api_key and bearer: headers made from the settings."""

    def __init__(self, spec: Mapping[str, Any], context: Mapping[str, Any], on_secret: SecretSink = _no_sink) -> None:
        kind = spec["type"]
        self._headers: dict[str, str] = {}
        self._secrets: list[str] = []
        if kind == "basic":
            user, password = _text(spec, "username", context), _text(spec, "password", context)
            encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {encoded}"
            self._secrets += [encoded, password]
        elif kind == "api_key":
            value = _text(spec, "value", context)
            self._headers[str(spec["header"])] = value
            self._secrets.append(value)
        elif kind == "bearer":
            token = _text(spec, "token", context)
            self._headers["Authorization"] = f"{spec.get('scheme', 'Bearer')} {token}"
            self._secrets.append(token)
        # The header values are built from settings by the template (e.g. "{email}/token:{api_token}" in base64):
        # not every one of them is a setting's value, so the host learns them as sent.
        for secret in self.secrets():
            on_secret(secret)

    async def headers(self, client: HttpClient) -> dict[str, str]:
        return dict(self._headers)

    async def renew(self, client: HttpClient, sent: Mapping[str, str]) -> bool:
        return False

    async def refused(self, client: HttpClient, sent: Mapping[str, str]) -> None:
        """Static credentials: a 401 is the answer's to report (wrong key), nothing more to do."""

    def secrets(self) -> list[str]:
        return [s for s in self._secrets if s]


@dataclass
class Tokens:
    access_token: str = ""
    expires_at: float = 0.0
    refresh_token: str = ""
    seed: str = ""
    """A hash of the refresh token the settings gave, so a new one there replaces what is stored."""

    def valid(self) -> bool:
        return bool(self.access_token) and time.time() < self.expires_at - EARLY_SECONDS


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32] if text else ""


class TokenStore:
    """The book's OAuth tokens on disk (0600); reads and writes run in a worker thread."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / TOKEN_FILE

    def read(self) -> Tokens:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return Tokens()
        if not isinstance(data, dict):
            return Tokens()
        return Tokens(
            access_token=str(data.get("access_token") or ""),
            expires_at=float(data.get("expires_at") or 0),
            refresh_token=str(data.get("refresh_token") or ""),
            seed=str(data.get("seed") or ""),
        )

    def write(self, tokens: Tokens) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.path, json.dumps(tokens.__dict__).encode("utf-8"))  # 0600; a crash keeps the old tokens

    def remove(self) -> None:
        """Delete the file (its tokens are in the daemon's vault now)."""
        self.path.unlink(missing_ok=True)


class OAuthAuth:
    """Client credentials or authorisation code: a bearer token renewed at the token endpoint."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        context: Mapping[str, Any],
        data_dir: Path,
        name: str,
        on_secret: SecretSink = _no_sink,
    ) -> None:
        self.kind = str(spec["type"])
        self.name = name
        self.scheme = str(spec.get("scheme", "Bearer"))
        self.token_url = _text(spec, "token_url", context)
        self.client_id = _text(spec, "client_id", context)
        self.client_secret = _text(spec, "client_secret", context)
        self.scope = _text(spec, "scope", context)
        self.audience = _text(spec, "audience", context)
        self.client_auth = str(spec.get("client_auth", "body"))
        self.seed_refresh = _text(spec, "refresh_token", context)
        self.store = TokenStore(data_dir)
        self.tokens: Tokens | None = None
        self._lock = asyncio.Lock()
        self.on_secret = on_secret
        for secret in self.secrets():
            on_secret(secret)

    def secrets(self) -> list[str]:
        found = [self.client_secret, self.seed_refresh]
        if self.tokens is not None:
            found += [self.tokens.access_token, self.tokens.refresh_token]
        return [s for s in found if s]

    async def _load(self) -> Tokens:
        if self.tokens is None:
            stored = await asyncio.to_thread(self.store.read)
            if self.kind == "oauth2_authorization_code" and stored.seed != _digest(self.seed_refresh):
                stored = Tokens(refresh_token=self.seed_refresh, seed=_digest(self.seed_refresh))
            elif self.kind == "oauth2_authorization_code" and not stored.refresh_token:
                stored.refresh_token = self.seed_refresh  # not rotated yet: the settings' one (see `_stored`)
            self.on_secret(stored.access_token)
            self.on_secret(stored.refresh_token)
            self.tokens = stored
        return self.tokens

    async def headers(self, client: HttpClient) -> dict[str, str]:
        async with self._lock:
            tokens = await self._load()
            if not tokens.valid():
                await self._fetch(client, tokens)
            assert self.tokens is not None
            return {"Authorization": f"{self.scheme} {self.tokens.access_token}"}

    async def renew(self, client: HttpClient, sent: Mapping[str, str]) -> bool:
        async with self._lock:
            tokens = await self._load()
            if sent.get("Authorization") != f"{self.scheme} {tokens.access_token}":
                return True  # another request renewed the token while this one waited
            await self._fetch(client, Tokens(refresh_token=tokens.refresh_token, seed=tokens.seed))
            return True

    async def refused(self, client: HttpClient, sent: Mapping[str, str]) -> None:
        """Outside a daemon there is no status to change: the 401 is reported as the answer's error."""

    async def _fetch(self, client: HttpClient, old: Tokens) -> None:
        if self.kind == "oauth2_client_credentials":
            form = {"grant_type": "client_credentials"}
            if self.scope:
                form["scope"] = self.scope
            if self.audience:
                form["audience"] = self.audience
        else:
            if not old.refresh_token:
                raise AddinError(
                    f"{self.name} is not authorised yet: run `partnercrmd template authorize BOOK` "
                    "(or give a refresh token in the book's settings).",
                    code="invalid_auth",
                )
            form = {"grant_type": "refresh_token", "refresh_token": old.refresh_token}
        payload = await self.token_request(client, form)
        refresh = str(payload.get("refresh_token") or old.refresh_token)
        new = Tokens(
            access_token=str(payload["access_token"]),
            expires_at=time.time() + _expires_in(payload),
            refresh_token=refresh if self.kind == "oauth2_authorization_code" else "",
            seed=old.seed,
        )
        self.tokens = new
        await asyncio.to_thread(self.store.write, self._stored(new))

    def _stored(self, tokens: Tokens) -> Tokens:
        """What goes into the token file: the settings' own refresh token stays in the (encrypted) vault only."""
        if self.seed_refresh and tokens.refresh_token == self.seed_refresh:
            return dataclasses.replace(tokens, refresh_token="")
        return tokens

    async def token_request(self, client: HttpClient, form: dict[str, str]) -> dict[str, Any]:
        """POST to the token endpoint (RFC 6749 §4.1.3, §4.4.2, §6); the JSON answer with an access token."""
        headers = {"Accept": "application/json"}
        form = dict(form)
        if self.client_auth == "basic" and self.client_secret:
            pair = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form["client_id"] = self.client_id
            if self.client_secret:
                form["client_secret"] = self.client_secret
        answer = await client.send(
            Request("POST", self.token_url, headers, form=form, timeout=15.0), authenticate=False
        )
        payload = answer.payload if isinstance(answer.payload, dict) else {}
        for issued in (payload.get("access_token"), payload.get("refresh_token")):
            if isinstance(issued, str):
                self.on_secret(issued)  # before anything can put it in a message or a log
        token = payload.get("access_token")
        if answer.status != 200 or not isinstance(token, str) or not token:
            error = payload.get("error_description") or payload.get("error") or f"status {answer.status}"
            hint = (
                "check the client id and secret"
                if self.kind == "oauth2_client_credentials"
                else "authorise again with `partnercrmd template authorize BOOK`"
            )
            raise AddinError(
                client.mask(f"{self.name} refused to issue an access token ({error}); {hint}."), code="invalid_auth"
            )
        return payload


def _expires_in(payload: Mapping[str, Any]) -> float:
    value = payload.get("expires_in")
    try:
        seconds = float(value) if value is not None else 3600.0
    except (TypeError, ValueError):
        seconds = 3600.0
    return max(seconds, 0.0)


class SignedInAuth:
    """Authorisation code in a daemon: the user signed in through the daemon, which keeps and refreshes the tokens."""

    def __init__(
        self,
        session: SignInSession,
        spec: Mapping[str, Any],
        context: Mapping[str, Any],
        data_dir: Path,
        on_secret: SecretSink = _no_sink,
    ) -> None:
        self.session = session
        self.scheme = str(spec.get("scheme", "Bearer"))
        self.seed_refresh = _text(spec, "refresh_token", context)
        self.store = TokenStore(data_dir)
        self.on_secret = on_secret
        self._token = ""
        self._adopted = False
        for secret in (self.seed_refresh, _text(spec, "client_secret", context)):
            if secret:
                on_secret(secret)

    async def _adopt_once(self) -> None:
        """Hand tokens obtained before the daemon kept them to the daemon: the token file, a pasted refresh token."""
        if self._adopted:
            return
        self._adopted = True
        seed = _digest(self.seed_refresh)
        stored = await asyncio.to_thread(self.store.read)
        if stored.refresh_token or stored.access_token:
            continues_setting = bool(self.seed_refresh) and stored.seed == seed
            refresh = stored.refresh_token or (self.seed_refresh if continues_setting else "")
            for value in (stored.access_token, refresh):
                self.on_secret(value)
            origin = seed if continues_setting else "file:" + _digest(refresh)
            await self.session.adopt(refresh, stored.access_token, stored.expires_at, seed=origin)
            await asyncio.to_thread(self.store.remove)
        if self.seed_refresh:
            await self.session.adopt(self.seed_refresh, seed=seed)  # nothing when it was adopted before

    async def headers(self, client: HttpClient) -> dict[str, str]:
        await self._adopt_once()
        self._token = await self.session.access_token()
        self.on_secret(self._token)
        return {"Authorization": f"{self.scheme} {self._token}"}

    def _sent_token(self, sent: Mapping[str, str]) -> str:
        return sent.get("Authorization", "").removeprefix(f"{self.scheme} ")

    async def renew(self, client: HttpClient, sent: Mapping[str, str]) -> bool:
        self._token = await self.session.renew(self._sent_token(sent))
        self.on_secret(self._token)
        return True

    async def refused(self, client: HttpClient, sent: Mapping[str, str]) -> None:
        await self.session.refused(self._sent_token(sent), f"{client.name} refused the access token after a refresh")

    def secrets(self) -> list[str]:
        return [s for s in (self._token, self.seed_refresh) if s]


def make_auth(
    spec: Mapping[str, Any],
    context: Mapping[str, Any],
    data_dir: Path,
    name: str,
    on_secret: SecretSink = _no_sink,
    session: SignInSession | None = None,
) -> StaticAuth | OAuthAuth | SignedInAuth:
    """The book's authentication; `on_secret` is told every credential it sends or obtains (see `SecretSink`).

    `session` is the daemon's sign-in of the book (`BookContext.sign_in`): authorisation-code templates use it.
    """
    if spec["type"] == "oauth2_authorization_code" and session is not None:
        return SignedInAuth(session, spec, context, data_dir, on_secret)
    if spec["type"] in ("oauth2_client_credentials", "oauth2_authorization_code"):
        return OAuthAuth(spec, context, data_dir, name, on_secret)
    return StaticAuth(spec, context, on_secret)


# --- authorisation code with PKCE (RFC 6749 §4.1, RFC 7636, loopback redirect RFC 8252 §7.3) -----------


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def authorize(
    spec: Mapping[str, Any],
    context: Mapping[str, Any],
    data_dir: Path,
    client: HttpClient,
    open_url: Callable[[str], Any],
    *,
    wait_seconds: float = 300.0,
) -> Tokens:
    """Run the authorisation-code flow once: a short-lived listener on 127.0.0.1 takes the redirect.

    `open_url` shows the authorisation page (the browser, or a test's stand-in); the code that comes
    back is exchanged for tokens, which are returned for the caller to store (the daemon's vault).
    """
    from urllib.parse import urlencode

    from aiohttp import web

    auth = OAuthAuth(spec, context, data_dir, client.name)
    client.auth = auth
    state = secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    use_pkce = bool(spec.get("pkce", True))
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def callback(request: web.Request) -> web.Response:
        if request.query.get("state") != state:
            return web.Response(
                status=400, text="This answer does not belong to the authorisation partnercrmd started."
            )
        if "error" in request.query:
            if not done.done():
                done.set_exception(
                    AddinError(f"{client.name} refused the authorisation: {request.query['error'][:200]}.")
                )
            return web.Response(text="The authorisation was refused; you may close this window.")
        code = request.query.get("code", "")
        if code and not done.done():
            done.set_result(code)
        return web.Response(text="partnercrmd is authorised; you may close this window.")

    app = web.Application()
    app.router.add_get("/callback", callback)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        redirect_uri = f"http://127.0.0.1:{port}/callback"
        params = {
            "response_type": "code",
            "client_id": auth.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if auth.scope:
            params["scope"] = auth.scope
        if use_pkce:
            params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        for key, value in (spec.get("authorize_params") or {}).items():
            params[key] = Text.compile(value).text(context)
        url = _text(spec, "authorize_url", context)
        url += ("&" if "?" in url else "?") + urlencode(params)
        opened = open_url(url)
        if asyncio.iscoroutine(opened):
            await opened
        try:
            code = await asyncio.wait_for(done, wait_seconds)
        except TimeoutError:
            raise AddinError(f"No authorisation came back within {wait_seconds:g} s.", code="timeout") from None
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if use_pkce:
            form["code_verifier"] = verifier
        payload = await auth.token_request(client, form)
    finally:
        await runner.cleanup()
    refresh = payload.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise AddinError(f"{client.name} gave no refresh token; ask for offline access (scope) and try again.")
    return Tokens(
        access_token=str(payload["access_token"]),
        expires_at=time.time() + _expires_in(payload),
        refresh_token=refresh,
        seed=_digest(auth.seed_refresh),
    )

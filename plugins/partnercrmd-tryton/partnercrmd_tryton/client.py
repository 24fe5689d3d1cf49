"""Tryton's JSON-RPC protocol over aiohttp: sign in, keep the session, call model methods.

Tryton 8 serves JSON-RPC at `POST <url>/<database>/rpc/` (the path its web client uses) with a body
`{"id": 1, "method": "model.party.party.search_read", "params": [...]}`:

- `common.db.login` with `[user, {"password": ...}, language]` answers `[user id, session, ...]`;
  every later call carries `Authorization: Session base64(user:id:session)`.
- Model methods take the user's context (from `model.res.user.get_preferences`) as their last parameter.
- A session ends after some idle minutes (`[session] timeout`, 5 by default): the server then answers 401,
  and the client signs in again, once, and repeats the call.
- Errors come back as `{"error": [kind, args]}` (200) or as HTTP statuses: 401 refused credentials or
  session, 403 a forbidden method, 404 an unknown database, 429 too many failed sign-ins.

Every failure leaves this module as an `AddinError` with a sentence for the user and a stable key;
the password never appears in one. The SDK's `BookHttp` carries the requests (session, time limits,
size cap, the wording of network failures); this module knows the protocol.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from partnercrmd.sdk import AddinError
from partnercrmd.sdk.http import BookHttp, HttpAnswer

DEFAULT_TIMEOUT = 10.0
"""Seconds a call may take; the daemon's search deadline usually cuts a search earlier."""
CONNECT_TIMEOUT = 3.0
LANGUAGE = "en"
"""Language of the session: Tryton's error messages (shown to the user) come in this language."""
THREAD_DECODE_BYTES = 64 * 1024
"""Answers longer than this (a page of an index refresh) are decoded in a worker thread, off the event loop."""
LOGIN_RETRY_SECONDS = 30.0
"""After refused credentials, calls fail at once for this long instead of signing in again.

Tryton slows every further failed sign-in of a login (up to 2**n - 1 s) and locks it after five:
retrying a wrong password on every ring would lock the user out and make each search hang.
"""
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
ACCESS_DENIED_PREFIX = "You are not allowed"
"""How Tryton's (English) access errors begin; they get the key `invalid_auth` instead of `invalid_data`."""


@dataclass(frozen=True)
class Credentials:
    url: str
    """The server's base address, e.g. https://erp.example.com:8000 (no trailing slash, no user:password@)."""
    database: str
    username: str
    password: str = field(repr=False)


def decode_object(obj: dict[str, Any]) -> Any:
    """JSON object hook for the types Tryton marks with `__class__` (datetime, date, bytes, Decimal…)."""
    kind = obj.get("__class__")
    if kind is None:
        return obj
    try:
        if kind == "datetime":
            return datetime(
                obj["year"], obj["month"], obj["day"], obj["hour"], obj["minute"], obj["second"], obj["microsecond"]
            )
        if kind == "date":
            return date(obj["year"], obj["month"], obj["day"])
        if kind == "bytes":
            return base64.b64decode(obj["base64"])
        if kind == "Decimal":
            return Decimal(obj["decimal"])
        if kind == "timedelta":
            return timedelta(seconds=obj["seconds"])
    except (KeyError, TypeError, ValueError, ArithmeticError, binascii.Error):
        raise ValueError(f"a malformed {str(kind)[:20]} value") from None
    return obj


def _error_text(kind: str, args: object) -> str:
    """Tryton's message in the args of an error: UserError [message, description, domain], UserWarning and
    LoginException [name, message, ...], ConcurrencyException [message]."""
    if not isinstance(args, list):
        return ""
    index = 1 if kind in {"UserWarning", "LoginException"} else 0
    value = args[index] if len(args) > index else None
    return value.strip() if isinstance(value, str) else ""


def rpc_error(error: object, method: str) -> AddinError:
    """The AddinError for a JSON-RPC `error` member: Tryton's own message when it gives one."""
    kind, args = "", None
    if isinstance(error, list | tuple) and error:
        kind = str(error[0])
        args = error[1] if len(error) > 1 else None
    if kind == "LoginException":
        return AddinError(
            "Tryton asks this user for more than a password (a second factor), which partnercrmd cannot give; "
            "use a user that signs in with a password only.",
            code="invalid_auth",
        )
    message = _error_text(kind, args) if kind in {"UserError", "UserWarning", "ConcurrencyException"} else ""
    if message:
        code = "invalid_auth" if message.startswith(ACCESS_DENIED_PREFIX) else "invalid_data"
        return AddinError(f"Tryton refused {method}: {message[:300]}", code=code)
    # An unexpected server exception comes as [str(exception), traceback]: the traceback is for the server's log.
    return AddinError(f"The Tryton server failed on {method}: {(kind or 'unknown error')[:200]}", code="unknown")


class TrytonClient:
    """One signed-in user of one Tryton database; safe for concurrent use from one event loop."""

    def __init__(
        self,
        credentials: Credentials,
        timeout: float = DEFAULT_TIMEOUT,
        add_secret: Callable[[str], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self.shown_url = credentials.url
        self._add_secret = add_secret
        """Where a session's secrets go as soon as they are known (`BookContext.add_secret`: kept out of every log)."""
        self._session_secrets: list[str] = []
        self.http = BookHttp(
            "the Tryton server",
            timeout=timeout,
            connect_timeout=CONNECT_TIMEOUT,
            max_body_bytes=MAX_RESPONSE_BYTES,
            credentials_hint="Check the settings 'username' and 'password'.",
            secrets=lambda: [credentials.password, *self._session_secrets],
        )
        self._login_task: asyncio.Task[None] | None = None
        self._auth: str | None = None
        self._context: dict[str, Any] = {}
        self._refusal: AddinError | None = None
        self._refused_until = 0.0

    @property
    def rpc_url(self) -> str:
        return f"{self.credentials.url}/{quote(self.credentials.database, safe='')}/rpc/"

    @property
    def context(self) -> Mapping[str, Any]:
        """The signed-in user's context (language, company…), as the server gave it."""
        return self._context

    # --- transport -----------------------------------------------------------------------------------

    async def _exchange(self, url: str, method: str, params: list[Any], auth: str | None) -> HttpAnswer:
        """POST one JSON-RPC request and read the answer. Network failures become AddinError."""
        body = json.dumps({"id": 1, "method": method, "params": params}, default=_encode)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = auth
        return await self.http.request("POST", url, data=body.encode(), headers=headers)

    def _result(self, answer: HttpAnswer, method: str) -> Any:
        """The `result` of a 200 answer; AddinError for any other status or an `error` member."""
        status = answer.status
        if status == HTTPStatus.NOT_FOUND:
            raise AddinError(
                f"The Tryton server at {self.shown_url} has no database '{self.credentials.database}' "
                "(or no JSON-RPC there); check the settings 'url' and 'database'.",
                code="not_found",
            )
        if status == HTTPStatus.GATEWAY_TIMEOUT:
            raise AddinError(f"The Tryton server gave up on {method} (its request time limit).", code="timeout")
        if status != HTTPStatus.OK:
            raise self.http.failure(answer, f"run {method}")
        payload = self.http.json(answer, object_hook=decode_object)
        if not isinstance(payload, dict):
            raise AddinError(f"The answer of the Tryton server to {method} is not a JSON object.", code="invalid_data")
        if payload.get("error") is not None:
            raise rpc_error(payload["error"], method)
        if "result" not in payload:
            raise AddinError(f"The answer of the Tryton server to {method} has no result.", code="invalid_data")
        return payload["result"]

    # --- signing in ----------------------------------------------------------------------------------

    def _refused(self, message: str) -> AddinError:
        self._refusal = AddinError(message, code="invalid_auth")
        self._refused_until = time.monotonic() + LOGIN_RETRY_SECONDS
        return AddinError(message, code="invalid_auth")

    async def _login(self) -> None:
        if self._refusal is not None and time.monotonic() < self._refused_until:
            raise AddinError(self._refusal.message, code=self._refusal.code)
        user, database = self.credentials.username, self.credentials.database
        params: list[Any] = [user, {"password": self.credentials.password}, LANGUAGE]
        answer = await self._exchange(self.rpc_url, "common.db.login", params, None)
        status = answer.status
        if status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
            raise self._refused(
                f"Tryton refused the user name or password of '{user}' on database '{database}'; "
                "check the settings 'username' and 'password'."
            )
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            raise self._refused(
                f"Tryton refuses sign-ins of '{user}' for now, after too many failed attempts; "
                "check the setting 'password' and try again in a few minutes."
            )
        result = self._result(answer, "common.db.login")
        if not (isinstance(result, list) and len(result) >= 2 and isinstance(result[0], int)):
            raise AddinError("Tryton's answer to the sign-in is not [user id, session, …].", code="invalid_data")
        token = base64.b64encode(f"{user}:{result[0]}:{result[1]}".encode()).decode("ascii")
        auth = f"Session {token}"
        # The session key signs every later call as this user: a secret like the password, from now on.
        self._session_secrets = [str(result[1]), token]
        if self._add_secret is not None:
            for secret in self._session_secrets:
                self._add_secret(secret)
        # get_preferences(context_only=True, context={}) gives the context the web client passes with every call.
        answer = await self._exchange(self.rpc_url, "model.res.user.get_preferences", [True, {}], auth)
        preferences = self._result(answer, "model.res.user.get_preferences")
        self._context = dict(preferences) if isinstance(preferences, dict) else {}
        self._auth = auth
        self._refusal = None

    async def _signed_in(self, stale: str | None = None) -> str:
        """The Authorization header of a live session; signs in (once for concurrent callers) when needed.

        `stale` is a header the server has just refused: it is dropped unless another caller already replaced it.
        The sign-in runs in a task of its own: a search that reaches its deadline meanwhile is cancelled, but
        the sign-in goes on, so the next search finds the session ready instead of starting over (Tryton's
        password check alone takes about half a second).
        """
        if stale is not None and self._auth == stale:
            self._auth = None
        if self._auth is not None:
            return self._auth
        if self._login_task is None or self._login_task.done():
            self._login_task = asyncio.create_task(self._login(), name=f"tryton sign-in {self.shown_url}")
            self._login_task.add_done_callback(_retrieve)
        try:
            await asyncio.shield(self._login_task)
        except AddinError as exc:
            raise AddinError(exc.message, code=exc.code) from None  # one exception object per waiter
        if self._auth is None:  # the session was refused again while this caller waited
            raise AddinError("Tryton ended the new session at once; try again.", code="invalid_auth")
        return self._auth

    async def login(self) -> None:
        """Sign in again now (for "test connection"); later calls reuse the session."""
        await self._signed_in(stale=self._auth)

    async def ensure_signed_in(self) -> None:
        """Sign in unless a session is already open."""
        if self._auth is None:
            await self._signed_in()

    # --- calls ---------------------------------------------------------------------------------------

    async def server_version(self) -> str:
        """The server's series, e.g. "8.2" (needs no database and no sign-in)."""
        answer = await self._exchange(f"{self.credentials.url}/rpc/", "common.server.version", [], None)
        if answer.status == HTTPStatus.NOT_FOUND:
            raise AddinError(
                f"{self.shown_url} answers, but not as a Tryton server (no /rpc/); check the setting 'url'.",
                code="not_found",
            )
        version = self._result(answer, "common.server.version")
        return str(version)[:20]

    async def call(self, method: str, *args: Any) -> Any:
        """Call `method` (e.g. "model.party.party.search_read") with `args` and the user's context.

        An expired session (401/403) is replaced once; a second refusal is an `invalid_auth` error.
        """
        auth = self._auth or await self._signed_in()
        answer = await self._exchange(self.rpc_url, method, [*args, self._context], auth)
        if answer.status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
            auth = await self._signed_in(stale=auth)
            answer = await self._exchange(self.rpc_url, method, [*args, self._context], auth)
            if answer.status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
                raise AddinError(
                    f"Tryton does not let '{self.credentials.username}' call {method} (HTTP {answer.status}).",
                    code="invalid_auth",
                )
        if len(answer.body) > THREAD_DECODE_BYTES:
            return await asyncio.to_thread(self._result, answer, method)
        return self._result(answer, method)

    async def close(self) -> None:
        task, self._login_task = self._login_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, AddinError):
                await task
        await self.http.close()
        self._auth = None


def _retrieve(task: asyncio.Task[None]) -> None:
    """Mark a sign-in's failure as seen (its waiters get their own copy; none may be left waiting)."""
    if not task.cancelled():
        task.exception()


def _encode(value: object) -> Any:
    """json.dumps default: the Tryton forms of bytes and datetimes (the add-in sends few of them)."""
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, datetime):
        return {
            "__class__": "datetime",
            **{k: getattr(value, k) for k in ("year", "month", "day", "hour", "minute", "second", "microsecond")},
        }
    raise TypeError(f"cannot send {type(value).__name__} to Tryton")

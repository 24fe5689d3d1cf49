"""Sending a template's requests: rate limits, deadlines, renewed credentials and the trace, over the SDK's `BookHttp`.

A 429 (or a 503 with Retry-After) waits as long as the server asks, when that is within the
template's `rate_limit.max_wait_seconds` and the operation's deadline, and tries again up to
`rate_limit.retries` times. A 401 asks the book's authentication to renew itself once (OAuth)
and repeats the request. `BookHttp` (one per book) owns the session, the size-capped reads and the
wording of network failures; answers are untrusted and parsed as JSON only.
Every request and answer can be recorded, secrets masked, for `partnercrmd template try`.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from multidict import CIMultiDict, CIMultiDictProxy

from partnercrmd.sdk import MASK
from partnercrmd.sdk.http import BookHttp, HttpAnswer

MAX_BODY_BYTES = 8 * 1024 * 1024
TRACE_BODY_CHARS = 2000
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "token"}


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3); None if absent or odd."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass
class TraceEntry:
    """One request and its answer, as `template try` prints them (secrets already masked)."""

    method: str
    url: str
    headers: dict[str, str]
    body: str
    status: int | None = None
    answer: str = ""
    note: str = ""


@dataclass
class Trace:
    entries: list[TraceEntry] = field(default_factory=list)
    mappings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str]
    query: Mapping[str, Any] | None = None
    json_body: Any = None
    form: Mapping[str, Any] | None = None
    timeout: float = 10.0
    send: bool = True
    graphql: bool = False
    """A GraphQL operation: an answer carrying an `errors` list failed, whatever its HTTP status."""


@dataclass(frozen=True)
class Answer:
    status: int
    payload: Any
    headers: Mapping[str, str]
    raw: HttpAnswer
    """The answer as read (for `BookHttp.failure`); status 0 and no body for a request not sent."""
    graphql_errors: tuple[str, ...] = ()
    """A GraphQL answer's error messages (GraphQL servers answer 200 with `errors` for a refused query)."""

    @property
    def ok(self) -> bool:
        """Whether the request did what it asked: a 2xx status and, for GraphQL, no errors."""
        return 200 <= self.status < 300 and not self.graphql_errors


class Authenticator(Protocol):
    async def headers(self, client: HttpClient) -> dict[str, str]: ...

    async def renew(self, client: HttpClient, sent: Mapping[str, str]) -> bool:
        """After a 401 to a request sent with the headers `sent`: get new credentials (unless another
        request did meanwhile); whether the request is worth repeating."""
        ...

    async def refused(self, client: HttpClient, sent: Mapping[str, str]) -> None:
        """The request sent with `sent` got a 401 again after `renew`: raise when that means the grant is gone."""
        ...

    def secrets(self) -> list[str]: ...


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class HttpClient:
    """One book's HTTP: the session, retries, the trace; `name` and `url_setting` word the errors."""

    def __init__(
        self,
        name: str,
        *,
        url_setting: str,
        retries: int,
        max_wait: float,
        mask: Callable[[str], str],
        trace: Trace | None = None,
    ) -> None:
        self.http = BookHttp(name, url_setting=url_setting, max_body_bytes=MAX_BODY_BYTES)
        self.retries = retries
        self.max_wait = max_wait
        self._mask_settings = mask
        self.trace = trace
        self.auth: Authenticator | None = None
        self.sleep: Callable[[float], Any] = asyncio.sleep

    @property
    def name(self) -> str:
        """The CRM as messages name it (the template's `name`; it changes when the template is edited)."""
        return self.http.service

    @name.setter
    def name(self, name: str) -> None:
        self.http.service = name

    def mask(self, text: str) -> str:
        text = self._mask_settings(text)
        for secret in sorted(self.auth.secrets() if self.auth else [], key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, MASK)
        return text

    async def close(self) -> None:
        await self.http.close()

    async def send(self, request: Request, *, authenticate: bool = True) -> Answer:
        """Send with authentication, waiting out rate limits and renewing credentials once after a 401."""
        deadline = time.monotonic() + request.timeout
        renewed = False
        attempts = 0
        while True:
            headers = dict(request.headers)
            if authenticate and self.auth is not None:
                headers.update(await self.auth.headers(self))
            answer = await self._send_once(request, headers, deadline)
            if answer.status == 401 and authenticate and self.auth is not None:
                if not renewed:
                    renewed = True
                    if await self.auth.renew(self, headers):
                        self._note("401: credentials renewed, the request is repeated")
                        continue
                else:
                    await self.auth.refused(self, headers)  # once renewed, never again: no loop
            if answer.status in (429, 503) and attempts < self.retries:
                wait = retry_after_seconds(answer.headers.get("Retry-After"))
                if answer.status == 503 and wait is None:
                    return answer
                wait = 1.0 if wait is None else wait
                if wait <= self.max_wait and time.monotonic() + wait < deadline:
                    attempts += 1
                    self._note(f"{answer.status}: waiting {wait:g} s as the server asks (Retry-After)")
                    await self.sleep(wait)
                    continue
            return answer

    def _note(self, text: str) -> None:
        if self.trace is not None and self.trace.entries:
            self.trace.entries[-1].note = text

    def _record(self, request: Request, headers: Mapping[str, str]) -> TraceEntry | None:
        if self.trace is None:
            return None
        shown_headers = {k: (MASK if k.lower() in SECRET_HEADERS else self.mask(v)) for k, v in headers.items()}
        url = request.url
        if request.query:
            url += ("&" if "?" in url else "?") + urlencode({k: _query_value(v) for k, v in request.query.items()})
        if request.json_body is not None:
            body = json.dumps(request.json_body, ensure_ascii=False, indent=1)
        elif request.form is not None:
            body = json.dumps({k: _query_value(v) for k, v in request.form.items()}, ensure_ascii=False)
        else:
            body = ""
        entry = TraceEntry(request.method, self.mask(url), shown_headers, self.mask(body))
        self.trace.entries.append(entry)
        return entry

    async def _send_once(self, request: Request, headers: dict[str, str], deadline: float) -> Answer:
        entry = self._record(request, headers)
        if not request.send:
            if entry is not None:
                entry.note = "not sent: a dry run of an operation that writes; give --send to send it"
            return Answer(0, None, {}, HttpAnswer(request.method, request.url, 0, CIMultiDictProxy(CIMultiDict()), b""))
        params = {k: _query_value(v) for k, v in (request.query or {}).items()}
        data = {k: _query_value(v) for k, v in request.form.items()} if request.form is not None else None
        raw = await self.http.request(
            request.method,
            request.url,
            params=params or None,
            json_body=request.json_body,
            data=data,
            headers=headers,
            time_limit=request.timeout,
            deadline=deadline,
        )
        payload = _parse(raw.body)
        errors = _graphql_errors(payload) if request.graphql else ()
        answer = Answer(raw.status, payload, dict(raw.headers), raw, errors)
        if entry is not None:
            entry.status = answer.status
            shown = raw.text()
            if isinstance(payload, (dict, list)):
                shown = json.dumps(_scrub(payload), ensure_ascii=False, indent=1)
            shown = self.mask(shown)
            entry.answer = shown if len(shown) <= TRACE_BODY_CHARS else shown[:TRACE_BODY_CHARS] + "\n…"
        return answer


SECRET_KEY_WORDS = ("token", "secret", "password", "api_key", "apikey")


def _scrub(value: Any) -> Any:
    """An answer for the trace: values of keys that name credentials (access_token, client_secret…) masked."""
    if isinstance(value, dict):
        return {
            k: MASK if any(w in str(k).lower() for w in SECRET_KEY_WORDS) and isinstance(v, str) and v else _scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _graphql_errors(payload: Any) -> tuple[str, ...]:
    """The messages of a GraphQL answer's `errors` list (GraphQL over HTTP: each error has a `message`)."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list) or not errors:
        return ()
    messages = [str(e.get("message") or "") if isinstance(e, dict) else str(e) for e in errors]
    return tuple(" ".join(m.split()) for m in messages if m.strip()) or ("an error without a message",)


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None

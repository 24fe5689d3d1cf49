"""Sending a template's requests: rate limits, deadlines, renewed credentials and the trace, over the SDK's `BookHttp`.

A 429 (or a 503 with Retry-After) waits as long as the server asks, when that is within the
template's `rate_limit.max_wait_seconds` and the operation's deadline, and tries again up to
`rate_limit.retries` times. A 401 asks the book's authentication to renew itself once (OAuth)
and repeats the request. `BookHttp` (one per book) owns the session, the size-capped reads and the
wording of network failures; answers are untrusted and parsed as JSON only, except the answer to an
XML-RPC call, read by the standard library's `xmlrpc.client` (expat, whose releases since 2.4.1 refuse
entity-expansion bombs) in a worker thread: it is bounded by the same size cap (`MAX_BODY_BYTES`) as every
answer, but 8 MB of XML is too much to parse on the event loop.

JSON-RPC 2.0 and XML-RPC calls (`Request.rpc`) are enveloped here, and their answers unwrapped: the payload
of an answer is the call's result, a fault is `Answer.rpc_fault` and an answer that is no RPC response at all
is `Answer.rpc_malformed`; `Answer.ok` is false for either, so every operation judges them in one place.
Every request and answer can be recorded, secrets masked, for `partnercrmd template try`.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import html
import itertools
import json
import time
import xmlrpc.client
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import quote, quote_plus, urlencode
from xml.parsers.expat import ExpatError

from multidict import CIMultiDict, CIMultiDictProxy

from partnercrmd.sdk import MASK, AddinError
from partnercrmd.sdk.http import BookHttp, HttpAnswer

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest answer read (BookHttp refuses more, `invalid_data`): it bounds the JSON and the XML-RPC parse."""
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


RpcKind = Literal["jsonrpc", "xmlrpc"]
RPC_NAMES: dict[str, str] = {"jsonrpc": "JSON-RPC", "xmlrpc": "XML-RPC"}


@dataclass(frozen=True)
class RpcCall:
    """A JSON-RPC 2.0 or XML-RPC call a request makes: the remote method and its parameters, already filled in.

    JSON-RPC params are a list (by position) or an object (by name), or None to leave them out; XML-RPC params
    are a list (by position, the only way XML-RPC has)."""

    kind: RpcKind
    method: str
    params: Any


@dataclass(frozen=True)
class RpcFault:
    """An RPC call's error: JSON-RPC's error object (code, message, data), or an XML-RPC fault (faultCode as
    `code`, faultString as `message`). `as_context` is what a template's `rpc_auth_error` and `error_message`
    expressions read."""

    kind: RpcKind
    code: Any
    message: str
    data: Any = None

    def as_context(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data}


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
    rpc: RpcCall | None = None
    """A JSON-RPC or XML-RPC call: the envelope is the body (json_body and form are not used)."""


@dataclass(frozen=True)
class Answer:
    status: int
    payload: Any
    headers: Mapping[str, str]
    raw: HttpAnswer
    """The answer as read (for `BookHttp.failure`); status 0 and no body for a request not sent."""
    graphql_errors: tuple[str, ...] = ()
    """A GraphQL answer's error messages (GraphQL servers answer 200 with `errors` for a refused query)."""
    rpc_fault: RpcFault | None = None
    """An RPC call's error (JSON-RPC servers, Odoo's among them, answer 200 with an error object)."""
    rpc_malformed: str = ""
    """What is wrong with an answer to an RPC call that is no RPC response ("" when it is one)."""

    @property
    def ok(self) -> bool:
        """Whether the request did what it asked: a 2xx status and, for GraphQL, no errors; for an RPC call, its
        result (no fault, and a well-formed response)."""
        return (
            200 <= self.status < 300 and not self.graphql_errors and self.rpc_fault is None and not self.rpc_malformed
        )


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


def spellings(secret: str) -> list[str]:
    """The ways a request or the trace may write `secret`: as is, escaped in JSON (an RPC call's params), in XML
    (an XML-RPC methodCall), percent- and form-encoded (a query); the longest first, so none is masked in part."""
    found = {
        secret,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1],
        html.escape(secret, quote=False),
        html.escape(secret),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    return sorted(found, key=len, reverse=True)


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every spelling of each secret (of at least 4 characters) replaced by the mask, longest first."""
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        for spelling in spellings(secret):
            text = text.replace(spelling, MASK)
    return text


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
        self._rpc_ids = itertools.count(1)
        """JSON-RPC request ids: each call its own, so an answer to another call is told apart."""

    @property
    def name(self) -> str:
        """The CRM as messages name it (the template's `name`; it changes when the template is edited)."""
        return self.http.service

    @name.setter
    def name(self, name: str) -> None:
        self.http.service = name

    def mask(self, text: str) -> str:
        text = self._mask_settings(text)
        return mask_secrets(text, self.auth.secrets() if self.auth else [])

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

    def _record(self, request: Request, headers: Mapping[str, str], body: Envelope) -> TraceEntry | None:
        if self.trace is None:
            return None
        shown_headers = {k: (MASK if k.lower() in SECRET_HEADERS else self.mask(v)) for k, v in headers.items()}
        url = request.url
        if request.query:
            url += ("&" if "?" in url else "?") + urlencode({k: _query_value(v) for k, v in request.query.items()})
        if body.json is not None:
            shown = json.dumps(body.json, ensure_ascii=False, indent=1)
        elif body.data is not None:
            shown = body.data.decode("utf-8", errors="replace")
        elif request.form is not None:
            shown = json.dumps({k: _query_value(v) for k, v in request.form.items()}, ensure_ascii=False)
        else:
            shown = ""
        entry = TraceEntry(request.method, self.mask(url), shown_headers, self.mask(shown))
        self.trace.entries.append(entry)
        return entry

    def _envelope(self, request: Request) -> Envelope:
        """The body to send: the request's JSON, or the RPC call's envelope (JSON-RPC 2.0 §4, XML-RPC's
        methodCall) with its id and media type."""
        call = request.rpc
        if call is None:
            return Envelope(request.json_body)
        if call.kind == "jsonrpc":
            call_id = next(self._rpc_ids)
            envelope: dict[str, Any] = {"jsonrpc": "2.0", "method": call.method, "id": call_id}
            if call.params is not None:
                envelope["params"] = call.params
            return Envelope(envelope, call_id=call_id)
        try:
            xml = xmlrpc.client.dumps(tuple(call.params or ()), methodname=call.method, allow_none=True)
        except (TypeError, OverflowError) as exc:  # a value XML-RPC cannot carry (an int beyond 32 bits…)
            raise AddinError(
                self.mask(f"{self.name}: a parameter of the XML-RPC call {call.method} cannot be sent ({exc})."),
                code="invalid_config",
            ) from None
        return Envelope(None, xml.encode("utf-8"), {"Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml"})

    async def _send_once(self, request: Request, headers: dict[str, str], deadline: float) -> Answer:
        body = self._envelope(request)
        headers = {**headers, **body.headers}
        entry = self._record(request, headers, body)
        if not request.send:
            if entry is not None:
                entry.note = "not sent: a dry run of an operation that writes; give --send to send it"
            return Answer(0, None, {}, HttpAnswer(request.method, request.url, 0, CIMultiDictProxy(CIMultiDict()), b""))
        params = {k: _query_value(v) for k, v in (request.query or {}).items()}
        data: bytes | dict[str, str] | None = body.data
        if data is None and request.form is not None:
            data = {k: _query_value(v) for k, v in request.form.items()}
        raw = await self.http.request(
            request.method,
            request.url,
            params=params or None,
            json_body=body.json,
            data=data,
            headers=headers,
            time_limit=request.timeout,
            deadline=deadline,
        )
        fault: RpcFault | None = None
        malformed = ""
        if request.rpc is not None and request.rpc.kind == "xmlrpc":
            shown_payload: Any = None
            if 200 <= raw.status < 300:
                payload, fault, malformed = await asyncio.to_thread(_xmlrpc_answer, raw.body)
                shown_payload = payload if fault is None else {"fault": fault.as_context()}
            else:
                payload = _parse(raw.body)
        else:
            payload = shown_payload = _parse(raw.body)
            if request.rpc is not None:
                payload, fault, malformed = _jsonrpc_answer(payload, body.call_id, ok=200 <= raw.status < 300)
        errors = _graphql_errors(payload) if request.graphql else ()
        answer = Answer(raw.status, payload, dict(raw.headers), raw, errors, fault, malformed)
        if entry is not None:
            entry.status = answer.status
            shown = raw.text()
            if isinstance(shown_payload, (dict, list)):
                shown = json.dumps(_scrub(shown_payload), ensure_ascii=False, indent=1, default=str)
            shown = self.mask(shown)
            entry.answer = shown if len(shown) <= TRACE_BODY_CHARS else shown[:TRACE_BODY_CHARS] + "\n…"
        return answer


@dataclass(frozen=True)
class Envelope:
    """What one request sends: a JSON body, or raw bytes (XML-RPC) with their headers; a JSON-RPC call's id."""

    json: Any = None
    data: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    call_id: int | None = None


def _jsonrpc_answer(payload: Any, call_id: int | None, *, ok: bool) -> tuple[Any, RpcFault | None, str]:
    """A JSON-RPC 2.0 response (§5) unwrapped: (its result, its error, what makes it no response).

    A null `error` beside the result (or a null `result` beside the error) is taken as absent: §5 says the
    member must not be there, but servers write it (Nutshell's answers carry "error": null).
    An answer with an HTTP error status that is no JSON-RPC error is left as it is (the status tells)."""
    is_response = isinstance(payload, dict) and payload.get("jsonrpc") == "2.0"
    error = payload.get("error") if isinstance(payload, dict) else None
    if is_response and isinstance(error, dict) and payload.get("result") is None:
        message = error.get("message")
        fault = RpcFault("jsonrpc", error.get("code"), message if isinstance(message, str) else "", error.get("data"))
        return payload, fault, ""
    if not ok:
        return payload, None, ""
    if not is_response:
        return payload, None, "something that is not a JSON-RPC 2.0 response"
    assert isinstance(payload, dict)
    if "result" not in payload or error is not None:
        return payload, None, "a JSON-RPC response with neither a result nor an error object"
    if payload.get("id") != call_id:
        return payload, None, f"the JSON-RPC response to another call (id {str(payload.get('id'))[:40]!r})"
    return payload["result"], None, ""


def _xmlrpc_answer(body: bytes) -> tuple[Any, RpcFault | None, str]:
    """An XML-RPC methodResponse read (in a worker thread): (its value, its fault, what makes it no response)."""
    try:
        values, _ = xmlrpc.client.loads(body, use_builtin_types=True)
    except xmlrpc.client.Fault as fault:
        return None, RpcFault("xmlrpc", fault.faultCode, str(fault.faultString)), ""
    except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError, IndexError, KeyError, RecursionError):
        return None, None, "something that is not an XML-RPC methodResponse"
    if len(values) != 1:
        return None, None, "an XML-RPC methodResponse without exactly one value"
    return _plain(values[0]), None, ""


def _plain(value: Any) -> Any:
    """An XML-RPC value as JSON has it: dateTime.iso8601 as ISO 8601 text, base64 as base64 text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


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

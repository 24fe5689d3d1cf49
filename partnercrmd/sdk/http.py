"""HTTP for add-ins that talk to a web API: `BookHttp`, one per book.

It opens its aiohttp session on first use (on the event loop, never at import or in a constructor that
may run elsewhere) and closes it with the book; gives every request a time limit; reads answers with a
size cap; and turns every network and HTTP failure into an `AddinError` with a stable key
(`cannot_connect`, `invalid_auth`, `timeout`, `invalid_data`, `not_found`, `unknown`) and one wording
for all add-ins. Messages name the server by `display_address` (no user info, path or query) and never
hold a header or a credential; what a server says about a refusal passes through the book's `secrets`
before it is shown. What differs per add-in is given to the constructor: how messages name the service
and its address setting, the headers sent with every request (credentials), what to check when
credentials are refused, and how a server's error body is summarised.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from ..backend_words import display_address, os_reason
from ..errors import AddinError
from ..redact import MASK

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TIMEOUT",
    "BookHttp",
    "HttpAnswer",
    "summarise_error_body",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds a request may take, from connecting to the last byte of the answer, unless the book says otherwise."""
DEFAULT_CONNECT_TIMEOUT = 5.0
"""Seconds to open the connection (TCP and TLS); never more than the request's own limit."""
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""Bigger answers are refused (`invalid_data`): a CRM's answer is far smaller; a wrong address may stream forever."""
MAX_SAID_CHARS = 300
"""What a server says about a refusal is cut to this many characters in a message."""
CHUNK_BYTES = 64 * 1024
MIN_SECRET_CHARS = 4
"""Shorter settings are not masked in server summaries: masking "1" or "en" would garble every message."""
STATUS_KEYS = {400: "invalid_data", 401: "invalid_auth", 403: "invalid_auth", 404: "not_found", 422: "invalid_data"}


@dataclass(frozen=True)
class HttpAnswer:
    """A server's answer, read in full (within the size cap)."""

    method: str
    url: str
    """Where the answer came from (after redirects, when the request followed them)."""
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    def text(self) -> str:
        """The body as UTF-8 text (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


def summarise_error_body(answer: HttpAnswer) -> str:
    """The default summary of a refusal: a JSON body's `detail`, `errors`, `message`, `error_description` or `error`,
    else its field errors (`{"name": ["required"]}`), on one line; "" when the body is not a JSON object."""
    try:
        payload = json.loads(answer.body) if answer.body.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ""
    if not isinstance(payload, Mapping):
        return ""
    if isinstance(payload.get("detail"), str):
        return _one_line(payload["detail"])
    if isinstance(payload.get("errors"), Mapping | str | list):
        return _one_line(_field_errors(payload["errors"]))
    for key in ("message", "error_description", "error"):
        if isinstance(payload.get(key), str):
            return _one_line(payload[key])
    return _one_line(_field_errors(payload))


def _field_errors(errors: object) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(_field_errors(e) for e in errors)
    if isinstance(errors, Mapping):
        parts = []
        for key, value in errors.items():
            words = _field_errors(value)
            parts.append(words if key in ("non_field_errors", "detail") else f"{key}: {words}")
        return "; ".join(parts)
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_SAID_CHARS]


def _size(limit: int) -> str:
    """A size cap as messages say it: "16 MB", "64 KB", "500 bytes"."""
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if limit >= unit and limit % unit == 0:
            return f"{limit // unit} {name}"
    return f"{limit} bytes"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


class BookHttp:
    """One book's HTTP: the session (made on first use, on the event loop), time limits, capped reads, one wording.

    `service` names the server in messages, as it reads inside a sentence ("the CardDAV server", "BottleCRM");
    `url_setting` is the setting that holds its address. `headers` go with every request (credentials: they
    are not kept in the session, so aiohttp drops them on a redirect to another host). `credentials_hint` is
    the sentence that ends a 401/403 message ("Check the setting 'token'."). `summarise` says what a refusal's
    body says (default `summarise_error_body`); `secrets` gives the strings that must never appear in a
    message (a book passes its secret settings and the tokens it was issued).
    """

    def __init__(
        self,
        service: str,
        *,
        url_setting: str = "url",
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        headers: Mapping[str, str] | None = None,
        session_headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        ca_setting: str | None = None,
        credentials_hint: str = "",
        summarise: Callable[[HttpAnswer], str] = summarise_error_body,
        secrets: Callable[[], Iterable[str]] | None = None,
        connection_limit: int = 100,
    ) -> None:
        self.service = service
        self.url_setting = url_setting
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        """Seconds without a byte from the server; None: only the whole request's limit applies."""
        self.max_body_bytes = max_body_bytes
        self.headers = dict(headers or {})
        self.credentials_hint = credentials_hint
        self.summarise = summarise
        self.ca_setting = ca_setting
        """The setting that takes a certificate (or CA) to trust, when the add-in has one: named when TLS fails."""
        self._session_headers = dict(session_headers or {})
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._secrets = secrets
        self._connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None
        self.reachable = True
        """False after a request found no server (unreachable, or no answer in time) until one gets an answer."""

    # --- the session ---------------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._session_headers,
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=self._connection_limit),
            )
        return self._session

    async def close(self) -> None:
        """Close the session (the book is closing); a later request opens a new one."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- requests ------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        data: bytes | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        time_limit: float | None = None,
        deadline: float | None = None,
        allow_redirects: bool = False,
    ) -> HttpAnswer:
        """Send one request and read its whole answer, whatever its status (judge it, or pass it to `failure`).

        `time_limit` (seconds; the book's `timeout` by default) is the limit messages state; `deadline`, a
        `time.monotonic()` value, cuts it shorter when several tries share one limit. Raises AddinError when no
        answer comes: `cannot_connect` (refused, unknown host, TLS, a broken connection), `timeout`, or
        `invalid_data` for an answer over the size cap.
        """
        stated = self.timeout if time_limit is None else time_limit
        limit = stated if deadline is None else min(stated, deadline - time.monotonic())
        if limit <= 0:
            raise self._timed_out(url, stated)
        sent = {**self.headers, **(headers or {})}
        client_timeout = aiohttp.ClientTimeout(
            total=limit, connect=min(limit, self.connect_timeout), sock_read=self.read_timeout
        )
        try:
            async with self._get_session().request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=sent,
                timeout=client_timeout,
                allow_redirects=allow_redirects,
            ) as response:
                self.reachable = True
                body = await self._read(response, url)
                return HttpAnswer(method, str(response.url), response.status, response.headers, body)
        except AddinError:
            raise
        except aiohttp.ClientConnectorCertificateError:
            raise self._untrusted(url) from None
        except aiohttp.ClientSSLError as exc:
            raise AddinError(
                f"The secure connection to {self.service} at {display_address(url)} failed ({_reason(exc)}); "
                f"check the setting '{self.url_setting}'.",
                code="cannot_connect",
            ) from None
        except aiohttp.ConnectionTimeoutError:
            self.reachable = False
            raise self._timed_out(url, min(stated, self.connect_timeout)) from None
        except aiohttp.SocketTimeoutError:
            self.reachable = False
            raise self._timed_out(url, self.read_timeout or stated) from None
        except TimeoutError:
            self.reachable = False
            raise self._timed_out(url, stated) from None
        except aiohttp.ClientConnectorError as exc:
            self.reachable = False
            raise AddinError(
                f"{self._subject(url)} cannot be reached ({os_reason(exc.os_error)}); "
                f"check the setting '{self.url_setting}' and that the server is running.",
                code="cannot_connect",
            ) from None
        except aiohttp.TooManyRedirects:
            raise AddinError(
                f"{self._subject(url)} redirects in a loop; check the setting '{self.url_setting}'.",
                code="cannot_connect",
            ) from None
        except ValueError as exc:  # aiohttp refuses some addresses and header mixes before sending anything
            raise AddinError(
                f"The address of {self.service} ({display_address(url)}) cannot be used ({type(exc).__name__}); "
                f"check the setting '{self.url_setting}'.",
                code="cannot_connect",
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise AddinError(
                f"The connection to {self.service} at {display_address(url)} failed ({_reason(exc)}); "
                f"check the setting '{self.url_setting}' and that the server is running.",
                code="cannot_connect",
            ) from None

    async def _read(self, response: aiohttp.ClientResponse, url: str) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self.max_body_bytes:
            raise self._too_big(url)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_big(url)
            chunks.append(chunk)
        return b"".join(chunks)

    # --- reading answers -----------------------------------------------------------------------------

    def json(self, answer: HttpAnswer, *, object_hook: Callable[[dict[str, Any]], Any] | None = None) -> Any:
        """The answer's JSON (None for an empty body); AddinError `invalid_data` when it is not JSON.

        Blocking for a big answer: call it through `asyncio.to_thread` when the answer may be large.
        An `object_hook` may raise ValueError for a malformed value: that, too, is `invalid_data`.
        """
        if not answer.body.strip():
            return None
        try:
            return json.loads(answer.body, object_hook=object_hook)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise AddinError(
                f"{self._subject(answer.url)} did not answer with JSON; check the setting '{self.url_setting}': "
                f"is it the address of {self.service}?",
                code="invalid_data",
            ) from None

    def failure(
        self, answer: HttpAnswer, doing: str, *, said: str | None = None, credentials_hint: str | None = None
    ) -> AddinError:
        """The error for an answer whose status the add-in did not expect while `doing` something ("list contacts").

        401/403 `invalid_auth` (ending with the credentials hint), 404 `not_found`, 400/422 `invalid_data`,
        429 and the rest `unknown`. `said` replaces the summary of the body, `credentials_hint` the book's.
        """
        told = self.masked(_one_line(self.summarise(answer) if said is None else said))
        detail = f": {told}" if told else ""
        status = answer.status
        service = _capitalised(self.service)
        hint = self.credentials_hint if credentials_hint is None else credentials_hint
        if status in (401, 403):
            message = f"{service} refused to {doing} ({status}{detail}).{' ' + hint if hint else ''}"
        elif status == 404:
            message = f"{service} could not {doing}: not found ({status}{detail})."
        elif status in (400, 422):
            message = f"{service} did not accept the data to {doing} ({status}{detail})."
        elif status == 429:
            message = f"{service} is limiting requests (429) and would not {doing}; try again shortly."
        else:
            message = f"{service} answered {status} when asked to {doing}{detail}."
        return AddinError(message, code=STATUS_KEYS.get(status, "unknown"))

    def masked(self, text: str) -> str:
        """`text` with each of the book's secrets replaced by a mask (longest first, so none shows in part)."""
        for secret in sorted(self._secrets() if self._secrets else (), key=len, reverse=True):
            if len(secret) >= MIN_SECRET_CHARS:
                text = text.replace(secret, MASK)
        return text

    # --- the wording ---------------------------------------------------------------------------------

    def _subject(self, url: str) -> str:
        return f"{_capitalised(self.service)} at {display_address(url)}"

    def _timed_out(self, url: str, seconds: float) -> AddinError:
        return AddinError(
            f"{self._subject(url)} did not answer within {seconds:g} s; "
            "check that the server is running and not overloaded.",
            code="timeout",
        )

    def _too_big(self, url: str) -> AddinError:
        return AddinError(
            f"{self._subject(url)} sent more than {_size(self.max_body_bytes)} in one answer; "
            f"check the setting '{self.url_setting}'.",
            code="invalid_data",
        )

    def _untrusted(self, url: str) -> AddinError:
        where = display_address(url)
        if self.ca_setting:
            advice = f"If the server uses its own certificate, give it (or its CA) in the setting '{self.ca_setting}'."
        else:
            advice = "The server needs a certificate from a CA this computer trusts."
        return AddinError(f"The certificate of {where} is not trusted. {advice}", code="cannot_connect")


def _reason(exc: BaseException) -> str:
    """A short cause for messages: the system's words when there is an OS error, else what happened."""
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return type(exc).__name__

"""HTTP for WebDAV: one aiohttp session per address book, and every transport failure as a sentence for the user.

Nothing here puts the password into a message: errors name the server by its
address without user information, and the user name at most.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from multidict import CIMultiDictProxy

from partnercrmd.sdk import AddinError

from . import dav_xml

MAX_BODY = 64 * 1024 * 1024
"""Bigger answers are refused: an address book query answer is far smaller, even with photos."""
XML = "application/xml; charset=utf-8"

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
"""Generous: a big address book's first listing can keep a server busy for long (Radicale parses every card once).
Searches and actions are cut much earlier by the daemon's own deadlines."""
TOTAL_TIMEOUT = 180.0


def display_url(url: str) -> str:
    """The address as messages show it: scheme, host, port and path; never user information or a query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def server_of(url: str) -> str:
    parts = urlsplit(display_url(url))
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class DavReply:
    """A server's answer, read in full."""

    method: str
    url: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def etag(self) -> str:
        return self.headers.get("ETag", "")

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class DavClient:
    """Sends WebDAV requests with the book's credentials; the session is made on first use (on the event loop)."""

    def __init__(self, username: str, password: str, ssl_context: ssl.SSLContext | None, user_agent: str) -> None:
        self.username = username
        credentials = f"{username}:{password}".encode()
        self._authorization = "Basic " + base64.b64encode(credentials).decode("ascii") if username or password else ""
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self.healthy = True
        """False after a request found no server (unreachable, no answer in time), until one gets an answer."""

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT
                ),
                headers={"User-Agent": self._user_agent},
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=8),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        depth: str | None = None,
        content_type: str = XML,
        headers: Mapping[str, str] | None = None,
    ) -> DavReply:
        """Send one request and read the whole answer.

        Raises AddinError for what no caller can handle: the server cannot be
        reached (`cannot_connect`), does not answer in time (`timeout`),
        refuses the credentials (401, `invalid_auth`) or sends too much.
        Every other status is returned for the caller to judge.
        """
        sent: dict[str, str] = dict(headers or {})
        if self._authorization:
            sent["Authorization"] = self._authorization  # aiohttp drops it on a redirect to another server
        if body is not None:
            sent["Content-Type"] = content_type
        if depth is not None:
            sent["Depth"] = depth
        try:
            async with self._get_session().request(method, url, data=body, headers=sent) as response:
                self.healthy = True
                data = await _read_limited(response, url)
                reply = DavReply(method, str(response.url), response.status, response.headers, data)
        except AddinError:
            raise
        except aiohttp.ClientConnectorCertificateError:
            raise AddinError(
                f"The certificate of {server_of(url)} is not trusted. If the server uses its own certificate, "
                "give it (or its CA) in the setting 'ca_file'.",
                code="cannot_connect",
            ) from None
        except aiohttp.ClientSSLError as exc:
            raise AddinError(
                f"A secure connection to {server_of(url)} failed ({_reason(exc)}); check the server address.",
                code="cannot_connect",
            ) from None
        except (aiohttp.ClientConnectionError, OSError) as exc:
            self.healthy = False
            if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
                raise _timed_out(url) from None
            raise AddinError(
                f"The CardDAV server {server_of(url)} cannot be reached ({_reason(exc)}): "
                "check the server address and that the server is running.",
                code="cannot_connect",
            ) from None
        except aiohttp.TooManyRedirects:
            raise AddinError(f"{display_url(url)} redirects in a loop; check the server address.") from None
        except aiohttp.ClientError as exc:
            raise AddinError(f"The request to {display_url(url)} failed ({_reason(exc)}).") from None
        if reply.status == 401:
            raise AddinError(
                f"The server {server_of(url)} refused the user name {self.username!r} or its password (HTTP 401): "
                "check both settings (iCloud, Fastmail and Nextcloud with two-factor sign-in need an app password).",
                code="invalid_auth",
            )
        return reply


async def _read_limited(response: aiohttp.ClientResponse, url: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            raise AddinError(
                f"{display_url(url)} sent more than {MAX_BODY // (1024 * 1024)} MB; is it the right address?",
                code="invalid_data",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    """A short cause for messages: the OS error text when there is one, else the exception's name."""
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return type(exc).__name__


def _timed_out(url: str) -> AddinError:
    return AddinError(
        f"The CardDAV server {server_of(url)} did not answer in time; it may be overloaded or unreachable.",
        code="timeout",
    )


def failure(reply: DavReply, doing: str) -> AddinError:
    """An unexpected status as a sentence: `doing` says what was being done ("reading the address book")."""
    where = display_url(reply.url)
    if reply.status == 403:
        return AddinError(
            f"The server does not allow {doing} for this user (HTTP 403 at {where}): check the user's rights there.",
            code="invalid_auth",
        )
    if reply.status == 404:
        return AddinError(f"Nothing found at {where} while {doing} (HTTP 404): check the address.", code="not_found")
    if reply.status >= 500:
        return AddinError(f"The server failed while {doing} (HTTP {reply.status} at {where}); try again later.")
    return AddinError(f"The server answered HTTP {reply.status} while {doing} ({where}).", code="invalid_data")


def multistatus(reply: DavReply, doing: str) -> dav_xml.Multistatus:
    """The 207 answer of a PROPFIND or REPORT, read; AddinError for any other status or unreadable XML."""
    if reply.status != 207:
        raise failure(reply, doing)
    try:
        return dav_xml.parse_multistatus(reply.body)
    except dav_xml.MalformedXml as exc:
        raise AddinError(f"The server's answer while {doing} cannot be read: {exc}.", code="invalid_data") from None

"""HTTP for WebDAV: one `BookHttp` per address book (the SDK's session, limits and wording), and DAV's statuses.

Nothing here puts the password into a message: errors name the server by its
address without user information, and the user name at most.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from partnercrmd.sdk import AddinError, display_address
from partnercrmd.sdk.http import BookHttp, HttpAnswer

from . import dav_xml

MAX_BODY = 64 * 1024 * 1024
"""Bigger answers are refused: an address book query answer is far smaller, even with photos."""
XML = "application/xml; charset=utf-8"

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
"""Generous: a big address book's first listing can keep a server busy for long (Radicale parses every card once).
Searches and actions are cut much earlier by the daemon's own deadlines."""
TOTAL_TIMEOUT = 180.0
CONNECTIONS = 8
RESENT_METHODS = frozenset({"PROPFIND", "REPORT"})
"""WebDAV's read-only methods, sent once more when a connection the server had left open turns out closed."""

DavReply = HttpAnswer
"""A server's answer, read in full (the SDK's `HttpAnswer`)."""


def display_url(url: str) -> str:
    """The address as messages show it: scheme, host, port and path; never user information or a query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def entity_tag(reply: DavReply) -> str:
    """The answer's entity tag ("" when the server sent none)."""
    return reply.headers.get("ETag", "")


class DavClient:
    """Sends WebDAV requests with the book's credentials; the session is made on first use (on the event loop)."""

    def __init__(self, username: str, password: str, ssl_context: ssl.SSLContext | None, user_agent: str) -> None:
        self.username = username
        credentials = f"{username}:{password}".encode()
        authorization = {"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")}
        self.http = BookHttp(
            "the CardDAV server",
            timeout=TOTAL_TIMEOUT,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            max_body_bytes=MAX_BODY,
            headers=authorization if username or password else None,
            session_headers={"User-Agent": user_agent},
            ssl_context=ssl_context,
            ca_setting="ca_file",
            secrets=lambda: [password],
            connection_limit=CONNECTIONS,
        )

    one_request_per_connection = False
    """Set once the server has dropped a connection it had let look reusable: every request then asks to close."""

    @property
    def healthy(self) -> bool:
        """False after a request found no server (unreachable, no answer in time), until one gets an answer."""
        return self.http.reachable

    async def close(self) -> None:
        await self.http.close()

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
        """Send one request and read the whole answer, following redirects.

        Raises AddinError for what no caller can handle: the server cannot be
        reached (`cannot_connect`), does not answer in time (`timeout`),
        refuses the credentials (401, `invalid_auth`) or sends too much.
        Every other status is returned for the caller to judge.
        """
        sent: dict[str, str] = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = content_type
        if depth is not None:
            sent["Depth"] = depth
        if self.one_request_per_connection:
            sent["Connection"] = "close"
        try:
            reply = await self.http.request(method, url, data=body, headers=sent, allow_redirects=True)
        except AddinError as exc:
            # A connection that broke after the server was reached: a server that closes every connection after
            # one answer without saying so (SOGo) breaks the next request on it. aiohttp sends GET, PUT, DELETE
            # and OPTIONS again on a new connection by itself, but not WebDAV's PROPFIND and REPORT, which are
            # just as safe to repeat: send those once more on a connection of their own and, when that one is
            # answered (the server is there: it had dropped the connection), from then on ask for a new connection
            # for every request to this server. A server that went away fails again and is reported as gone.
            if exc.code != "cannot_connect" or not self.http.reachable or method not in RESENT_METHODS:
                raise
            sent["Connection"] = "close"
            reply = await self.http.request(method, url, data=body, headers=sent, allow_redirects=True)
            self.one_request_per_connection = True
        if reply.status == 401:
            raise AddinError(
                f"The server {display_address(url)} refused the user name {self.username!r} or its password "
                "(HTTP 401): check both settings (iCloud, Fastmail and Nextcloud with two-factor sign-in need an "
                "app password).",
                code="invalid_auth",
            )
        return reply


def failure(reply: DavReply, doing: str) -> AddinError:
    """An unexpected status as a sentence: `doing` says what was being done ("reading the address book")."""
    where = display_url(reply.url)
    if reply.status == 403:
        return AddinError(
            f"The server does not allow {doing} for this user (HTTP 403 at {where}): check the user's rights there.",
            code="invalid_auth",
        )
    if reply.status == 404:
        return nothing_at(reply.url, doing)
    if reply.status >= 500:
        return AddinError(f"The server failed while {doing} (HTTP {reply.status} at {where}); try again later.")
    return AddinError(f"The server answered HTTP {reply.status} while {doing} ({where}).", code="invalid_data")


def nothing_at(url: str, doing: str) -> AddinError:
    """`not_found`: the server has nothing at `url`."""
    return AddinError(
        f"Nothing found at {display_url(url)} while {doing} (HTTP 404): check the address.", code="not_found"
    )


def described(reply: DavReply, doing: str) -> dav_xml.DavResponse | None:
    """The resource a Depth-0 PROPFIND asked about; None when the server says there is nothing there.

    Servers say so in two ways: HTTP 404 (Radicale, DAViCal), or a 207 whose one response carries the 404
    (xandikos). Every Depth-0 look at one address goes through here so that both mean "not found".
    AddinError for any other failure, as `multistatus`.
    """
    if reply.status == 404:
        return None
    responses = multistatus(reply, doing).responses
    if not responses or responses[0].status == 404:
        return None
    return responses[0]


def multistatus(reply: DavReply, doing: str) -> dav_xml.Multistatus:
    """The 207 answer of a PROPFIND or REPORT, read; AddinError for any other status or unreadable XML."""
    if reply.status != 207:
        raise failure(reply, doing)
    try:
        return dav_xml.parse_multistatus(reply.body)
    except dav_xml.MalformedXml as exc:
        raise AddinError(f"The server's answer while {doing} cannot be read: {exc}.", code="invalid_data") from None

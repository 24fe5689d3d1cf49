"""Finding the address book: from its own address, from a path or name, or from the server (RFC 6352, RFC 6764).

The user may give the server (`https://cloud.example.com/remote.php/dav`,
`https://contacts.icloud.com`), the address book itself, or the server plus
the address book's path or display name. Discovery follows the standard
chain: current-user-principal → addressbook-home-set → the address books
listed there, trying `/.well-known/carddav` when the server's root knows none.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from partnercrmd.sdk import AddinError

from . import dav_xml
from .client import DavClient, described, display_url, multistatus

WELL_KNOWN = "/.well-known/carddav"
_PRINCIPAL_PROPS = (
    dav_xml.RESOURCETYPE,
    dav_xml.DISPLAYNAME,
    dav_xml.CURRENT_USER_PRINCIPAL,
    dav_xml.ADDRESSBOOK_HOME_SET,
)


@dataclass(frozen=True)
class Collection:
    url: str
    name: str


@dataclass(frozen=True)
class _Found:
    """What a PROPFIND (Depth 0) of one address says about it."""

    url: str
    is_addressbook: bool
    name: str
    principals: list[str]
    homes: list[str]


async def _describe(client: DavClient, url: str) -> _Found | None:
    """PROPFIND `url`; None when there is no DAV resource there (404, 405, not a multistatus)."""
    reply = await client.request("PROPFIND", url, body=dav_xml.propfind(_PRINCIPAL_PROPS), depth="0")
    if reply.status in (405, 501) or (reply.ok and reply.status != 207):
        return None
    response = described(reply, "looking for the address book")
    if response is None:
        return None
    where = reply.url  # after redirects
    return _Found(
        url=where,
        is_addressbook=dav_xml.ADDRESSBOOK in response.child_tags(dav_xml.RESOURCETYPE),
        name=response.text(dav_xml.DISPLAYNAME),
        principals=[urljoin(where, href) for href in response.hrefs(dav_xml.CURRENT_USER_PRINCIPAL)],
        homes=[urljoin(where, href) for href in response.hrefs(dav_xml.ADDRESSBOOK_HOME_SET)],
    )


async def _homes(client: DavClient, base_url: str) -> list[str]:
    """The address book home collections of the signed-in user, starting from the server's address."""
    candidates = [base_url]
    if urlsplit(base_url).path in ("", "/"):
        candidates.append(urljoin(base_url, WELL_KNOWN))
    for url in candidates:
        found = await _describe(client, url)
        if found is None:
            continue
        if found.homes:
            return found.homes
        for principal in found.principals:
            described = await _describe(client, principal)
            if described is not None and described.homes:
                return described.homes
    return []


async def _list_addressbooks(client: DavClient, home: str) -> list[Collection]:
    body = dav_xml.propfind((dav_xml.RESOURCETYPE, dav_xml.DISPLAYNAME))
    reply = await client.request("PROPFIND", home, body=body, depth="1")
    books = []
    for response in multistatus(reply, "listing the address books").responses:
        if dav_xml.ADDRESSBOOK in response.child_tags(dav_xml.RESOURCETYPE):
            url = urljoin(reply.url, response.href)
            books.append(Collection(url, response.text(dav_xml.DISPLAYNAME) or _last_segment(url)))
    return books


def _last_segment(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rpartition("/")[2]


def _is_path(wanted: str) -> bool:
    return "/" in wanted


def _pick(books: list[Collection], wanted: str) -> Collection | None:
    if not wanted:
        return books[0] if books else None
    folded = wanted.strip().strip("/").casefold()
    for book in books:
        if book.name.casefold() == folded or _last_segment(book.url).casefold() == folded:
            return book
    return None


async def _at(client: DavClient, url: str, setting: str) -> Collection:
    """The address book at an explicit address; `not_found` when there is none."""
    found = await _describe(client, url)
    if found is None or not found.is_addressbook:
        raise AddinError(
            f"{display_url(url)} is not an address book; check the setting '{setting}' "
            "(or leave 'addressbook' empty to use the first address book found).",
            code="not_found",
        )
    return Collection(found.url, found.name or _last_segment(found.url))


async def find_addressbook(client: DavClient, base_url: str, wanted: str) -> Collection:
    """The address book the settings name: `url` itself, `addressbook` as a path or name, or the first found."""
    if _is_path(wanted):
        return await _at(client, urljoin(base_url, wanted), "addressbook")
    first = await _describe(client, base_url)
    if first is not None and first.is_addressbook:
        return Collection(first.url, first.name or _last_segment(first.url))
    books = [book for home in await _homes(client, base_url) for book in await _list_addressbooks(client, home)]
    picked = _pick(books, wanted)
    if picked is not None:
        return picked
    if wanted:
        names = ", ".join(repr(b.name) for b in books[:10]) or "none"
        raise AddinError(
            f"No address book named {wanted!r} on {display_url(base_url)} (found: {names}); "
            "check the setting 'addressbook'.",
            code="not_found",
        )
    raise AddinError(
        f"No address book found for this user at {display_url(base_url)}: give the address book's own address "
        "in 'url', or its path in 'addressbook'.",
        code="not_found",
    )

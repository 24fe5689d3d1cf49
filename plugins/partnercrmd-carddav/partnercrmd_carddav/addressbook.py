"""One CardDAV address book collection: list, query, read and write its vCards (RFC 6352)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import quote, unquote, urljoin, urlsplit

from partnercrmd.sdk import AddinError

from . import dav_xml
from .cards import StoredCard
from .client import DavClient, DavReply, display_url, entity_tag, failure, multistatus

VCARD = "text/vcard; charset=utf-8"
NAME_PROPERTIES = ("FN", "N", "ORG", "EMAIL", "NICKNAME")


class PreconditionFailed(Exception):
    """A conditional PUT found the resource changed (If-Match) or already there (If-None-Match): HTTP 412."""


def resource_name(href: str) -> str:
    """The last segment of an href, decoded: `/alice/contacts/dana%201.vcf` → `dana 1.vcf` ("" for `.` or `..`)."""
    name = unquote(urlsplit(href).path.rstrip("/").rpartition("/")[2])
    return "" if name in (".", "..") else name


def _segment(name: str) -> str:
    """A card's name as one path segment of the collection; never the collection itself or its parent."""
    if name in ("", ".", ".."):
        raise AddinError(f"{name!r} is not the name of a contact in this address book.", code="not_found")
    return quote(name, safe="@:+,=~!$&'()*")


CHANGE_TOKENS = (dav_xml.GETCTAG, dav_xml.SYNC_TOKEN)
"""Collection properties that change with every card, in order of preference."""


class AddressBook:
    """The address book at `url` (a collection URL ending in "/"), reached through `client`."""

    def __init__(self, client: DavClient, url: str, name: str = "") -> None:
        self.client = client
        self.url = url if url.endswith("/") else url + "/"
        self.name = name or resource_name(self.url) or display_url(self.url)
        self._path = urlsplit(self.url).path
        self._token_properties: tuple[str, ...] = CHANGE_TOKENS

    def href(self, name: str) -> str:
        """The path of a card in this collection, as multiget wants it."""
        return self._path + _segment(name)

    def card_url(self, name: str) -> str:
        return self.url + _segment(name)

    def _own(self, href: str) -> bool:
        """Whether an href is this collection itself rather than one of its members."""
        return unquote(urlsplit(urljoin(self.url, href)).path).rstrip("/") == unquote(self._path).rstrip("/")

    async def collection_token(self) -> str:
        """What changes whenever a card changes: getctag, else sync-token ("" when the server has neither).

        The first check asks for both; later ones ask only for the one the server gave. Some servers compute
        each over every card (Radicale: over a second each for 10,000 cards), so asking for one halves the cost.
        """
        token = await self._ask_token(self._token_properties)
        if not token and self._token_properties != CHANGE_TOKENS:
            self._token_properties = CHANGE_TOKENS  # the server no longer gives that one: ask for both again
            token = await self._ask_token(CHANGE_TOKENS)
        return token

    async def _ask_token(self, properties: tuple[str, ...]) -> str:
        body = dav_xml.propfind(properties)
        reply = await self.client.request("PROPFIND", self.url, body=body, depth="0")
        status = multistatus(reply, "checking the address book for changes")
        for response in status.responses:
            if self._own(response.href):
                for name in properties:
                    value = response.text(name)
                    if value:
                        self._token_properties = (name,)
                        return value
        return ""

    async def list_etags(self) -> dict[str, str]:
        """Every card's resource name and ETag."""
        body = dav_xml.propfind((dav_xml.GETETAG, dav_xml.RESOURCETYPE))
        reply = await self.client.request("PROPFIND", self.url, body=body, depth="1")
        listing: dict[str, str] = {}
        for response in multistatus(reply, "listing the address book").responses:
            if self._own(response.href) or dav_xml.COLLECTION in response.child_tags(dav_xml.RESOURCETYPE):
                continue
            if response.status is not None and response.status >= 400:
                continue
            name = resource_name(response.href)
            if name:
                listing[name] = response.text(dav_xml.GETETAG)
        return listing

    def _cards(self, status: dav_xml.Multistatus) -> list[StoredCard]:
        cards = []
        for response in status.responses:
            data = response.text(dav_xml.ADDRESS_DATA)
            name = resource_name(response.href)
            if response.missing or not data or not name or self._own(response.href):
                continue
            cards.append(StoredCard(name, response.text(dav_xml.GETETAG), data))
        return cards

    async def multiget(self, names: Sequence[str]) -> dict[str, StoredCard]:
        """The cards with these names that exist (missing ones are left out)."""
        if not names:
            return {}
        body = dav_xml.addressbook_multiget(self.href(name) for name in names)
        reply = await self.client.request("REPORT", self.url, body=body, depth="1")
        return {card.name: card for card in self._cards(multistatus(reply, "reading contacts"))}

    async def read(self, names: Sequence[str]) -> dict[str, StoredCard]:
        """Like `multiget`, but one card is read with a plain GET, which servers answer with less work."""
        if len(names) == 1:
            card = await self.get(names[0])
            return {card.name: card} if card is not None else {}
        return await self.multiget(names)

    async def query(
        self, properties: Iterable[str], texts: Sequence[str], limit: int | None = None
    ) -> list[StoredCard]:
        """Cards where one of `properties` contains one of `texts`, compared without regard to case."""
        body = dav_xml.addressbook_query(tuple(properties), texts, limit)
        reply = await self.client.request("REPORT", self.url, body=body, depth="1")
        if reply.status == 507 and reply.body:  # RFC 6352 8.6.1: truncated at our limit, still a multistatus
            reply = DavReply(reply.method, reply.url, 207, reply.headers, reply.body)
        return self._cards(multistatus(reply, "searching the address book"))

    async def get(self, name: str) -> StoredCard | None:
        """One card, or None when it does not exist (any more)."""
        reply = await self.client.request("GET", self.card_url(name))
        if reply.status in (404, 410):
            return None
        if not reply.ok:
            raise failure(reply, "reading a contact")
        return StoredCard(name, entity_tag(reply), reply.text())

    async def put(self, name: str, text: str, *, etag: str | None) -> str:
        """Store a card: new (`etag` None: If-None-Match *) or over the version read (If-Match); its new ETag."""
        headers = {"If-None-Match": "*"} if etag is None else ({"If-Match": etag} if etag else {})
        reply = await self.client.request(
            "PUT", self.card_url(name), body=text.encode("utf-8"), content_type=VCARD, headers=headers
        )
        if reply.status == 412:
            raise PreconditionFailed(name)
        if not reply.ok:
            raise failure(reply, "saving a contact" if etag is None else "changing a contact")
        return entity_tag(reply)

    async def privileges(self) -> set[str] | None:
        """The current user's privileges on the collection, or None when the server does not tell."""
        body = dav_xml.propfind((dav_xml.CURRENT_USER_PRIVILEGE_SET,))
        reply = await self.client.request("PROPFIND", self.url, body=body, depth="0")
        for response in multistatus(reply, "reading the address book's permissions").responses:
            if self._own(response.href) and dav_xml.CURRENT_USER_PRIVILEGE_SET in response.props:
                return response.privileges()
        return None

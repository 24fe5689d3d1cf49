"""WebDAV, CardDAV and CalDAV XML: the request bodies this add-in sends and the multistatus answers it reads.

Answers come from a server the user configured, so they are untrusted: parsed
with defusedxml (no entity expansion, no external entities) and read
defensively (a missing or odd element means "not there", never a crash).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeTree

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"


def clark(namespace: str, name: str) -> str:
    """`{DAV:}href`: how ElementTree names an element of a namespace."""
    return f"{{{namespace}}}{name}"


HREF = clark(DAV, "href")
STATUS = clark(DAV, "status")
RESOURCETYPE = clark(DAV, "resourcetype")
DISPLAYNAME = clark(DAV, "displayname")
GETETAG = clark(DAV, "getetag")
SYNC_TOKEN = clark(DAV, "sync-token")
CURRENT_USER_PRINCIPAL = clark(DAV, "current-user-principal")
CURRENT_USER_PRIVILEGE_SET = clark(DAV, "current-user-privilege-set")
ADDRESSBOOK_HOME_SET = clark(CARDDAV, "addressbook-home-set")
ADDRESS_DATA = clark(CARDDAV, "address-data")
CALENDAR_DATA = clark(CALDAV, "calendar-data")
SUPPORTED_COMPONENTS = clark(CALDAV, "supported-calendar-component-set")
GETCTAG = clark(CALSERVER, "getctag")
ADDRESSBOOK = clark(CARDDAV, "addressbook")
CALENDAR = clark(CALDAV, "calendar")
COLLECTION = clark(DAV, "collection")

WRITE_PRIVILEGES = frozenset(clark(DAV, name) for name in ("all", "write", "write-content", "bind"))
"""Any of these lets the user create and change resources in a collection."""


class MalformedXml(ValueError):
    """The server's answer is not the XML it should be."""


# --- request bodies -----------------------------------------------------------------------------------


def _document(root: Element) -> bytes:
    body: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _props(parent: Element, props: Iterable[str]) -> None:
    prop = SubElement(parent, clark(DAV, "prop"))
    for name in props:
        SubElement(prop, name)


def propfind(props: Iterable[str]) -> bytes:
    """`<propfind><prop>…</prop></propfind>` asking for the given properties (Clark names)."""
    root = Element(clark(DAV, "propfind"))
    _props(root, props)
    return _document(root)


def _text_match(parent: Element, namespace: str, text: str, match_type: str | None, collation: str) -> None:
    match = SubElement(parent, clark(namespace, "text-match"), {"collation": collation})
    if match_type:
        match.set("match-type", match_type)
    match.text = text


def addressbook_query(properties: Sequence[str], texts: Sequence[str], limit: int | None = None) -> bytes:
    """Cards where any of `properties` contains any of `texts` (case-insensitive), with their data and ETag."""
    root = Element(clark(CARDDAV, "addressbook-query"))
    _props(root, (GETETAG, ADDRESS_DATA))
    filters = SubElement(root, clark(CARDDAV, "filter"), {"test": "anyof"})
    for name in properties:
        prop_filter = SubElement(filters, clark(CARDDAV, "prop-filter"), {"name": name, "test": "anyof"})
        for text in texts:
            _text_match(prop_filter, CARDDAV, text, "contains", "i;unicode-casemap")
    if limit is not None:
        SubElement(SubElement(root, clark(CARDDAV, "limit")), clark(CARDDAV, "nresults")).text = str(limit)
    return _document(root)


def addressbook_multiget(hrefs: Iterable[str]) -> bytes:
    """The data and ETag of the cards at `hrefs` (paths as the server gave them)."""
    root = Element(clark(CARDDAV, "addressbook-multiget"))
    _props(root, (GETETAG, ADDRESS_DATA))
    for href in hrefs:
        SubElement(root, HREF).text = href
    return _document(root)


def journal_query(property_name: str, value: str) -> bytes:
    """The VJOURNALs of a calendar whose `property_name` is exactly `value`."""
    root = Element(clark(CALDAV, "calendar-query"))
    _props(root, (GETETAG, CALENDAR_DATA))
    calendar = SubElement(
        SubElement(root, clark(CALDAV, "filter")), clark(CALDAV, "comp-filter"), {"name": "VCALENDAR"}
    )
    journal = SubElement(calendar, clark(CALDAV, "comp-filter"), {"name": "VJOURNAL"})
    prop_filter = SubElement(journal, clark(CALDAV, "prop-filter"), {"name": property_name})
    _text_match(prop_filter, CALDAV, value, None, "i;octet")
    return _document(root)


# --- multistatus answers ------------------------------------------------------------------------------


@dataclass
class DavResponse:
    """One `<response>` of a multistatus: its href, its own status (if any) and the properties found (200)."""

    href: str
    status: int | None = None
    props: dict[str, Element] = field(default_factory=dict)

    def text(self, name: str) -> str:
        """The text of a found property ("" when it is missing or empty)."""
        element = self.props.get(name)
        return "".join(element.itertext()).strip() if element is not None else ""

    def child_tags(self, name: str) -> set[str]:
        """The Clark names of a found property's children (e.g. the kinds in `resourcetype`)."""
        element = self.props.get(name)
        return {child.tag for child in element} if element is not None else set()

    def hrefs(self, name: str) -> list[str]:
        """The `<href>`s inside a found property (e.g. `current-user-principal`)."""
        element = self.props.get(name)
        if element is None:
            return []
        return [(href.text or "").strip() for href in element.iter(HREF) if (href.text or "").strip()]

    def privileges(self) -> set[str]:
        """The privileges of `current-user-privilege-set` (Clark names)."""
        element = self.props.get(CURRENT_USER_PRIVILEGE_SET)
        if element is None:
            return set()
        return {child.tag for privilege in element.iter(clark(DAV, "privilege")) for child in privilege}

    @property
    def missing(self) -> bool:
        """The response says its resource does not exist (404, e.g. in a multiget)."""
        return self.status == 404


@dataclass
class Multistatus:
    responses: list[DavResponse]
    sync_token: str = ""


def status_code(line: str) -> int | None:
    """`HTTP/1.1 404 Not Found` → 404; None when it cannot be read."""
    parts = line.split()
    if len(parts) >= 2 and parts[1].isdigit():
        return int(parts[1])
    return None


def parse_multistatus(body: bytes) -> Multistatus:
    """Read a 207 answer; MalformedXml when it is not a DAV multistatus."""
    try:
        root = SafeTree.fromstring(body)
    except (SafeTree.ParseError, ValueError) as exc:  # defusedxml raises ValueError subclasses for entities
        raise MalformedXml(f"the server's answer is not valid XML ({exc})") from None
    if root.tag != clark(DAV, "multistatus"):
        raise MalformedXml(f"the server answered {root.tag!r} instead of a DAV multistatus")
    responses = [_response(element) for element in root.findall(clark(DAV, "response"))]
    token = root.find(SYNC_TOKEN)
    return Multistatus([r for r in responses if r.href], (token.text or "").strip() if token is not None else "")


def _response(element: Element) -> DavResponse:
    href = element.find(HREF)
    response = DavResponse((href.text or "").strip() if href is not None else "")
    status = element.find(STATUS)
    if status is not None:
        response.status = status_code(status.text or "")
    for propstat in element.findall(clark(DAV, "propstat")):
        code = status_code(propstat.findtext(STATUS) or "")
        prop = propstat.find(clark(DAV, "prop"))
        if prop is None or code is None or not 200 <= code < 300:
            continue
        for child in prop:
            response.props[child.tag] = child
    return response

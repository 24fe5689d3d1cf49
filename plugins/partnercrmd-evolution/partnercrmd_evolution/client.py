"""Talking to Evolution Data Server (EDS), GNOME's address book service, over the desktop session's D-Bus.

EDS keeps the address books of GNOME Contacts and Evolution, including the Google, Exchange, CardDAV and LDAP
accounts set up in GNOME Online Accounts. Its services, as EDS 3.46 (Debian 12) names them:

- `org.gnome.evolution.dataserver.Sources5`: the registry. An ObjectManager at
  `/org/gnome/evolution/dataserver/SourceManager`; each source is an object with the interface
  `org.gnome.evolution.dataserver.Source` (properties `UID` and `Data`, a key file: `[Data Source]`
  `DisplayName=`, `Enabled=`; address books have an `[Address Book]` group).
- `org.gnome.evolution.dataserver.AddressBook10`: the factory (`AddressBookFactory.OpenAddressBook(uid)` → the
  object path and bus name of that book's backend). A book (`org.gnome.evolution.dataserver.AddressBook`) has
  `Open`, `GetContactList(query)` → vCards (EBookQuery S-expressions), `GetContact(uid)`,
  `CreateContacts(vcards, opflags)` → UIDs, and the property `Revision`, which changes with every change to
  the book.

Every call is bounded (`CALL_TIMEOUT`) and asynchronous: nothing here blocks the event loop. Failures are
`AddinError`s: `cannot_connect` when there is no session bus or no EDS, `timeout`, `not_found`, `unknown`.
"""

from __future__ import annotations

import asyncio
import configparser
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError

from partnercrmd.sdk import AddinError

SOURCES_BUS = "org.gnome.evolution.dataserver.Sources5"
SOURCES_PATH = "/org/gnome/evolution/dataserver/SourceManager"
SOURCE_INTERFACE = "org.gnome.evolution.dataserver.Source"
BOOKS_BUS = "org.gnome.evolution.dataserver.AddressBook10"
FACTORY_PATH = "/org/gnome/evolution/dataserver/AddressBookFactory"
FACTORY_INTERFACE = "org.gnome.evolution.dataserver.AddressBookFactory"
BOOK_INTERFACE = "org.gnome.evolution.dataserver.AddressBook"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
PROPERTIES = "org.freedesktop.DBus.Properties"
CALL_TIMEOUT = 10.0
"""The longest one D-Bus call may take; the first call of a session also starts EDS (D-Bus activation)."""
NOT_RUNNING = {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"}
GONE = {
    "org.freedesktop.DBus.Error.UnknownObject",
    # GLib's D-Bus server answers a call to an object it no longer exports with UnknownMethod ("Object does not
    # exist at path") or UnknownInterface.
    "org.freedesktop.DBus.Error.UnknownMethod",
    "org.freedesktop.DBus.Error.UnknownInterface",
    *NOT_RUNNING,
}
"""Errors of a call to a book whose backend has gone (EDS restarted, the book closed): opened again and retried."""
EVERY_CONTACT = '(contains "x-evolution-any-field" "")'
"""The EBookQuery that matches every contact."""


class BackendGone(AddinError):
    """A book's backend no longer answers at its address (EDS restarted or closed it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="cannot_connect")


@dataclass(frozen=True)
class Source:
    """An address book EDS knows."""

    uid: str
    name: str
    enabled: bool


@lru_cache(maxsize=512)
def parse_source(uid: str, data: str) -> Source | None:
    """The address book a source's key file describes; None when the source is not an address book. Every search
    lists the sources again (a book may be switched off or added at any time); a key file that did not change is
    not parsed again."""
    keys = configparser.ConfigParser(interpolation=None, strict=False)
    keys.optionxform = str  # type: ignore[assignment, method-assign]  # key files are case-sensitive
    try:
        keys.read_string(data)
    except configparser.Error:
        return None
    if not keys.has_section("Address Book") or not keys.has_section("Data Source"):
        return None
    section = keys["Data Source"]
    return Source(uid, section.get("DisplayName", uid), section.get("Enabled", "true").lower() == "true")


class Eds:
    """One connection to the session bus, and the books opened through it (by source UID)."""

    def __init__(self) -> None:
        self._bus: MessageBus | None = None
        self._books: dict[str, tuple[str, str]] = {}
        """source UID → (object path, bus name) of its opened backend."""
        self._lock = asyncio.Lock()

    async def _connected(self) -> MessageBus:
        if self._bus is not None and self._bus.connected:
            return self._bus
        self._books.clear()  # a new connection: EDS may have restarted, its books are opened again
        try:
            self._bus = await asyncio.wait_for(MessageBus().connect(), CALL_TIMEOUT)
        except (OSError, ValueError, DBusError, TimeoutError) as exc:
            raise AddinError(
                f"There is no desktop session bus to reach Evolution Data Server ({exc}); it runs only in a "
                "desktop session (GNOME, or any desktop with evolution-data-server installed).",
                code="cannot_connect",
            ) from None
        return self._bus

    async def call(
        self, destination: str, path: str, interface: str, member: str, signature: str = "", *body: Any
    ) -> list[Any]:
        """One method call; its reply's values, or AddinError saying what went wrong."""
        bus = await self._connected()
        message = Message(
            destination=destination, path=path, interface=interface, member=member, signature=signature, body=list(body)
        )
        try:
            reply = await asyncio.wait_for(bus.call(message), CALL_TIMEOUT)
        except TimeoutError:
            raise AddinError(
                f"Evolution Data Server did not answer {member} within {CALL_TIMEOUT:.0f} s.", code="timeout"
            ) from None
        except (OSError, EOFError) as exc:
            self._bus = None
            raise AddinError(f"The session bus connection was lost ({exc}).", code="cannot_connect") from None
        if reply is None or reply.message_type != MessageType.ERROR:
            return list(reply.body) if reply is not None else []
        text = str(reply.body[0]) if reply.body else reply.error_name or "error"
        if reply.error_name in GONE and path not in (FACTORY_PATH, SOURCES_PATH):  # a book's backend object
            raise BackendGone(text)
        if reply.error_name in NOT_RUNNING:
            raise AddinError(
                "Evolution Data Server is not installed or cannot start on this desktop "
                f"(the service {destination} is unknown).",
                code="cannot_connect",
            )
        if "NotFound" in (reply.error_name or "") or "ContactNotFound" in text:
            raise AddinError(text, code="not_found")
        raise AddinError(f"Evolution Data Server refused {member}: {text}", code="unknown")

    async def sources(self) -> list[Source]:
        """Every address book EDS knows, in the registry's order."""
        [objects] = await self.call(
            SOURCES_BUS, SOURCES_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"
        )
        found = []
        for interfaces in objects.values():
            properties = interfaces.get(SOURCE_INTERFACE)
            if properties and "UID" in properties and "Data" in properties:
                source = parse_source(str(properties["UID"].value), str(properties["Data"].value))
                if source is not None:
                    found.append(source)
        return sorted(found, key=lambda s: (s.uid != "system-address-book", s.name.casefold(), s.uid))

    async def _book(self, uid: str) -> tuple[str, str]:
        async with self._lock:
            opened = self._books.get(uid)
            if opened is None:
                path, bus_name = await self.call(
                    BOOKS_BUS, FACTORY_PATH, FACTORY_INTERFACE, "OpenAddressBook", "s", uid
                )
                await self.call(bus_name, path, BOOK_INTERFACE, "Open")
                opened = self._books[uid] = (str(path), str(bus_name))
            return opened

    async def _book_call(self, uid: str, member: str, signature: str = "", *body: Any) -> list[Any]:
        path, bus_name = await self._book(uid)
        try:
            return await self.call(bus_name, path, BOOK_INTERFACE, member, signature, *body)
        except AddinError as exc:
            if exc.code == "cannot_connect":
                self._books.pop(uid, None)  # its backend went away: opened again next time
            raise

    async def revision(self, uid: str) -> str:
        """The book's revision: changes whenever a contact of it is added, changed or removed."""
        path, bus_name = await self._book(uid)
        [value] = await self.call(
            bus_name, path, "org.freedesktop.DBus.Properties", "Get", "ss", BOOK_INTERFACE, "Revision"
        )
        return str(value.value)

    async def vcards(self, uid: str, query: str = EVERY_CONTACT) -> Sequence[str]:
        [cards] = await self._book_call(uid, "GetContactList", "s", query)
        return [str(card) for card in cards]

    async def vcard(self, uid: str, contact_uid: str) -> str:
        [card] = await self._book_call(uid, "GetContact", "s", contact_uid)
        return str(card)

    async def create(self, uid: str, vcard: str) -> str:
        """Add a contact to the book; its new UID."""
        [uids] = await self._book_call(uid, "CreateContacts", "asu", [vcard], 0)
        return str(uids[0])

    async def close(self) -> None:
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None
        self._books.clear()

"""The connector: the user's Evolution Data Server address books, searched as EDS holds them now.

Each book's contacts are read from EDS once and held, with the book's `Revision`; every search first asks each book
for its revision (one short D-Bus call) and reads again only a book that changed, so a contact added, edited or
removed in GNOME Contacts or Evolution is found, changed or gone at the next search. vCards are parsed in a worker
thread; the D-Bus calls are asynchronous and bounded (client.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from partnercrmd.sdk import (
    AddinError,
    BookContext,
    CheckResult,
    Connector,
    Contact,
    HeldBook,
    HeldContact,
    SearchQuery,
    search_held,
)

from .checks import run_checks
from .client import Eds, Source
from .contacts import SEPARATOR, book_entries, chosen_sources, read_contact
from .settings import EvolutionSettings, parse_settings
from .vcards import new_vcard


class EvolutionBooks(Connector):
    """The chosen address books of this user's Evolution Data Server."""

    def __init__(self, settings: EvolutionSettings, region: str | None) -> None:
        self.settings = settings
        self.region = region
        self.eds = Eds()
        self._held: dict[str, tuple[str, list[HeldContact]]] = {}
        """source UID → (the revision it was read at, its contacts)."""
        self._all = HeldBook()
        """The contacts of every book in `_held`, searched through its lookups; made again when a book was read."""
        self._reading = asyncio.Lock()

    async def sources(self) -> list[Source]:
        return chosen_sources(await self.eds.sources(), self.settings.address_books)

    async def entries(self) -> HeldBook:
        """Every contact of the chosen books, each book read again only when its revision changed."""
        sources = await self.sources()
        async with self._reading:  # one search reads a changed book; the others wait for its result
            held: dict[str, tuple[str, list[HeldContact]]] = {}
            for source in sources:
                revision = await self.eds.revision(source.uid)
                kept = self._held.get(source.uid)
                if kept is not None and kept[0] == revision:
                    held[source.uid] = kept
                else:
                    vcards = await self.eds.vcards(source.uid)
                    held[source.uid] = (revision, await asyncio.to_thread(book_entries, source, vcards, self.region))
            if held.keys() != self._held.keys() or any(held[uid] is not self._held[uid] for uid in held):
                self._all = await asyncio.to_thread(
                    HeldBook, (entry for _, entries in held.values() for entry in entries)
                )
                self._held = held
            return self._all

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        """By number: every contact with a phone that is the same line; by text: every word in name, company or
        email. A number is a dictionary lookup (microseconds, on the loop); words scan every contact's folded words
        (about 0.3 ms per 10,000 contacts: in a worker thread)."""
        held = await self.entries()
        if query.number:
            return search_held(held, query, self.region)
        return await asyncio.to_thread(search_held, held, query, self.region)

    async def get(self, contact_id: str) -> Contact | None:
        source_uid, _, contact_uid = contact_id.partition(SEPARATOR)
        source = next((s for s in await self.sources() if s.uid == source_uid), None)
        if source is None or not contact_uid:
            return None
        try:
            vcard = await self.eds.vcard(source.uid, contact_uid)
        except AddinError as exc:
            if exc.code == "not_found":
                return None
            raise
        return read_contact(source, vcard)

    async def record_url(self, contact_id: str, edit: bool) -> str | None:
        """EDS has no address that opens a contact: partnercrmd's own record page shows it."""
        return None

    async def create(self, contact: Contact) -> Contact:
        """A new contact in the first chosen book (the personal one unless the setting names others)."""
        sources = await self.sources()
        if not sources:
            raise AddinError("There is no address book switched on to add the contact to.", code="cannot_connect")
        target = sources[0]
        uid = await self.eds.create(target.uid, new_vcard(contact))
        created = await self.get(f"{target.uid}{SEPARATOR}{uid}")
        if created is None:
            raise AddinError("Evolution Data Server did not keep the new contact.", code="unknown")
        return created

    async def test(self) -> Sequence[CheckResult]:
        return await run_checks(self.eds, self.settings, self.region)

    async def diagnostics(self) -> Mapping[str, Any]:
        books = {
            uid: {"revision": revision, "contacts": len(entries)} for uid, (revision, entries) in self._held.items()
        }
        return {"index": {"kind": "contacts in memory, by book revision", "books": books}}

    async def close(self) -> None:
        await self.eds.close()
        self._held = {}
        self._all = HeldBook()


def open_books(context: BookContext) -> EvolutionBooks:
    """`Integration.open`: nothing is asked of EDS until the first search."""
    return EvolutionBooks(parse_settings(context.settings), context.default_region)

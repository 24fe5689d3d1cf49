"""The contacts of EDS's books as partnercrmd searches them: vCards read into contacts, and which books are chosen."""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd.sdk import AddinError, Contact, HeldContact
from partnercrmd.sdk.vcard import parse_vcards

from .client import Source

SEPARATOR = "/"
"""Between a book's source UID and a contact's UID in a contact id (EDS source UIDs hold no slash)."""


def read_contact(source: Source, vcard: str) -> Contact | None:
    """One vCard of a book as a contact, its id made unique across books; None when unreadable."""
    parsed = parse_vcards(vcard)
    if not parsed or not parsed[0].id:
        return None
    contact = parsed[0]
    contact.id = f"{source.uid}{SEPARATOR}{contact.id}"
    contact.custom = {"Address book": source.name}
    return contact


def book_entries(source: Source, vcards: Sequence[str], region: str | None) -> list[HeldContact]:
    """The book's contacts ready to search (blocks: run in a worker thread)."""
    contacts = (read_contact(source, vcard) for vcard in vcards)
    return [HeldContact.of(c, region) for c in contacts if c is not None and (c.name or c.phones)]


def chosen_sources(sources: Sequence[Source], wanted: Sequence[str]) -> list[Source]:
    """The enabled books named in `wanted` (folded names; empty: every enabled one); `cannot_connect` naming any
    that EDS does not have."""
    enabled = [s for s in sources if s.enabled]
    if not wanted:
        return enabled
    by_name = {s.name.casefold(): s for s in enabled}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        have = ", ".join(s.name for s in enabled) or "none"
        raise AddinError(
            f"Evolution Data Server has no address book called {', '.join(repr(m) for m in missing)} switched on "
            f"(it has: {have}); check the setting 'address_books'.",
            code="cannot_connect",
        )
    return [by_name[name] for name in wanted]

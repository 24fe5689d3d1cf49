"""The contacts of EDS's books as partnercrmd searches them: vCards read into contacts, and which books are chosen."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from partnercrmd.sdk import AddinError, Contact, Phone, PhoneKey, fold, phone_key
from partnercrmd.sdk.vcard import parse_vcards

from .client import Source

SEPARATOR = "/"
"""Between a book's source UID and a contact's UID in a contact id (EDS source UIDs hold no slash)."""


@dataclass(frozen=True)
class Entry:
    """One contact, with what searches compare on worked out once per read."""

    contact: Contact
    phone_keys: tuple[PhoneKey, ...]
    words: str
    """Folded name, company and emails, one per line (so a query word never spans two fields)."""

    def copy(self) -> Contact:
        """A contact the caller may change without changing what is held."""
        contact = self.contact
        phones = [Phone(p.number, p.kind) for p in contact.phones]
        return dataclasses.replace(contact, phones=phones, emails=list(contact.emails), custom=dict(contact.custom))


def read_contact(source: Source, vcard: str) -> Contact | None:
    """One vCard of a book as a contact, its id made unique across books; None when unreadable."""
    parsed = parse_vcards(vcard)
    if not parsed or not parsed[0].id:
        return None
    contact = parsed[0]
    contact.id = f"{source.uid}{SEPARATOR}{contact.id}"
    contact.custom = {"Address book": source.name}
    return contact


def book_entries(source: Source, vcards: Sequence[str], region: str | None) -> list[Entry]:
    """The book's contacts ready to search (blocks: run in a worker thread)."""
    entries = []
    for vcard in vcards:
        contact = read_contact(source, vcard)
        if contact is not None and (contact.name or contact.phones):
            keys = tuple(phone_key(p.number, region) for p in contact.phones)
            words = "\n".join(fold(text) for text in (contact.name, contact.company, *contact.emails))
            entries.append(Entry(contact, keys, words))
    return entries


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

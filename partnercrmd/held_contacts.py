"""Contacts an add-in holds in memory (read from a file, a desktop address book, a service), searched as
partnercrmd searches: numbers compared as phone numbers, names by every word, ignoring case and accents.

For add-ins whose whole book is small enough to hold (a company directory, a desktop address book): read the book,
make a `HeldContact` of each contact once per read, and answer searches with `search_held`. Part of the SDK.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from .model import Contact, Phone, SearchQuery
from .phone import PhoneKey, numbers_match, phone_key
from .word_search import fold


@dataclass(frozen=True)
class HeldContact:
    """One contact, with what searches compare on worked out once: its numbers' keys and its folded words."""

    contact: Contact
    phone_keys: tuple[PhoneKey, ...]
    words: str
    """Folded name, company and emails, one per line (so a query word never spans two fields)."""

    @classmethod
    def of(cls, contact: Contact, region: str | None) -> HeldContact:
        """Hold `contact` (numbers without a country code are read in `region`)."""
        keys = tuple(phone_key(p.number, region) for p in contact.phones)
        words = "\n".join(fold(text) for text in (contact.name, contact.company, *contact.emails))
        return cls(contact, keys, words)

    def copy(self) -> Contact:
        """A contact the caller may change without changing the one held."""
        contact = self.contact
        phones = [Phone(p.number, p.kind) for p in contact.phones]
        return dataclasses.replace(contact, phones=phones, emails=list(contact.emails), custom=dict(contact.custom))

    def has_words(self, words: Sequence[str]) -> bool:
        """Whether every (folded) word is in its name, company or emails."""
        return all(word in self.words for word in words)


def search_held(held: Sequence[HeldContact], query: SearchQuery, region: str | None) -> list[Contact]:
    """By number: every contact with a phone that is the same line; by text: every contact with every word of the
    query in its name, company or emails; at most `query.limit`, in the order held, as copies."""
    if query.number:
        wanted = phone_key(query.number, region)
        found = [h for h in held if any(numbers_match(wanted, key) for key in h.phone_keys)]
    else:
        words = fold(query.text).split()
        found = [h for h in held if h.has_words(words)] if words else []
    return [h.copy() for h in found[: query.limit]]

"""Contacts an add-in holds in memory (read from a file, a desktop address book, a service), searched as
partnercrmd searches: numbers compared as phone numbers, names by every word, ignoring case and accents.

For add-ins whose whole book is small enough to hold (a company directory, a desktop address book): read the book,
make a `HeldContact` of each contact once per read, put them in a `HeldBook` (which works out its lookups once), and
answer searches with `search_held`. Part of the SDK.

A search of a `HeldBook` by number costs microseconds however big the book (a dictionary lookup by the number's last
digits), by name about 30 µs per thousand contacts (one C-speed scan of the folded words); a search of a plain
sequence of held contacts looks at every contact in Python (0.3-2 ms per thousand, measured on a 2-CPU machine).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from .model import Contact, Phone, SearchQuery
from .phone import PhoneKey, key_tail, numbers_match, phone_key
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


class HeldBook(Sequence[HeldContact]):
    """Held contacts, in the order given, with their searches worked out once: the positions of the contacts by
    each number's `key_tail` (any two numbers that `numbers_match` share it), and every contact's folded words in
    one text. Build it once per read of the book (about 30 ms per ten thousand contacts: off the event loop), then
    search it with `search_held` as often as wanted."""

    RECORD = "\x00"
    """Between two contacts' words in the one text. A found word is always checked in its contact's own words, so a
    find across two contacts is never an answer."""

    def __init__(self, entries: Iterable[HeldContact] = ()) -> None:
        self._entries = tuple(entries)
        by_tail: dict[str, list[int]] = {}
        for position, entry in enumerate(self._entries):
            for key in entry.phone_keys:
                if key.digits:
                    positions = by_tail.setdefault(key_tail(key), [])
                    if not positions or positions[-1] != position:
                        positions.append(position)
        self._by_tail = by_tail
        starts = []
        offset = 0
        for entry in self._entries:
            starts.append(offset)
            offset += len(entry.words) + len(self.RECORD)
        self._starts = starts
        self._text = self.RECORD.join(entry.words for entry in self._entries)

    @overload
    def __getitem__(self, index: int) -> HeldContact: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[HeldContact]: ...

    def __getitem__(self, index: int | slice) -> HeldContact | Sequence[HeldContact]:
        return self._entries[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[HeldContact]:
        return iter(self._entries)

    def with_number(self, wanted: PhoneKey) -> Iterator[HeldContact]:
        """The contacts with a phone that is the same line as `wanted`, in order."""
        if not wanted.digits:
            return
        for position in self._by_tail.get(key_tail(wanted), ()):
            entry = self._entries[position]
            if any(numbers_match(wanted, key) for key in entry.phone_keys):
                yield entry

    def with_words(self, words: Sequence[str]) -> Iterator[HeldContact]:
        """The contacts with every (folded) word in their name, company or emails, in order: the text is scanned
        for the longest word, and only the contacts where it occurs are checked for the others."""
        if not words:
            return
        longest = max(words, key=len)
        text, starts, entries = self._text, self._starts, self._entries
        found = text.find(longest)
        while found != -1:
            position = bisect.bisect_right(starts, found) - 1
            entry = entries[position]
            if entry.has_words(words):
                yield entry
            following = position + 1
            if following == len(starts):
                return
            found = text.find(longest, starts[following])


def search_held(held: Sequence[HeldContact], query: SearchQuery, region: str | None) -> list[Contact]:
    """By number: every contact with a phone that is the same line; by text: every contact with every word of the
    query in its name, company or emails; at most `query.limit`, in the order held, as copies. A `HeldBook` is
    searched through its lookups, any other sequence contact by contact."""
    if query.number:
        wanted = phone_key(query.number, region)
        if isinstance(held, HeldBook):
            matches: Iterable[HeldContact] = held.with_number(wanted)
        else:
            matches = (h for h in held if any(numbers_match(wanted, key) for key in h.phone_keys))
    else:
        words = fold(query.text).split()
        if not words:
            return []
        matches = held.with_words(words) if isinstance(held, HeldBook) else (h for h in held if h.has_words(words))
    found: list[Contact] = []
    for entry in matches:
        if len(found) >= query.limit:
            break
        found.append(entry.copy())
    return found

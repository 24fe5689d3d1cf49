"""Answers of address books configured with `cached`: positive and negative, each for the book's TTL.

A cached book answers a repeated lookup (the same caller ringing again, a
preview then a pop) without a round trip to a slow CRM. Entries of a book
are dropped when it is reconfigured or when partnercrmd writes to it.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from .books import OpenBook
from .model import Activity, Contact

MAX_ENTRIES = 10_000


@dataclass
class _Entry:
    book: OpenBook
    expires: float
    contacts: list[Contact]
    activities: dict[str, list[Activity]]


class ResultCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_ENTRIES) -> None:
        self._clock = clock
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, Hashable], _Entry] = OrderedDict()

    def get(self, book: OpenBook, key: Hashable) -> tuple[list[Contact], dict[str, list[Activity]]] | None:
        """A copy of the cached answer, or None when absent, expired or from an earlier configuration."""
        entry = self._entries.get((book.id, key))
        if entry is None:
            return None
        if entry.book is not book or entry.expires <= self._clock():
            del self._entries[(book.id, key)]
            return None
        self._entries.move_to_end((book.id, key))
        return copy.deepcopy(entry.contacts), copy.deepcopy(entry.activities)

    def put(
        self, book: OpenBook, key: Hashable, contacts: list[Contact], activities: dict[str, list[Activity]]
    ) -> None:
        ttl = max(book.config.cache_minutes, 0) * 60
        if ttl <= 0:
            return
        entry = _Entry(book, self._clock() + ttl, copy.deepcopy(contacts), copy.deepcopy(activities))
        self._entries[(book.id, key)] = entry
        self._entries.move_to_end((book.id, key))
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def invalidate(self, book_id: str) -> None:
        """Forget every answer of a book (after partnercrmd changed its data)."""
        for key in [k for k in self._entries if k[0] == book_id]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

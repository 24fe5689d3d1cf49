"""The connector: one Thunderbird profile's address books, searched in the host's worker threads (`BlockingConnector`).

A book is read (from a copy, see client.py) on the first search and again whenever Thunderbird has written to it
since: a contact added, edited or deleted in Thunderbird is found, changed or gone at the next search, with
Thunderbird running or not, and nothing to restart. Books that did not change are not read again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from partnercrmd.sdk import (
    AddinError,
    BlockingConnector,
    BookContext,
    CheckResult,
    Contact,
    HeldBook,
    HeldContact,
    SearchQuery,
    search_held,
)

from . import client
from .checks import run_checks
from .client import BookFile, BookStamp
from .settings import ThunderbirdSettings, parse_settings


class ThunderbirdBooks(BlockingConnector):
    """The chosen address books of one profile; the host calls every method in a worker thread, several at once."""

    def __init__(self, settings: ThunderbirdSettings, workdir: Path, region: str | None) -> None:
        self.settings = settings
        self.workdir = workdir
        """The add-in's own folder for the copies it reads (the book's data folder)."""
        self.region = region
        self._lock = threading.Lock()
        self._read: dict[str, tuple[BookFile, BookStamp, list[HeldContact]]] = {}
        """book key → (the book, the stamp it was read at, its cards)."""
        self._all = HeldBook()
        """The cards of every book in `_read`, searched through its lookups; made again when a book was read."""

    def books(self) -> list[BookFile]:
        """The chosen books of the profile as it is now (prefs.js is read each time: books come and go)."""
        profile = client.find_profile(self.settings.profile)
        return client.chosen_books(client.address_books(profile), self.settings.address_books)

    def entries(self) -> HeldBook:
        """Every card of the chosen books, each book read again only when Thunderbird wrote to it since."""
        books = self.books()
        with self._lock:  # one thread reads a changed book; the others wait for its result
            fresh: dict[str, tuple[BookFile, BookStamp, list[HeldContact]]] = {}
            for book in books:
                held = self._read.get(book.key)
                if held is not None and held[0] == book and held[1] == client.book_stamp(book.path):
                    fresh[book.key] = held
                else:
                    entries, stamp = client.read_book(book, self.workdir, self.region)
                    fresh[book.key] = (book, stamp, entries)
            if fresh.keys() != self._read.keys() or any(fresh[k] is not self._read[k] for k in fresh):
                self._all = HeldBook(entry for _, _, entries in fresh.values() for entry in entries)
                self._read = fresh
            return self._all

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        """By number: every card with a phone that is the same line; by text: every word in name, company or email."""
        return search_held(self.entries(), query, self.region)

    def get(self, contact_id: str) -> Contact | None:
        return next((entry.copy() for entry in self.entries() if entry.contact.id == contact_id), None)

    def record_url(self, contact_id: str, edit: bool) -> str | None:
        """Thunderbird has no address that opens a card: partnercrmd's own record page shows it."""
        return None

    def test(self) -> Sequence[CheckResult]:
        return run_checks(self.settings, self.workdir, self.region)

    def diagnostics(self) -> Mapping[str, Any]:
        """The profile, the books read and what each held at its last read (the add-in's only index)."""
        with self._lock:
            read = list(self._read.values())
        books = {book.name: {"file": str(book.path), "cards": len(entries)} for book, _, entries in read}
        try:
            profile = str(client.find_profile(self.settings.profile))
        except AddinError as exc:
            profile = exc.message
        return {"profile": profile, "index": {"kind": "cards in memory", "books": books}}

    def close(self) -> None:
        with self._lock:
            self._read = {}
            self._all = HeldBook()


def open_books(context: BookContext) -> ThunderbirdBooks:
    """`Integration.open`: check the settings; the profile itself is read on first use."""
    return ThunderbirdBooks(parse_settings(context.settings), context.data_dir, context.default_region)

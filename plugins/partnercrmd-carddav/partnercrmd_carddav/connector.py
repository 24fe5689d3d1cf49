"""The connector: one configured CardDAV address book, served on the daemon's event loop (aiohttp)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from partnercrmd.sdk import (
    Activity,
    AddinError,
    BookContext,
    CheckResult,
    Connector,
    Contact,
    ContactPatch,
    PhoneIndex,
    SearchQuery,
    fold,
    numbers_match,
    phone_key,
)

from . import activities
from .addressbook import NAME_PROPERTIES, AddressBook, PreconditionFailed
from .cards import (
    BadCard,
    CardEditor,
    StoredCard,
    call_activities,
    card_numbers,
    card_uid,
    new_card,
    read_contact,
    search_words,
)
from .checks import run_checks
from .client import DavClient, display_url
from .discovery import find_addressbook
from .index import CardStore
from .journal_calendar import JournalCalendar
from .settings import JOURNAL_MODE, CardDavSettings, parse_settings
from .sync import IndexSync
from .version import USER_AGENT, __version__

PRODID = f"-//partnercrmd//partnercrmd-carddav {__version__}//EN"
CHECK_INTERVAL = 2.0
"""Seconds between two checks of the address book for changes (one small PROPFIND each)."""
FIRST_FILL_WAIT = 0.8
"""How long a search waits for the very first listing of the address book before asking the server instead."""
FRESHNESS_WAIT = 0.5
"""How long a search that found no one waits for a check for changes (a contact added a moment ago)."""


def _contacts(cards: Sequence[StoredCard]) -> list[Contact]:
    return [contact for contact in map(read_contact, cards) if contact is not None]


class CardDavBook(Connector):
    def __init__(self, settings: CardDavSettings, context: BookContext) -> None:
        self.settings = settings
        self.region = context.default_region
        self.client = DavClient(settings.username, settings.password, settings.ssl_context(), USER_AGENT)
        store = CardStore(context.data_dir / "cards.sqlite3")
        try:
            phones = PhoneIndex(context.data_dir / "phones.sqlite3", context.default_region)
        except BaseException:
            store.close()
            raise
        if not store.bind(settings.source):
            phones.replace_all([])  # another server or address book: its numbers must not answer for this one
        self.sync = IndexSync(self.addressbook, store, phones, CHECK_INTERVAL, lambda: self.client.healthy)
        self.calendar = JournalCalendar(self.client, settings.calendar_url) if settings.calendar_url else None
        self._book: AddressBook | None = None
        self._book_lock = asyncio.Lock()

    @property
    def journal(self) -> bool:
        return self.settings.activity_mode == JOURNAL_MODE

    async def addressbook(self) -> AddressBook:
        """The address book collection, found on first use (and again after a failure)."""
        async with self._book_lock:
            if self._book is None:
                found = await find_addressbook(self.client, self.settings.url, self.settings.addressbook)
                self._book = AddressBook(self.client, found.url, found.name)
            return self._book

    # --- search

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        if query.number:
            return await self._by_number(query.number, query.number_forms)
        return await self._by_name(query.text, query.limit)

    async def _by_number(self, number: str, forms: Sequence[str]) -> list[Contact]:
        """From the phone index (kept fresh in the background); the server's own TEL match until it is built."""
        if not await self._first_fill(self.sync.start_if_due() if not self.sync.filled else None):
            return _contacts(await (await self.addressbook()).query(("TEL",), forms or (number,)))
        book = await self.addressbook()
        found = await self._indexed(book, number)
        refresh = self.sync.start_if_due()
        if found or refresh is None:
            # A due check for changes starts only now, after the caller's card was read: on a server that computes
            # its change tag over every card, it would otherwise slow that very read.
            return found
        # No one (still) has the number: wait for the check for changes, so that a contact added or renumbered a
        # moment ago is found, and a server that has gone away says so rather than "no match".
        return await self._indexed(book, number) if await self.sync.wait(refresh, FRESHNESS_WAIT) else []

    async def _by_name(self, text: str, limit: int) -> list[Contact]:
        """Every word in the name, company, email or nickname (case and accents ignored), in name order."""
        words = text.lower().split()
        if not words:
            return []
        if not await self._first_fill(self.sync.start_if_due() if not self.sync.filled else None):
            return await self._named_on_server(words, limit)
        book = await self.addressbook()
        found = await self._named(book, words, limit)
        refresh = self.sync.start_if_due()
        if found or refresh is None:
            return found
        return await self._named(book, words, limit) if await self.sync.wait(refresh, FRESHNESS_WAIT) else []

    async def _first_fill(self, refresh: asyncio.Task[bool] | None) -> bool:
        """Whether the local indexes can answer, waiting a little for the very first listing."""
        if not self.sync.filled and refresh is not None:
            with contextlib.suppress(AddinError):  # asking the server instead says what is wrong, if anything
                await self.sync.wait(refresh, FIRST_FILL_WAIT)
        return self.sync.filled

    async def _indexed(self, book: AddressBook, number: str) -> list[Contact]:
        """The contacts the phone index names for `number`, read from the server, that still have it."""
        names = await self.sync.lookup(number)
        cards = await book.read(names)
        wanted = phone_key(number, self.region)
        found = [
            cards[name]
            for name in names
            if name in cards
            and any(numbers_match(wanted, phone_key(n, self.region)) for n in card_numbers(cards[name].text))
        ]
        return _contacts(found)

    async def _named(self, book: AddressBook, words: list[str], limit: int) -> list[Contact]:
        """The contacts the name index finds, read from the server, that still match."""
        folded = [fold(word) for word in words]
        names = await self.sync.find_words(folded, max(limit, 1))
        cards = await book.read(names)
        found = _contacts([cards[name] for name in names if name in cards])
        return [c for c in found if all(word in search_words(c) for word in folded)]

    async def _named_on_server(self, words: list[str], limit: int) -> list[Contact]:
        """addressbook-query for the longest word (lower-cased: xandikos fails on upper-case non-ASCII)."""
        book = await self.addressbook()
        cards = await book.query(NAME_PROPERTIES, [max(words, key=len)], limit if len(words) == 1 else None)
        folded = [fold(word) for word in words]
        found = [c for c in _contacts(cards) if all(word in search_words(c) for word in folded)]
        return sorted(found, key=lambda c: fold(c.name))[: max(limit, 1)]

    # --- single contacts

    async def _card(self, contact_id: str) -> StoredCard:
        card = await (await self.addressbook()).get(contact_id)
        if card is None:
            raise AddinError("This contact no longer exists in the address book.", code="not_found")
        return card

    async def get(self, contact_id: str) -> Contact | None:
        card = await (await self.addressbook()).get(contact_id)
        if card is None:
            return None
        contact = read_contact(card)
        if contact is None:
            raise AddinError("The contact on the server is not a readable vCard.", code="invalid_data")
        return contact

    async def record_url(self, contact_id: str, edit: bool) -> str | None:
        """The server's web page of the contact (`web_url_template`); None for partnercrmd's own page."""
        template = self.settings.web_url_template
        if not template:
            return None
        uid = ""
        if "{uid}" in template:
            uid = await self.sync.uid(contact_id) or card_uid((await self._card(contact_id)).text)
            uid = uid or contact_id.removesuffix(".vcf")  # a card without UID: its name is the best guess
        return template.replace("{uid}", quote(uid, safe="")).replace("{id}", quote(contact_id, safe=""))

    # --- writing

    async def _edit(self, contact_id: str, change: Callable[[CardEditor], None]) -> StoredCard:
        """Read, change and store a card under its ETag; when someone else saved it meanwhile, once more."""
        book = await self.addressbook()
        for _ in range(2):
            card = await self._card(contact_id)
            try:
                editor = CardEditor(card.text)
            except BadCard as exc:
                raise AddinError(f"The contact on the server cannot be changed: {exc}.", code="invalid_data") from None
            change(editor)
            text = editor.text()
            try:
                etag = await book.put(contact_id, text, etag=card.etag)
            except PreconditionFailed:
                continue
            stored = StoredCard(contact_id, etag, text)
            await self.sync.record(stored)
            return stored
        raise AddinError("The contact kept changing on the server while saving; try again.", code="unknown")

    async def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        stored = await self._edit(contact_id, lambda editor: editor.apply(patch))
        contact = read_contact(stored)
        if contact is None:
            raise AddinError("The changed contact cannot be read back.", code="invalid_data")
        return contact

    async def create(self, contact: Contact) -> Contact:
        """PUT `<uid>.vcf` with If-None-Match: * (a name already taken gets a fresh UID, once)."""
        book = await self.addressbook()
        for _ in range(2):
            uid = str(uuid.uuid4())
            name = f"{uid}.vcf"
            text = new_card(contact, uid, self.settings.vcard_version, PRODID)
            try:
                etag = await book.put(name, text, etag=None)
            except PreconditionFailed:
                continue
            stored = StoredCard(name, etag, text)
            await self.sync.record(stored)
            created = read_contact(stored)
            if created is None:
                raise AddinError("The new contact cannot be read back.", code="invalid_data")
            return created
        raise AddinError("The server refused every new contact name offered; try again.", code="unknown")

    # --- activities

    async def log_activity(self, contact_id: str, activity: Activity) -> str:
        if self.journal:
            return await self._log_journal(contact_id, activity)
        line = activities.note_line(activity)
        await self._edit(contact_id, lambda editor: editor.append_call(line))
        logged = activities.parse_note_line(line)
        assert logged is not None  # note_line writes what parse_note_line reads
        return logged.id

    async def _log_journal(self, contact_id: str, activity: Activity) -> str:
        assert self.calendar is not None  # parse_settings requires calendar_url for journal mode
        contact = read_contact(await self._card(contact_id))
        name = contact.name if contact is not None else ""
        for _ in range(2):
            entry = activities.journal_entry(str(uuid.uuid4()), contact_id, name, activity, PRODID)
            try:
                await self.calendar.add(entry)
            except PreconditionFailed:
                continue
            return entry.uid
        raise AddinError("The calendar refused every new journal name offered; try again.", code="unknown")

    async def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        """Calls from the card's NOTE lines and, in journal mode, from the calendar; newest first."""
        card = await (await self.addressbook()).get(contact_id)
        found = call_activities(card.text) if card is not None else []
        if self.calendar is not None and self.journal:
            found += await self.calendar.entries_of(contact_id)
        return activities.newest_first(found, limit)

    # --- the rest

    async def test(self) -> Sequence[CheckResult]:
        return await run_checks(self)

    async def diagnostics(self) -> Mapping[str, Any]:
        """The server and address book as found, the journal calendar, and the local card index's refresh state."""
        cards, numbers = await self.sync.counts()
        return {
            "server": display_url(self.settings.url),
            "addressbook": display_url(self._book.url) if self._book is not None else "(not found yet)",
            "user": self.settings.username,
            "journal_calendar": display_url(self.settings.calendar_url) if self.settings.calendar_url else None,
            "index": {"cards": cards, "numbers": numbers, **self.sync.coordinator.status.as_dict()},
        }

    async def close(self) -> None:
        try:
            await self.sync.close()
        finally:
            await self.client.close()


def open_book(context: BookContext) -> CardDavBook:
    """Check the settings and open the local index; the server is first contacted by the first search."""
    return CardDavBook(parse_settings(context.settings), context)

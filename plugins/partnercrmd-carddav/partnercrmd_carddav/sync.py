"""Keeping the local phone index in step with the address book, cheaply.

CardDAV servers compare TEL as literal text, so numbers are looked up in
partnercrmd's `PhoneIndex` instead. A refresh first asks for the collection's
getctag / sync-token (one small PROPFIND); only when it changed does it list
every card's ETag and fetch (addressbook-multiget) just the cards whose ETag
differs from the one stored. Refreshes run as one background task at a time
(the SDK's `RefreshCoordinator`), at most every `check_interval` seconds, and
survive the cancellation of the search that started them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from partnercrmd.sdk import PhoneIndex, RefreshCoordinator, RefreshStatus, fold

from .addressbook import AddressBook
from .cards import StoredCard, card_numbers, card_uid, read_contact, search_words
from .index import CardRecord, CardStore

log = logging.getLogger(__name__)

MULTIGET_BATCH = 100
"""Cards fetched per addressbook-multiget."""
REBUILD_AT = 50
"""With more changed cards than this, the phone index is rebuilt in one go rather than card by card."""
UNTOKENED_LISTING_INTERVAL = 300.0
"""A server without getctag or sync-token is listed in full at most this often (seconds)."""


def record_of(card: StoredCard) -> CardRecord:
    """What the indexes keep of a card (parses it: run it in a worker thread for many cards)."""
    contact = read_contact(card)
    words = search_words(contact) if contact is not None else ""
    sort_key = fold(contact.name) if contact is not None else ""
    return CardRecord(card.name, card.etag, card_uid(card.text), tuple(card_numbers(card.text)), words, sort_key)


def records_of(cards: Sequence[StoredCard]) -> list[CardRecord]:
    return [record_of(card) for card in cards]


COST_FACTOR = 60.0
"""A check that took t seconds is not repeated for 60 t seconds (at least the configured interval): checking for
changes takes at most about 2 % of the server's time per user, however large the book (Radicale computes its
change tag over every card: 1.2 s of its CPU at 10,000 cards, so such a book is checked about once a minute)."""


class IndexSync:
    """The phone index of one address book and its refresh (the fill: `_refresh`).

    When to check, replaying the add-in's writes made during a check, back-off and status are the SDK's
    `RefreshCoordinator`'s (`coordinator`); this class keeps the check itself and the interval it asks for.
    """

    def __init__(
        self,
        book: Callable[[], Awaitable[AddressBook]],
        store: CardStore,
        phones: PhoneIndex,
        check_interval: float,
        healthy: Callable[[], bool],
    ) -> None:
        self._book = book
        self.store = store
        self.phones = phones
        self.check_interval = check_interval
        self._healthy = healthy
        self.filled = store.filled
        self._last_cost = 0.0
        self._cards: int | None = None
        self.coordinator = RefreshCoordinator(
            self._refresh,
            name="Checking a CardDAV address book for changes",
            interval=self.interval,
            retry_after=check_interval,
            last_success=store.listed_at() if self.filled else None,
            entries=lambda _: self._cards,
            # A server that failed any request since (a search's read, too) is checked at the next search.
            due_also=lambda: not self._healthy(),
        )
        self.coordinator.retry_now()  # a book just opened checks for changes on its first search

    @property
    def status(self) -> RefreshStatus:
        """Where the index stands (state, last success, last error, next due, cards held)."""
        return self.coordinator.status

    # --- scheduling

    def interval(self) -> float:
        """Seconds between checks: the configured interval, longer for a server whose checks are costly.

        A large address book makes the server compute its change tag for a second or more; checking it
        every few seconds would keep the server's CPU (and a shared machine's) busy for no new contact.
        """
        return max(self.check_interval, COST_FACTOR * self._last_cost)

    def due(self) -> bool:
        """Time to check for changes: the interval has passed, or the server failed the last time it was asked."""
        return self.coordinator.due()

    def start(self) -> asyncio.Task[bool]:
        """The running refresh, or a new one."""
        return self.coordinator.start()

    def start_if_due(self) -> asyncio.Task[bool] | None:
        return self.coordinator.start_if_due()

    @staticmethod
    async def wait(task: asyncio.Task[bool], seconds: float) -> bool | None:
        """The refresh's outcome (True: the index changed) if it ends within `seconds`, else None.

        The task goes on when this returns early or the caller is cancelled; its failure is raised here.
        """
        return await RefreshCoordinator.wait(task, seconds)

    async def close(self) -> None:
        await self.coordinator.close()
        await asyncio.to_thread(self._close_files)

    def _close_files(self) -> None:
        self.phones.close()
        self.store.close()

    # --- lookups and single changes

    async def lookup(self, number: str) -> list[str]:
        """Names of the cards with a number that is the same line as `number`."""
        return await asyncio.to_thread(self.phones.lookup, number)

    async def find_words(self, words: list[str], limit: int) -> list[str]:
        """Names of the cards holding every folded word, in name order."""
        return await asyncio.to_thread(self.store.find_words, words, limit)

    async def uid(self, name: str) -> str | None:
        return await asyncio.to_thread(self.store.uid, name)

    async def counts(self) -> tuple[int, int]:
        """How many cards and phone numbers the index holds."""
        numbers = await asyncio.to_thread(self.store.numbers)
        return len(numbers), sum(len(found) for _, found in numbers)

    async def record(self, card: StoredCard) -> None:
        """Take note of a card this add-in just wrote (again after a running check, whose listing may be older)."""
        await self.coordinator.write(card.name, lambda: asyncio.to_thread(self._record, card))

    def _record(self, card: StoredCard) -> None:
        record = record_of(card)
        # Index first: a crash in between leaves the card unknown to the store, so the next refresh fetches it.
        self.phones.update(record.name, record.numbers)
        self.store.apply([record], [])

    # --- refresh

    async def _refresh(self) -> bool:
        """Bring the index up to date; True when something changed."""
        started = time.monotonic()
        changed = await self._check()
        if not changed:  # a check that found nothing new: the recurring cost
            self._last_cost = time.monotonic() - started
        return changed

    async def _check(self) -> bool:
        book = await self._book()
        token = await book.collection_token()
        stored, listed_at = await asyncio.to_thread(lambda: (self.store.token(), self.store.listed_at()))
        if self.filled:
            if token and token == stored:
                return False
            if not token and time.time() - listed_at < UNTOKENED_LISTING_INTERVAL:
                return False
        listing = await book.list_etags()
        known = await asyncio.to_thread(self.store.etags)
        changed = [name for name, etag in listing.items() if not etag or known.get(name) != etag]
        removed = [name for name in known if name not in listing]
        records: list[CardRecord] = []
        for start in range(0, len(changed), MULTIGET_BATCH):
            batch = changed[start : start + MULTIGET_BATCH]
            cards = await book.multiget(batch)
            records += await asyncio.to_thread(records_of, [cards[name] for name in batch if name in cards])
            removed += [name for name in batch if name not in cards]
        rebuild = not self.filled or not stored or len(records) + len(removed) > REBUILD_AT
        await asyncio.to_thread(self._store_changes, records, removed, token, rebuild)
        log.debug("address book %s: %d cards changed, %d removed", book.url, len(records), len(removed))
        return bool(records or removed)

    def _store_changes(self, records: Sequence[CardRecord], removed: Sequence[str], token: str, rebuild: bool) -> None:
        """Write a refresh's result: the cards, then the phone index, then the token that says both are done."""
        self.store.apply(records, removed, listing=True)
        if rebuild:
            self.phones.replace_all(self.store.numbers())
        else:
            for record in records:
                self.phones.update(record.name, record.numbers)
            for name in removed:
                self.phones.remove(name)
        self.store.finish(token)
        self._cards = self.store.count()
        self.filled = True

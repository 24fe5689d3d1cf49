"""Delivers the activity outbox to the CRMs: exactly once per entry, retried with backoff, rate-limited per book.

Exactly once: an entry is claimed (committed as `sending`, attempts + 1)
before the CRM is written and marked `done` after. If the daemon dies in
between, or the CRM's answer is lost, the entry is tried again; because it
was claimed before, the worker first reads the record's recent activities
back from the CRM and, when one carries the entry's reference marker, marks
the entry done without writing. A book that cannot read activities back is
never written twice automatically either: such an entry fails and waits for
the user (`partnercrmd outbox retry`, the call history window).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..books import BookManager, OpenBook
from ..errors import AddinError, NotFound, PartnerError, Unsupported
from ..events import EventHub
from ..integration import Capability
from ..model import Activity, CallDirection
from ..redact import redact
from ..search import SearchEngine, SearchRequest
from .store import DONE, FAILED, SKIPPED, CallStore, OutboxEntry

log = logging.getLogger(__name__)

PERMANENT_CODES = {"not_found", "invalid_auth", "invalid_data", "unsupported", "unverifiable"}
"""Error keys that another attempt will not cure; the entry fails and waits for the user."""
READ_BACK = 50
"""How many recent activities of the record are read to find an earlier write."""


@dataclass
class OutboxPolicy:
    rate_per_second: float = 10.0
    """Writes per second per address book (a burst of as many is allowed)."""
    timeout: float = 15.0
    """One attempt (read-back and write) at most this long."""
    first_delay: float = 2.0
    max_delay: float = 300.0
    max_attempts: int = 20
    """Then the entry fails and waits for the user (about an hour and a half of retries with the defaults)."""
    poll: float = 1.0
    """How often the database is looked at for entries made due by time or by another process (the CLI)."""
    match_deadline: float = 5.0
    """Looking up the contact of an entry made while the CRM was down."""


class RateLimiter:
    """A token bucket: `rate` per second, bursts of `rate`."""

    def __init__(self, rate: float) -> None:
        self.rate = max(rate, 0.01)
        self.tokens = max(rate, 1.0)
        self.stamp = time.monotonic()

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


class Outcome:
    """What became of one delivery attempt."""

    def __init__(self, status: str, message: str = "", activity_id: str = "", code: str = "") -> None:
        self.status = status
        self.message = message
        self.activity_id = activity_id
        self.code = code
        """The add-in's error key when the attempt failed (e.g. invalid_auth), for a caller waiting on it."""

    def __repr__(self) -> str:
        return f"Outcome({self.status!r}, {self.message!r})"


class OutboxWorker:
    def __init__(
        self,
        store: CallStore,
        books: BookManager,
        engine: SearchEngine,
        hub: EventHub,
        policy: OutboxPolicy | None = None,
        written: Callable[[str], None] = lambda book_id: None,
    ) -> None:
        self.store = store
        self.books = books
        self.engine = engine
        self.hub = hub
        self.policy = policy or OutboxPolicy()
        self.written = written
        """Called with a book's id after an activity was written to it (drops cached answers)."""
        self._wake = asyncio.Event()
        self._drains: dict[str, asyncio.Task[None]] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._inline: set[str] = set()

    # --- life ----------------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.store.prune)
        recovered = await asyncio.to_thread(self.store.recover)
        if recovered:
            log.info("outbox: %d entries were being sent when the daemon stopped; checking them", recovered)
        self._dispatcher = asyncio.create_task(self._dispatch())

    async def close(self) -> None:
        tasks = [t for t in (self._dispatcher, *self._drains.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        self._wake.set()

    # --- adding --------------------------------------------------------------------------------

    async def add(self, entry: OutboxEntry) -> tuple[OutboxEntry, bool]:
        """Store an entry (once per key) and have it delivered in the background."""
        stored, new = await asyncio.to_thread(self.store.add, entry)
        if new:
            self.wake()
        return stored, new

    async def deliver_now(self, entry: OutboxEntry) -> Outcome:
        """Store the entry (once per key) and try it at once (DoAction); later retries run in the background."""
        entry.next_attempt = time.time() + self.policy.timeout  # the background leaves it to this attempt
        stored, _ = await asyncio.to_thread(self.store.add, entry)
        if stored.status == DONE:
            return Outcome(DONE, "The call was logged already.", stored.activity_id)
        if stored.status == FAILED:  # the user asks again: that is a retry
            await asyncio.to_thread(self.store.retry, [stored.key])
        self._inline.add(stored.key)
        try:
            claimed = await asyncio.to_thread(self.store.claim, stored.key)
            if claimed is None:  # the background worker is on it, or it failed before: report where it stands
                now = await asyncio.to_thread(self.store.entry, stored.key)
                assert now is not None
                return Outcome(now.status, now.last_error, now.activity_id)
            await self._limiter(claimed.book_id).acquire()
            return await self._deliver(claimed, announce_failure=False)
        finally:
            self._inline.discard(stored.key)
            self.wake()

    # --- the background work -------------------------------------------------------------------

    def _limiter(self, book_id: str) -> RateLimiter:
        limiter = self._limiters.get(book_id)
        if limiter is None:
            limiter = self._limiters[book_id] = RateLimiter(self.policy.rate_per_second)
        return limiter

    async def _dispatch(self) -> None:
        while True:
            self._wake.clear()
            try:
                now = time.time()
                for book_id in await asyncio.to_thread(self.store.due_books, now):
                    drain = self._drains.get(book_id)
                    if drain is None or drain.done():
                        self._drains[book_id] = asyncio.create_task(self._drain(book_id))
                next_due = await asyncio.to_thread(self.store.next_due)
            except Exception:
                log.exception("outbox: could not read the database")
                next_due = None
            wait = self.policy.poll
            if next_due is not None:
                wait = min(wait, max(next_due - time.time(), 0.01))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _drain(self, book_id: str) -> None:
        """Send a book's due entries one after the other, within its rate limit."""
        while True:
            entry = await asyncio.to_thread(self.store.claim_next, book_id, time.time())
            if entry is None:
                return
            await self._limiter(book_id).acquire()
            try:
                await self._deliver(entry, announce_failure=True)
            except Exception:
                log.exception("outbox: delivering %s failed unexpectedly", entry.key)
                await asyncio.to_thread(self.store.postpone, entry.key, self.policy.max_delay, "internal error")

    def _backoff(self, attempts: int) -> float:
        delay: float = min(self.policy.first_delay * 2.0 ** max(attempts - 1, 0), self.policy.max_delay)
        return delay * random.uniform(0.8, 1.2)  # noqa: S311  (jitter, not security)

    async def _deliver(self, entry: OutboxEntry, *, announce_failure: bool) -> Outcome:
        """One attempt for a claimed entry; the entry's new state is stored before returning."""
        attempt = entry.attempts + 1
        try:
            book = self.books.get(entry.book_id)
        except NotFound:
            return await self._fail(entry, "The address book was removed; the call was not logged.", announce_failure)
        try:
            async with asyncio.timeout(self.policy.timeout):
                outcome = await self._attempt(book, entry)
        except Exception as exc:  # noqa: BLE001  (add-in code: every failure is judged below)
            message = self._describe(book, exc)
            code = exc.code if isinstance(exc, PartnerError) else ""
            if code in PERMANENT_CODES or attempt >= self.policy.max_attempts:
                return await self._fail(entry, message, announce_failure, code)
            await asyncio.to_thread(self.store.postpone, entry.key, self._backoff(attempt), message)
            if announce_failure:
                self.hub.publish(
                    "ActivityFailed",
                    {"CallId": entry.call_id, "AddinId": entry.book_id, "Reason": message, "WillRetry": True},
                )
            log.info("outbox: %s in %s failed (attempt %d), will retry: %s", entry.key, book.id, attempt, message)
            return Outcome("pending", message, code=code)
        if outcome.status == DONE:
            await asyncio.to_thread(
                self.store.finish, entry.key, DONE, activity_id=outcome.activity_id, contact_id=entry.contact_id
            )
            self.written(book.id)
            self.hub.publish(
                "ActivityLogged",
                {"CallId": entry.call_id, "AddinId": entry.book_id, "ActivityId": outcome.activity_id},
            )
        elif outcome.status == SKIPPED:
            await asyncio.to_thread(self.store.finish, entry.key, SKIPPED, error=outcome.message)
        else:
            return await self._fail(entry, outcome.message, announce_failure)
        return outcome

    async def _fail(self, entry: OutboxEntry, message: str, announce: bool, code: str = "") -> Outcome:
        await asyncio.to_thread(self.store.finish, entry.key, FAILED, error=message)
        if announce:
            self.hub.publish(
                "ActivityFailed",
                {"CallId": entry.call_id, "AddinId": entry.book_id, "Reason": message, "WillRetry": False},
            )
        log.warning("outbox: %s in %s failed: %s", entry.key, entry.book_id, message)
        return Outcome(FAILED, message, code=code)

    async def _attempt(self, book: OpenBook, entry: OutboxEntry) -> Outcome:
        if book.connector is None:
            raise AddinError(book.error or "The address book is unavailable.", code="cannot_connect")
        if Capability.LOG_ACTIVITY not in book.capabilities:
            raise Unsupported(f"The address book '{book.name}' cannot log calls with its settings.")
        if not entry.contact_id:
            contact_id = await self._find_contact(book, entry)
            if not contact_id:
                return Outcome(SKIPPED, f"No record in '{book.name}' has the number {entry.number}.")
            entry.contact_id = contact_id
        if entry.attempts > 0:
            earlier = await self._written_before(book, entry)
            if earlier is not None:
                log.info("outbox: %s is in %s already (activity %s); not written again", entry.key, book.id, earlier)
                return Outcome(DONE, "found in the CRM", earlier)
        activity = Activity(
            entry.subject,
            entry.body,
            CallDirection(entry.direction),
            datetime.fromisoformat(entry.start_utc),
            entry.duration_seconds,
        )
        activity_id = await book.connector.log_activity(entry.contact_id, activity)
        return Outcome(DONE, "", str(activity_id))

    async def _written_before(self, book: OpenBook, entry: OutboxEntry) -> str | None:
        """The id of an activity of the record carrying the entry's marker; None when there is none."""
        assert book.connector is not None
        try:
            activities = await book.connector.activities(entry.contact_id, READ_BACK)
        except Unsupported:
            raise Unsupported(
                f"The call may have been logged in '{book.name}' already, and this address book cannot show "
                "its activities to check: look at the record, then retry if it is missing.",
                code="unverifiable",
            ) from None
        for activity in activities:
            if entry.marker in activity.body or entry.marker in activity.subject:
                return activity.id
        return None

    async def _find_contact(self, book: OpenBook, entry: OutboxEntry) -> str:
        request = SearchRequest(text=entry.number, count=2, deadline=self.policy.match_deadline)
        (result,) = await self.engine.search(request, [book])
        if result.error:
            raise AddinError(result.error, code="cannot_connect")
        return result.contacts[0].id if result.contacts else ""

    @staticmethod
    def _describe(book: OpenBook, exc: BaseException) -> str:
        if isinstance(exc, PartnerError):
            text = exc.message
        elif isinstance(exc, TimeoutError):
            text = "The address book did not answer in time."
        else:
            text = f"The address book failed: {type(exc).__name__}: {exc}"
        return redact(text, book.integration, book.config.settings)[:500]

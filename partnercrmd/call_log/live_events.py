"""Live call events: each state of a call, as it happens, to every book that takes them (`Connector.call_event`).

`CallService` hands every accepted state to `LiveEvents.publish`, which only queues it: the phone
client's `CallEvent` answer never waits for a CRM. Each (call, book) pair has its own lane, a task
that delivers that call's states to that book one after the other, so a book sees them in order and a
slow or hanging book delays nobody else. A delivery that fails (the CRM is down for a moment, or does
not answer within `attempt_seconds`) is tried again, with growing pauses, until `window_seconds` after
the state arrived; then it is dropped with one log line (a Ringing that arrives minutes late is noise)
and the lane goes on with the next state. The end-of-call activity is not sent here: it keeps the
outbox (outbox_worker.py), which nothing here touches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..books import BookManager, OpenBook
from ..errors import Unsupported
from ..integration import CallEvent, Capability, Connector
from ..redact import redact

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveEventPolicy:
    """Deadlines and limits of live call events (tests set shorter ones through `appkeys.LIVE_EVENT_POLICY`)."""

    attempt_seconds: float = 5.0
    """How long one delivery may take before it counts as failed."""
    window_seconds: float = 30.0
    """How long after it arrived a state is still worth delivering; past it, it is dropped and logged once."""
    first_retry_seconds: float = 0.5
    max_retry_seconds: float = 5.0
    idle_seconds: float = 120.0
    """A lane with nothing to deliver for this long ends (a call whose end never came); a later state starts one."""
    queue_limit: int = 32
    """States waiting in one lane; past it the oldest waiting one is dropped (and logged)."""
    max_lanes: int = 512
    """Lanes at once (calls x books); past it new states are dropped (and logged)."""


@dataclass
class _Pending:
    event: CallEvent
    arrived: float = field(default_factory=time.monotonic)


class _Lane:
    """One call's states for one book, delivered in order by one task."""

    def __init__(self, call_id: str, book_id: str, limit: int) -> None:
        self.call_id = call_id
        self.book_id = book_id
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=limit)
        self.task: asyncio.Task[None] | None = None
        self.last_state = ""
        """The state queued last, so that one reported twice in a row is told once."""


class LiveEvents:
    """Queues each state for every book that takes live call events, and delivers it off the request path."""

    def __init__(
        self, books: BookManager, policy: LiveEventPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.books = books
        self.policy = policy or LiveEventPolicy()
        self.clock = clock
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._unsupported: weakref.WeakSet[Connector] = weakref.WeakSet()
        """Connectors that said `Unsupported`: not asked again (a book reopened has a new connector)."""
        self._closed = False

    @staticmethod
    def takes_events(book: OpenBook) -> bool:
        """Whether `book` is told live call events: it can (capability) and its `call_events` option is on."""
        return book.connector is not None and book.config.call_events and Capability.CALL_EVENTS in book.capabilities

    def publish(self, event: CallEvent, contacts: dict[str, tuple[str, str]]) -> None:
        """Queue `event` for every enabled book that takes live events; `contacts`: book id -> (id, name) matched.

        Never waits: called on the request path. A state the book was told last for this call is not repeated.
        """
        if self._closed:
            return
        for book in self.books.enabled():
            if not self.takes_events(book) or book.connector in self._unsupported:
                continue
            key = (event.call_id, book.id)
            contact_id, contact_name = contacts.get(book.id, ("", ""))
            self._queue(key, replace(event, contact_id=contact_id, contact_name=contact_name))

    def _queue(self, key: tuple[str, str], event: CallEvent) -> None:
        lane = self._lanes.get(key)
        if lane is not None and lane.last_state == event.state:
            return  # the phone client reported the same state twice
        if lane is None:
            if len(self._lanes) >= self.policy.max_lanes:
                log.warning(
                    "call %s: live %s event for %s dropped: too many calls at once", key[0], event.state, key[1]
                )
                return
            lane = self._lanes[key] = _Lane(*key, self.policy.queue_limit)
            lane.task = asyncio.create_task(self._run(lane), name=f"call-events {key[1]}")
        if lane.queue.full():
            dropped = lane.queue.get_nowait()
            log.warning(
                "call %s: live %s event for %s dropped: too many waiting",
                key[0],
                dropped.event.state,
                key[1],
            )
        lane.queue.put_nowait(_Pending(event, self.clock()))
        lane.last_state = str(event.state)

    async def _run(self, lane: _Lane) -> None:
        key = (lane.call_id, lane.book_id)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.policy.idle_seconds):
                        pending = await lane.queue.get()
                except TimeoutError:
                    return
                await self._deliver(lane, pending)
                if pending.event.state.final and lane.queue.empty():
                    return
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _deliver(self, lane: _Lane, pending: _Pending) -> None:
        """Deliver one state, trying again until its window closes; then drop it with one log line."""
        event, policy = pending.event, self.policy
        pause = policy.first_retry_seconds
        attempts = 0
        reason = ""
        while True:
            left = policy.window_seconds - (self.clock() - pending.arrived)
            if left <= 0:
                log.warning(
                    "call %s: live %s event for address book %s dropped after %d attempt(s) in %g s: %s",
                    event.call_id,
                    event.state,
                    lane.book_id,
                    attempts,
                    policy.window_seconds,
                    reason or "it came too late",
                )
                return
            attempts += 1
            try:
                book = self.books.get(lane.book_id)
            except Exception:  # noqa: BLE001  (the book was removed meanwhile: nobody to tell)
                return
            if not book.enabled or not book.config.call_events:
                return  # turned off (or locked) since: the user no longer wants this book told
            if book.connector is None:
                reason = book.error or "the address book is not open"
            else:
                try:
                    async with asyncio.timeout(min(policy.attempt_seconds, left)):
                        await book.connector.call_event(event)
                    return
                except Unsupported:
                    self._unsupported.add(book.connector)
                    log.info("address book %s does not take live call events; not asked again", lane.book_id)
                    return
                except asyncio.CancelledError:
                    raise
                except TimeoutError:
                    reason = f"no answer within {policy.attempt_seconds:g} s"
                except Exception as exc:  # noqa: BLE001  (add-in code: any failure is retried, then dropped)
                    reason = redact(
                        f"{type(exc).__name__}: {getattr(exc, 'message', exc)}", book.integration, book.config.settings
                    )[:300]
                log.debug(
                    "call %s: live %s event for %s failed (%s); trying again",
                    event.call_id,
                    event.state,
                    lane.book_id,
                    reason,
                )
            left = policy.window_seconds - (self.clock() - pending.arrived)
            await asyncio.sleep(max(0.0, min(pause, left)))
            pause = min(pause * 2, policy.max_retry_seconds)

    async def close(self) -> None:
        """Stop delivering: states still waiting are dropped (the daemon is stopping)."""
        self._closed = True
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._lanes.clear()

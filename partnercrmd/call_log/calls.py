"""Call events from the phone client: find who is calling, pop the record, show its history, log the call at the end.

`POST CallEvent` reports a call's progress (Ringing, Answered, Held, Resumed,
Ended, Missed). The first event of a call searches every enabled address
book for the other party's number (the caller on inbound calls, the called
number on outbound ones) and remembers the matches for the rest of the call.

- Pop: on Ringing (books with AutoPopOption OnRinging) or Answered (OnAnswer)
  the matched record of the first such book, in priority order, opens once
  per call; `auto_pop_match` Single pops only when that book has exactly one
  match, Best pops its best match.
- ShowActivityOnCall: the matched records of those books come back in the
  CallEvent answer with their recent activities, and the same is published
  as a `CallActivities` event.
- CreateActivityOnCallEnd: on Ended or Missed, one outbox entry per such book
  (exactly once per call and book, see outbox_worker.py). A book that could
  not be searched gets an entry that finds the record when the CRM is back.
- Live call events: every state, as it arrives, is queued for the books that
  take them (`Connector.call_event`, option `call_events`; see live_events.py),
  never delaying this answer; a state arriving after the call's end is not told.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import phone
from ..actions import ActionService
from ..api_shapes import ActionKind, action_id, contact_record
from ..books import AutoPop, BookManager, OpenBook
from ..errors import AddinError, PartnerError, Unsupported
from ..events import EventHub
from ..integration import CallEvent, CallState, Capability
from ..model import CallDirection, CallInfo
from ..search import MAX_ACTIVITIES, SearchEngine, SearchRequest
from ..signing import Signer
from .activity_text import render_activity
from .live_events import LiveEvents
from .outbox_worker import OutboxWorker, Outcome
from .phone_events import CallShapes, CallsInProgress
from .store import DONE, CallRecord, CallStore, OutboxEntry, idempotency_key, marker

log = logging.getLogger(__name__)

CALL_STATES = tuple(str(s) for s in CallState)
END_STATES = ("Ended", "Missed")
POP_TRIGGERS = {"Ringing": AutoPop.ON_RINGING, "Answered": AutoPop.ON_ANSWER}
MATCHES_PER_BOOK = 5


@dataclass(frozen=True)
class CallReport:
    """One CallEvent as the phone client sent it."""

    state: str
    call: CallInfo


def other_party(call: CallInfo) -> str:
    """The number to look up: who called us, or whom we called."""
    return call.caller_number if call.direction is CallDirection.INBOUND else call.called_number


def merge(record: CallRecord, call: CallInfo, state: str) -> None:
    """Take what the event says into the stored call; empty fields keep what earlier events said."""
    record.state = state if record.state not in END_STATES or state in END_STATES else record.state
    for name in ("caller_number", "caller_name", "called_number", "called_name", "notes"):
        value = getattr(call, name)
        if value:
            setattr(record, name, value)
    if call.start_utc is not None:
        record.start_utc = call.start_utc.astimezone(UTC).isoformat()
    if call.duration_seconds:
        record.duration_seconds = call.duration_seconds


def call_of(record: CallRecord) -> CallInfo:
    return CallInfo(
        direction=CallDirection(record.direction),
        caller_number=record.caller_number,
        caller_name=record.caller_name,
        called_number=record.called_number,
        called_name=record.called_name,
        start_utc=datetime.fromisoformat(record.start_utc) if record.start_utc else None,
        duration_seconds=record.duration_seconds,
        notes=record.notes,
        call_id=record.call_id,
    )


class CallService:
    def __init__(
        self,
        store: CallStore,
        books: BookManager,
        engine: SearchEngine,
        actions: ActionService,
        worker: OutboxWorker,
        hub: EventHub,
        signer: Signer,
        deadline: Callable[[], float],
        live: LiveEvents | None = None,
    ) -> None:
        self.store = store
        self.books = books
        self.engine = engine
        self.actions = actions
        self.worker = worker
        self.hub = hub
        self.signer = signer
        self.deadline = deadline
        """The search deadline per book, as the settings stand now."""
        self.live = live or LiveEvents(books)
        self.in_progress = CallsInProgress(store, hub, CallShapes(signer, lambda: engine.region))
        """The calls in progress (Initial's `Calls`); publishes CallsChanged and CallHistoryChanged."""
        self._locks: dict[str, asyncio.Lock] = {}

    async def report(self, report: CallReport) -> dict[str, Any]:
        """Handle one CallEvent; the answer of the route."""
        call = report.call
        lock = self._locks.setdefault(call.call_id, asyncio.Lock())
        async with lock:  # events of one call one after the other (a Ringing and an Ended posted at once)
            answer = await self._report(report)
        if report.state in END_STATES and not lock.locked():
            self._locks.pop(call.call_id, None)  # the stored call (and the outbox key) keep later events right
        return answer

    async def _report(self, report: CallReport) -> dict[str, Any]:
        call, state = report.call, report.state
        record = await asyncio.to_thread(self.store.call, call.call_id)
        if record is None:
            record = CallRecord(call.call_id, state, str(call.direction))
        over = record.state in END_STATES and record.matches is not None  # stored, and already ended
        merge(record, call, state)
        full_call = call_of(record)
        if record.matches is None or (state in END_STATES and not any(m["ContactId"] for m in record.matches)):
            record.matches = await self._match(full_call)
        answer: dict[str, Any] = {"CallId": call.call_id, "State": state, "Matches": [], "Popped": "", "Logging": []}
        if state in POP_TRIGGERS and not record.popped and record.state not in END_STATES:  # late events pop nothing
            record.popped = await self._pop(record, POP_TRIGGERS[state])
        answer["Popped"] = record.popped
        await asyncio.to_thread(self.store.save_call, record)
        if not over:  # a state that comes after the call's end is news to no CRM, nor to the clients
            self._tell_live(record, full_call, state)
            await self.in_progress.reported(record)
        if state in ("Ringing", "Answered"):
            answer["Matches"] = await self._show(record)
        if state in END_STATES:
            answer["Logging"] = await self._log(record, full_call)
        return answer

    def _tell_live(self, record: CallRecord, call: CallInfo, state: str) -> None:
        """Queue this state for the books that take live call events, each with the record it matched."""
        number = other_party(call)
        key = phone.phone_key(number, self.engine.region) if number.strip() else None
        contacts: dict[str, tuple[str, str]] = {}
        for match in record.matches or []:
            if match["ContactId"] and match["AddinId"] not in contacts:
                contacts[match["AddinId"]] = (str(match["ContactId"]), str(match["DisplayText"]))
        event = CallEvent(
            call_id=call.call_id,
            state=CallState(state),
            direction=call.direction,
            time=datetime.now(UTC),
            caller_number=call.caller_number,
            caller_name=call.caller_name,
            called_number=call.called_number,
            called_name=call.called_name,
            other_number=number,
            other_number_e164=(key.e164 or "") if key is not None else "",
            started=call.start_utc.astimezone(UTC) if call.start_utc is not None else None,
            duration_seconds=call.duration_seconds,
        )
        self.live.publish(event, contacts)

    async def _match(self, call: CallInfo) -> list[dict[str, Any]]:
        """The records of the other party in every enabled book; a book that could not be searched has an
        entry with an empty ContactId and its Error (its call is looked up again when it is logged)."""
        number = other_party(call)
        if not number.strip():
            return []
        request = SearchRequest(text=number, count=MATCHES_PER_BOOK, deadline=self.deadline())
        try:
            results = await self.engine.search(request)
        except PartnerError as exc:
            log.info("call %s: the number could not be searched: %s", call.call_id, exc.message)
            return []
        matches: list[dict[str, Any]] = []
        for result in results:
            base = {"AddinId": result.book.id, "AddinName": result.book.name}
            if result.error:
                matches.append({**base, "ContactId": "", "DisplayText": "", "Error": result.error})
            matches += [{**base, "ContactId": c.id, "DisplayText": c.name} for c in result.contacts]
        return matches

    def _matches_of(self, record: CallRecord, book_id: str) -> list[dict[str, Any]]:
        return [m for m in record.matches or [] if m["AddinId"] == book_id and m["ContactId"]]

    def _unsearched(self, record: CallRecord) -> set[str]:
        return {m["AddinId"] for m in record.matches or [] if not m["ContactId"]}

    def _chosen(self, record: CallRecord, book: OpenBook) -> dict[str, Any] | None:
        """The match of `book` to pop or log: its only one, or its best when the book says Best."""
        found = self._matches_of(record, book.id)
        if not found:
            return None
        if len(found) > 1 and book.config.auto_pop_match != "Best":
            return None
        return found[0]

    async def _pop(self, record: CallRecord, trigger: AutoPop) -> str:
        for book in self.books.enabled():
            if book.config.auto_pop is not trigger or book.connector is None:
                continue
            match = self._chosen(record, book)
            if match is None:
                continue
            kind = ActionKind.OPEN
            try:
                await self.actions.do(action_id(self.signer, book.id, match["ContactId"], kind), None)
            except PartnerError as exc:
                log.warning("call %s: could not pop the record in %s: %s", record.call_id, book.id, exc.message)
                continue
            return f"{book.id}/{match['ContactId']}"
        return ""

    async def _show(self, record: CallRecord) -> list[dict[str, Any]]:
        """The matched records (with recent activities where the book shows them on calls); also published."""
        shown: list[dict[str, Any]] = []
        for book in self.books.enabled():
            found = self._matches_of(record, book.id)
            if not found or book.connector is None:
                continue
            records = []
            for match in found:
                contact = await self._contact(book, match["ContactId"])
                if contact is None:
                    continue
                activities = None
                if book.config.show_activity_on_call and Capability.SHOW_ACTIVITIES in book.capabilities:
                    activities = await self._activities(book, contact.id)
                records.append(contact_record(self.signer, book.id, contact, book.capabilities, activities=activities))
            shown.append({"AddinId": book.id, "AddinName": book.name, "Records": records})
            if book.config.show_activity_on_call:
                for item in records:
                    self.hub.publish(
                        "CallActivities",
                        {
                            "CallId": record.call_id,
                            "AddinId": book.id,
                            "UniqueId": item["UniqueId"],
                            "DisplayText": item["DisplayText"],
                            "Activities": item.get("Activities", []),
                        },
                    )
        return shown

    async def _contact(self, book: OpenBook, contact_id: str) -> Any:
        assert book.connector is not None
        try:
            async with asyncio.timeout(self.deadline()):
                return await book.connector.get(contact_id)
        except Exception as exc:  # noqa: BLE001  (add-in code: the record is left out, the call goes on)
            log.info("book %s: could not read a matched record: %s", book.id, type(exc).__name__)
            return None

    async def _activities(self, book: OpenBook, contact_id: str) -> list[Any]:
        assert book.connector is not None
        try:
            async with asyncio.timeout(self.deadline()):
                found = await book.connector.activities(contact_id, MAX_ACTIVITIES)
            return list(found)[:MAX_ACTIVITIES]
        except Exception as exc:  # noqa: BLE001  (add-in code)
            log.info("book %s: could not read activities: %s", book.id, type(exc).__name__)
            return []

    async def _log(self, record: CallRecord, call: CallInfo) -> list[dict[str, str]]:
        """One outbox entry per book that logs calls at their end and has (or may have) the record."""
        logging_: list[dict[str, str]] = []
        errors = self._unsearched(record)
        for book in self.books.enabled():
            if not book.config.create_activity_on_call_end or Capability.LOG_ACTIVITY not in book.capabilities:
                continue
            match = self._chosen(record, book)
            if match is None and book.id not in errors:
                continue
            entry = self.entry_for(book, call, match["ContactId"] if match else "", "CallEnd")
            if match is not None:
                entry.contact_name = match["DisplayText"]
            stored, _ = await self.worker.add(entry)
            logging_.append({"AddinId": book.id, "Status": stored.status, "Key": stored.key})
        return logging_

    @staticmethod
    def entry_for(book: OpenBook, call: CallInfo, contact_id: str, source: str) -> OutboxEntry:
        """The outbox entry that logs `call` in `book` (the book's templates applied, the reference marker added)."""
        key = idempotency_key(call.call_id, book.id)
        subject, body, start = render_activity(
            call,
            marker(key),
            subject_template=book.config.activity_subject,
            body_template=book.config.activity_body,
        )
        return OutboxEntry(
            key=key,
            call_id=call.call_id,
            book_id=book.id,
            contact_id=contact_id,
            number=other_party(call),
            subject=subject,
            body=body,
            direction=str(call.direction),
            start_utc=start.astimezone(UTC).isoformat(),
            duration_seconds=call.duration_seconds,
            source=source,
        )

    async def log_from_action(self, book: OpenBook, contact_id: str, call: CallInfo) -> str:
        """DoAction's log-call action, through the same outbox: a call logged at its end is not logged again."""
        entry = self.entry_for(book, call, contact_id, "DoAction")
        outcome: Outcome = await self.worker.deliver_now(entry)
        if outcome.status == DONE:
            return outcome.activity_id
        if outcome.status == "failed":
            message = outcome.message or "The call could not be logged."
            if outcome.code == Unsupported.code:  # the book cannot log calls with its settings: the client's 422
                raise Unsupported(message)
            raise AddinError(message, code=outcome.code or "log_failed")
        raise QueuedForRetry(
            f"The call could not be logged now ({outcome.message or outcome.status}); it is queued and will be "
            "logged when the address book answers again.",
        )


class QueuedForRetry(PartnerError):
    """The call is in the outbox and will be logged later (DoAction answers 502 with this Message)."""

    status = 502
    code = "queued_for_retry"


LogCall = Callable[[OpenBook, str, CallInfo], Awaitable[str]]

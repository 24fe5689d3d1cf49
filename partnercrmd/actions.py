"""What `DoAction` does: open a record (view or edit), show its activities, log a call into its history."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from .api_shapes import ActionKind
from .books import BookManager, OpenBook
from .errors import AddinError, BadRequest, NotFound, PartnerError
from .events import EventHub
from .model import Activity, CallDirection, CallInfo
from .opener import Opener, check_url
from .redact import redact
from .signing import Signer

log = logging.getLogger(__name__)

ACTION_TIMEOUT = 15.0

PageUrl = Callable[[str, str, bool], str]
"""(book id, contact id, edit) → the daemon's own record page."""


def format_party(number: str, name: str) -> str:
    return f"{number} [{name}]" if name else number


def call_subject(call: CallInfo) -> str:
    """E.g. "Incoming call: 571-441-5956 [Chris Huffman] -> 858-283-4891 [Seb Test]"."""
    kind = "Incoming" if call.direction is CallDirection.INBOUND else "Outgoing"
    caller = format_party(call.caller_number, call.caller_name)
    called = format_party(call.called_number, call.called_name)
    return f"{kind} call: {caller} -> {called}"


def format_duration(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def call_activity(call: CallInfo) -> Activity:
    start = call.start_utc or datetime.now(UTC)
    lines = [
        f"Direction: {call.direction}",
        f"Caller: {format_party(call.caller_number, call.caller_name)}",
        f"Called: {format_party(call.called_number, call.called_name)}",
        f"Start: {start.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC",
        f"Duration: {format_duration(call.duration_seconds)}",
    ]
    if call.notes:
        lines += ["", call.notes]
    return Activity(call_subject(call), "\n".join(lines), call.direction, start, call.duration_seconds)


class ActionService:
    def __init__(
        self,
        books: BookManager,
        signer: Signer,
        opener: Opener,
        hub: EventHub,
        page_url: PageUrl,
        changed: Callable[[str], None] = lambda book_id: None,
    ) -> None:
        self.changed = changed
        """Called with a book's id after an action wrote to it (drops cached answers)."""
        self.books = books
        self.signer = signer
        self.opener = opener
        self.hub = hub
        self.page_url = page_url
        self.log_call: Callable[[OpenBook, str, CallInfo], Awaitable[str]] | None = None
        """Logs a call through the activity outbox (set by the call log at start-up); None: write directly."""
        self.log_latest_call: Callable[[OpenBook, str], Awaitable[dict[str, Any]]] | None = None
        """LogActivity without call fields: logs the record's latest reported call, or gives the page to log one
        (set by the call log at start-up); None: such a request is refused."""

    def resolve(self, action_id: str) -> tuple[OpenBook, str, ActionKind]:
        payload = self.signer.verify("action", action_id, what="action id")
        try:
            kind = ActionKind(payload["k"])
            book_id, contact_id = str(payload["b"]), str(payload["c"])
        except (KeyError, ValueError):
            raise BadRequest("The action id is not one this daemon issued.", code="invalid_id") from None
        book = self.books.get(book_id)
        if book.connector is None:
            raise NotFound(book.error or "The address book is unavailable.", code="book_unavailable")
        return book, contact_id, kind

    async def do(self, action_id: str, call: CallInfo | None) -> dict[str, Any] | None:
        """Run the action; what a LogActivity without call fields did (DoAction's answer), None for any other."""
        book, contact_id, kind = self.resolve(action_id)
        try:
            async with asyncio.timeout(ACTION_TIMEOUT):
                return await self._run(book, contact_id, kind, call)
        except PartnerError as exc:
            exc.message = redact(exc.message, book.integration, book.config.settings)
            self._failed(book, call, kind, exc.message)
            raise
        except Exception as exc:
            failure = f"The address book failed: {type(exc).__name__}: {exc}"
            message = redact(failure, book.integration, book.config.settings)
            self._failed(book, call, kind, message)
            raise AddinError(message) from exc

    async def _run(
        self, book: OpenBook, contact_id: str, kind: ActionKind, call: CallInfo | None
    ) -> dict[str, Any] | None:
        assert book.connector is not None
        if kind is ActionKind.LOG_ACTIVITY:
            if call is None:  # the published client's whole request: the call is the one the phone client reported
                if self.log_latest_call is None:
                    raise BadRequest("Logging a call needs the call: Direction, CallerNumber, CalledNumber…")
                return await self.log_latest_call(book, contact_id)
            if self.log_call is not None:  # exactly once per call and book; the outbox announces it
                await self.log_call(book, contact_id, call)
                return None
            activity_id = await book.connector.log_activity(contact_id, call_activity(call))
            self.changed(book.id)
            self.hub.publish("ActivityLogged", {"CallId": call.call_id, "AddinId": book.id, "ActivityId": activity_id})
            return None
        edit = kind is ActionKind.EDIT
        url = None if kind is ActionKind.SHOW_ACTIVITIES else await book.connector.record_url(contact_id, edit)
        if url is None:
            url = self.page_url(book.id, contact_id, edit)
            if kind is ActionKind.SHOW_ACTIVITIES:
                url += "#activities"
        await self.opener(check_url(url))
        return None

    def _failed(self, book: OpenBook, call: CallInfo | None, kind: ActionKind, reason: str) -> None:
        if kind is ActionKind.LOG_ACTIVITY:
            self.hub.publish(
                "ActivityFailed", {"CallId": call.call_id if call else "", "AddinId": book.id, "Reason": reason}
            )
        log.warning("action %s on book %s failed: %s", kind, book.id, reason)

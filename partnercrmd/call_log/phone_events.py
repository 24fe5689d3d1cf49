"""The call events of the published API, from what the phone client reports with `POST CallEvent`.

- `Initial` carries `Calls`: the calls in progress (`CallsInProgress.calls`).
- `CallsChanged` `{Payload: {Calls}}` is published whenever a call starts, changes state or details, or ends.
- `CallHistoryChanged` `{CallHistory, Missed}` is published after a call ends: the recent ended calls, newest
  first, and the missed ones among them.

A call is in progress from its first event until an Ended or Missed one. A call
whose last event is older than `STALE_AFTER` is no longer listed: the phone
client lost it (crashed, or never said it ended). The calls in progress are
kept in memory and read back from the call log when the daemon starts, so a
restart in the middle of a call keeps listing it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .. import phone
from ..api_shapes import record_id
from ..events import EventHub
from ..signing import Signer
from .store import CallRecord, CallStore

END_STATES = ("Ended", "Missed")
STALE_AFTER = 12 * 3600.0
"""A call not heard of for this long is no longer in progress."""
HISTORY_SIZE = 50
"""How many ended calls `CallHistoryChanged` lists."""
STATE_NAMES = {"Resumed": "Answered"}
"""`CallState` is the state a call is in: resuming a held call puts it back to answered."""


def utc_text(stamp: str, fallback: float) -> str:
    """ISO 8601 UTC with a Z, from the stored start (or the time the call was first reported)."""
    moment = datetime.fromisoformat(stamp) if stamp else datetime.fromtimestamp(fallback, UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_text(seconds: int) -> str:
    """`HH:MM:SS`, as the published client's `CallHistoryEntry.Duration` (a text) has it."""
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


class CallShapes:
    """Call, CallContact and CallHistoryEntry objects of stored calls."""

    def __init__(self, signer: Signer, region: Callable[[], str | None]) -> None:
        self.signer = signer
        self._region = region
        """The default region as the settings stand now (numbers are shown in its national form)."""

    @property
    def region(self) -> str | None:
        return self._region()

    def contact(self, number: str, name: str, *, external: bool, unique_id: str = "") -> dict[str, Any]:
        """`CallContact`: the other party External (its matched record's UniqueId as `Id`), the user Internal."""
        shown: dict[str, Any] = {
            "Id": unique_id,
            "DialString": number,
            "DisplayTel": phone.display_number(number, self.region) if number.strip() else "",
            "DisplayName": name,
            "Type": "External" if external else "Internal",
            "InternalContactType": "" if external else "User",
        }
        key = phone.phone_key(number, self.region) if number.strip() else None
        if key is not None and key.e164:
            shown["E164"] = key.e164
        return shown

    def _parties(self, record: CallRecord) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(CallerContact, CalledContact, the other party's contact)."""
        matched = next((m for m in record.matches or [] if m.get("ContactId")), None)
        unique_id = record_id(self.signer, str(matched["AddinId"]), str(matched["ContactId"])) if matched else ""
        matched_name = str(matched["DisplayText"]) if matched else ""
        inbound = record.direction == "Inbound"
        caller = self.contact(
            record.caller_number,
            record.caller_name or (matched_name if inbound else ""),
            external=inbound,
            unique_id=unique_id if inbound else "",
        )
        called = self.contact(
            record.called_number,
            record.called_name or ("" if inbound else matched_name),
            external=not inbound,
            unique_id="" if inbound else unique_id,
        )
        return caller, called, caller if inbound else called

    def call(self, record: CallRecord) -> dict[str, Any]:
        """`Call` = {Id, UniqueId, StartTimeUtc, Direction, CallState, CallActions, Completed, Participants,
        CallerContact, CalledContact}; partnercrmd adds DurationSeconds."""
        caller, called, _ = self._parties(record)
        return {
            "Id": record.call_id,
            "UniqueId": record.call_id,
            "StartTimeUtc": utc_text(record.start_utc, record.first_seen),
            "Direction": record.direction,
            "CallState": STATE_NAMES.get(record.state, record.state),
            "CallActions": "",  # the phone client controls calls, not partnercrmd
            "Completed": record.state in END_STATES,
            "Participants": [],
            "CallerContact": caller,
            "CalledContact": called,
            "DurationSeconds": record.duration_seconds,
        }

    def history_entry(self, record: CallRecord) -> dict[str, Any]:
        """`CallHistoryEntry` = {Id, StartTimeUtc, CallState, Duration, IsAnswered, Direction, IsExternal,
        CallerContact, CalledContact, Contact, Tel, Name, Completed}."""
        caller, called, other = self._parties(record)
        return {
            "Id": record.call_id,
            "StartTimeUtc": utc_text(record.start_utc, record.first_seen),
            "CallState": record.state,
            "Duration": duration_text(record.duration_seconds),
            "IsAnswered": record.state != "Missed",
            "Direction": record.direction,
            "IsExternal": True,  # the phone client reports calls with a party outside (CRM calls)
            "CallerContact": caller,
            "CalledContact": called,
            "Contact": other,
            "Tel": other["DialString"],
            "Name": other["DisplayName"],
            "Completed": True,
        }


def ended_calls(store: CallStore) -> list[CallRecord]:
    """The recent ended calls, newest first (blocks: SQLite)."""
    return [c for c in store.recent_calls(HISTORY_SIZE * 2) if c.state in END_STATES][:HISTORY_SIZE]


class CallsInProgress:
    """The calls the phone client reported and has not ended; publishes CallsChanged and CallHistoryChanged."""

    def __init__(self, store: CallStore, hub: EventHub, shapes: CallShapes) -> None:
        self.store = store
        self.hub = hub
        self.shapes = shapes
        self._calls: dict[str, CallRecord] = {}
        self._shown: dict[str, dict[str, Any]] = {}
        """The `Call` object last published for each call in progress (an event that changes nothing is not news)."""

    async def load(self) -> None:
        """Read back the calls in progress when the daemon starts."""
        recent = await asyncio.to_thread(self.store.recent_calls, 500)
        cutoff = time.time() - STALE_AFTER
        for record in recent:
            if record.state not in END_STATES and record.updated >= cutoff:
                self._calls[record.call_id] = record
                self._shown[record.call_id] = self.shapes.call(record)

    def calls(self) -> list[dict[str, Any]]:
        """`Calls`: every call in progress, oldest first."""
        cutoff = time.time() - STALE_AFTER
        for call_id in [c for c, r in self._calls.items() if r.updated < cutoff]:
            self._calls.pop(call_id, None)
            self._shown.pop(call_id, None)
        return [self._shown[c] for c in sorted(self._calls, key=lambda c: self._calls[c].first_seen)]

    async def reported(self, record: CallRecord) -> None:
        """A CallEvent was stored for `record` (not one arriving after the call's end)."""
        shown = self.shapes.call(record)
        if record.state in END_STATES:
            self._shown.pop(record.call_id, None)
            if self._calls.pop(record.call_id, None) is not None:  # it was in progress: it is no longer
                self.hub.publish("CallsChanged", {"Payload": {"Calls": self.calls()}})
            history = await asyncio.to_thread(ended_calls, self.store)
            entries = [self.shapes.history_entry(c) for c in history]
            self.hub.publish(
                "CallHistoryChanged",
                {"CallHistory": entries, "Missed": [e for e in entries if not e["IsAnswered"]]},
            )
            return
        if self._shown.get(record.call_id) == shown:
            return
        self._calls[record.call_id] = record
        self._shown[record.call_id] = shown
        self.hub.publish("CallsChanged", {"Payload": {"Calls": self.calls()}})

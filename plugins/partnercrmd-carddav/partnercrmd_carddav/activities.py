"""Call activities as CardDAV can keep them: a line in the contact's NOTE, or a VJOURNAL in a calendar.

A NOTE line reads, for people and for this add-in alike::

    [Call 2026-11-25 14:03:07 UTC, inbound, 2:05] Incoming call: +44 20 7946 0958 -> 201 [Reception] — Wants a quote

A journal entry is a VJOURNAL (RFC 5545) with the call's subject as SUMMARY,
its details as DESCRIPTION, its start as DTSTART, and the contact it belongs
to in X-PARTNERCRMD-CONTACT, so calendar apps that show journals (Thunderbird,
jtx Board…) list the calls too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from partnercrmd.sdk import Activity, CallDirection

from .content_lines import Component, escape_text

CONTACT_PROPERTY = "X-PARTNERCRMD-CONTACT"
DIRECTION_PROPERTY = "X-PARTNERCRMD-DIRECTION"
DURATION_PROPERTY = "X-PARTNERCRMD-DURATION"
CATEGORY = "Phone call"
NOTES_SEPARATOR = " — "
MAX_LINE_NOTES = 1000
"""Call notes longer than this are cut in the NOTE line (the journal keeps them whole)."""

_LINE = re.compile(
    r"^\[Call (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC, (inbound|outbound), (\d+):(\d\d)(?::(\d\d))?\] (.*)$"
)
_ICAL_TIME = "%Y%m%dT%H%M%SZ"


# --- NOTE lines ---------------------------------------------------------------------------------------


def _duration_text(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def call_notes(activity: Activity) -> str:
    """What the user typed about the call: the body after the generated header lines (see actions.call_activity)."""
    _, blank, notes = activity.body.partition("\n\n")
    return notes.strip() if blank else ""


def note_line(activity: Activity) -> str:
    """The NOTE line recording one call."""
    start = activity.start_utc.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    direction = "inbound" if activity.direction is CallDirection.INBOUND else "outbound"
    head = f"[Call {start} UTC, {direction}, {_duration_text(activity.duration_seconds)}] {_one_line(activity.subject)}"
    notes = _one_line(call_notes(activity))[:MAX_LINE_NOTES]
    return head + (NOTES_SEPARATOR + notes if notes else "")


def is_call_line(line: str) -> bool:
    return _LINE.match(line.strip()) is not None


def parse_note_line(line: str) -> Activity | None:
    """The call a NOTE line records, or None for a line of the user's own notes."""
    match = _LINE.match(line.strip())
    if match is None:
        return None
    start, direction, first, second, third = match.groups()[:5]
    rest = match.group(6)
    hours, minutes, secs = (0, first, second) if third is None else (first, second, third)
    seconds = int(hours) * 3600 + int(minutes) * 60 + int(secs)
    subject, _, notes = rest.partition(NOTES_SEPARATOR)
    return Activity(
        subject=subject.strip(),
        body=notes.strip(),
        direction=CallDirection.INBOUND if direction == "inbound" else CallDirection.OUTBOUND,
        start_utc=datetime.strptime(start, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC),
        duration_seconds=seconds,
        id="note:" + hashlib.sha256(line.strip().encode("utf-8")).hexdigest()[:16],
    )


def split_notes(note: str) -> tuple[str, list[str]]:
    """A NOTE's text as (the user's own notes, the call lines), each in its order."""
    own: list[str] = []
    calls: list[str] = []
    for line in note.split("\n"):
        (calls if is_call_line(line) else own).append(line)
    return "\n".join(own).strip("\n"), calls


def join_notes(own: str, calls: Iterable[str]) -> str:
    """The NOTE text holding the user's notes and then the call lines."""
    lines = [own.strip("\n")] if own.strip() else []
    lines += list(calls)
    return "\n".join(lines)


def newest_first(activities: Iterable[Activity], limit: int) -> list[Activity]:
    return sorted(activities, key=lambda a: a.start_utc, reverse=True)[: max(limit, 0)]


# --- VJOURNAL entries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Journal:
    uid: str
    text: str
    """The whole VCALENDAR object to PUT."""


def journal_entry(uid: str, contact_id: str, contact_name: str, activity: Activity, prodid: str) -> Journal:
    """A VCALENDAR holding one VJOURNAL for a call with the contact."""
    now = datetime.now(UTC).strftime(_ICAL_TIME)
    start = activity.start_utc.astimezone(UTC).strftime(_ICAL_TIME)
    summary = activity.subject + (f" ({contact_name})" if contact_name and contact_name not in activity.subject else "")
    journal = [
        "BEGIN:VJOURNAL",
        f"UID:{uid}",
        f"DTSTAMP:{now}",
        f"DTSTART:{start}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(activity.body)}",
        f"CATEGORIES:{escape_text(CATEGORY)}",
        "STATUS:FINAL",
        f"{CONTACT_PROPERTY}:{escape_text(contact_id)}",
        f"{DIRECTION_PROPERTY}:{activity.direction}",
        f"{DURATION_PROPERTY}:{max(activity.duration_seconds, 0)}",
        "END:VJOURNAL",
    ]
    return Journal(uid, Component("VCALENDAR", ["VERSION:2.0", f"PRODID:{prodid}", *journal]).serialize())


def parse_journal(text: str) -> Activity | None:
    """The call a VJOURNAL records, or None when the calendar object holds no usable journal."""
    journal = Component.find(text, "VJOURNAL")
    if journal is None:
        return None
    start = _ical_time(journal.value("DTSTART"))
    if start is None:
        return None
    direction = journal.value(DIRECTION_PROPERTY).strip().lower()
    duration = journal.value(DURATION_PROPERTY).strip()
    return Activity(
        subject=journal.value("SUMMARY").strip(),
        body=journal.value("DESCRIPTION"),
        direction=CallDirection.OUTBOUND if direction == "outbound" else CallDirection.INBOUND,
        start_utc=start,
        duration_seconds=int(duration) if duration.isdigit() else 0,
        id=journal.value("UID").strip(),
    )


def journal_contact(text: str) -> str:
    """The contact id a journal belongs to ("" when none)."""
    journal = Component.find(text, "VJOURNAL")
    return journal.value(CONTACT_PROPERTY).strip() if journal is not None else ""


def _ical_time(value: str) -> datetime | None:
    """DTSTART as UTC: `20261125T140307Z`, a floating `20261125T140307` (taken as UTC) or a date."""
    value = value.strip()
    for pattern in (_ICAL_TIME, "%Y%m%dT%H%M%S", "%Y%m%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None

"""Calls the daemon's outbox writes as Tryton notes are listed back as calls, whatever the book's templates.

The outbox finds an earlier write by reading the party's call notes back before it retries
(docs/call-events.md); a note this add-in did not list as a call could be written twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from partnercrmd_tryton.mapping import note_message, note_to_activity

from partnercrmd.sdk import Activity, CallDirection, CallInfo
from partnercrmd.testing import render_activity


def test_a_custom_template_note_is_still_listed_as_a_call() -> None:
    call = CallInfo(CallDirection.INBOUND, caller_number="555", start_utc=datetime(2026, 11, 25, tzinfo=UTC))
    subject, body, start = render_activity(call, "pcrmd-abc", subject_template="Phone: $caller", body_template="-")
    note = {"id": 7, "message": note_message(Activity(subject, body, CallDirection.INBOUND, start))}
    listed = note_to_activity(note)
    assert listed is not None and "pcrmd-abc" in listed.body


def test_the_default_note_keeps_its_start_and_duration() -> None:
    call = CallInfo(
        CallDirection.OUTBOUND,
        called_number="555",
        start_utc=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        duration_seconds=95,
    )
    subject, body, start = render_activity(call, "pcrmd-def")
    listed = note_to_activity(
        {"id": 8, "message": note_message(Activity(subject, body, CallDirection.OUTBOUND, start))}
    )
    assert listed is not None
    assert (listed.direction, listed.start_utc, listed.duration_seconds) == (CallDirection.OUTBOUND, start, 95)
    assert "pcrmd-def" in listed.body

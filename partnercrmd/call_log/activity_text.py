"""Subject and body of a call activity, from the address book's templates (or the default ones).

Templates use ``$name`` placeholders (string.Template; ``$$`` is a dollar):
$kind (Incoming/Outgoing), $direction (Inbound/Outbound), $caller, $called
(number [name]), $caller_number, $caller_name, $called_number, $called_name,
$start (``YYYY-MM-DD HH:MM:SS UTC``), $duration (m:ss or h:mm:ss), $notes.
Unknown placeholders are left as they are. The body always gets one more line,
``Call reference: pcrmd-…``, before the notes (first, when the template places
the notes itself, so a CRM's length limit never cuts it off): it lets
partnercrmd recognise the activity in the CRM and never write it twice. It also always keeps a
``Direction: Inbound|Outbound`` line (added when a template has none): some
add-ins (Tryton) tell call notes from other notes by it, and a note they do
not list as a call could not be recognised.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from string import Template

from ..actions import format_duration, format_party
from ..model import CallDirection, CallInfo

DEFAULT_SUBJECT = "$kind call: $caller -> $called"
DEFAULT_BODY = "Direction: $direction\nCaller: $caller\nCalled: $called\nStart: $start\nDuration: $duration"
REFERENCE_LABEL = "Call reference"
MAX_SUBJECT = 255
DIRECTION_LINE = re.compile(r"^Direction:\s*(Inbound|Outbound)\s*$", re.MULTILINE)


def template_values(call: CallInfo, start: datetime) -> dict[str, str]:
    return {
        "kind": "Incoming" if call.direction is CallDirection.INBOUND else "Outgoing",
        "direction": str(call.direction),
        "caller": format_party(call.caller_number, call.caller_name),
        "called": format_party(call.called_number, call.called_name),
        "caller_number": call.caller_number,
        "caller_name": call.caller_name,
        "called_number": call.called_number,
        "called_name": call.called_name,
        "start": f"{start.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
        "duration": format_duration(call.duration_seconds),
        "notes": call.notes,
    }


def render_activity(
    call: CallInfo, reference: str, *, subject_template: str = "", body_template: str = ""
) -> tuple[str, str, datetime]:
    """(subject, body, start) of the activity for `call`, the reference line included in the body."""
    start = call.start_utc or datetime.now(UTC)
    values = template_values(call, start)
    subject = Template(subject_template or DEFAULT_SUBJECT).safe_substitute(values).strip()
    if not subject:
        subject = Template(DEFAULT_SUBJECT).safe_substitute(values)
    template = body_template or DEFAULT_BODY
    body = Template(template).safe_substitute(values).rstrip()
    marks = ([] if DIRECTION_LINE.search(body) else [f"Direction: {call.direction}"]) + [
        f"{REFERENCE_LABEL}: {reference}"
    ]
    if "$notes" in template:  # long notes may be cut off by a CRM's length limit: the marks go first
        return subject[:MAX_SUBJECT], "\n".join([*marks, body]), start
    body = "\n".join([body, *marks])
    if call.notes:
        body += f"\n\n{call.notes}"
    return subject[:MAX_SUBJECT], body, start

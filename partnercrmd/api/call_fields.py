"""The fields that describe a call, shared by `DoAction` (log a call) and `CallEvent`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..errors import BadRequest
from ..model import CallDirection, CallInfo
from .params import Param

DIRECTIONS = ("Inbound", "Outbound")
CALL_DETAIL_PARAMS = (
    Param("CallerNumber", max_length=64),
    Param("CallerName"),
    Param("CalledNumber", max_length=64),
    Param("CalledName"),
    Param("StartTimeUtc", max_length=40, description="ISO 8601, e.g. 2026-11-25T14:03:00Z"),
    Param("DurationSeconds", "integer", minimum=0, maximum=7 * 24 * 3600, default=0),
    Param("Notes", max_length=10_000),
)
"""Numbers, names, start, duration and notes: everything of a call but its id, direction and state."""


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("StartTimeUtc must be an ISO 8601 time such as 2026-11-25T14:03:00Z.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def call_from_fields(fields: dict[str, Any], call_id: str) -> CallInfo:
    """The call the checked fields describe (`Direction` absent: inbound)."""
    outbound = (fields["Direction"] or "").lower() == "outbound"
    return CallInfo(
        direction=CallDirection.OUTBOUND if outbound else CallDirection.INBOUND,
        caller_number=fields["CallerNumber"] or "",
        caller_name=fields["CallerName"] or "",
        called_number=fields["CalledNumber"] or "",
        called_name=fields["CalledName"] or "",
        start_utc=parse_time(fields["StartTimeUtc"]) if fields["StartTimeUtc"] else None,
        duration_seconds=fields["DurationSeconds"] or 0,
        notes=fields["Notes"] or "",
        call_id=call_id,
    )

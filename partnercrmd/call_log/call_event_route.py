"""`POST /api/v1/CallEvent`: the handler and its fields (the Route itself is in api/routes.py's table)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .. import appkeys
from ..api.params import Param
from ..errors import BadRequest
from ..licensing.service import require_licence
from ..model import CallDirection, CallInfo
from .calls import CALL_STATES, CallReport

CALL_EVENT_PARAMS = (
    Param("CallId", required=True, max_length=128, description="The phone client's id of the call."),
    Param("State", required=True, enum=CALL_STATES),
    Param("Direction", required=True, enum=("Inbound", "Outbound")),
    Param("CallerNumber", max_length=64),
    Param("CallerName"),
    Param("CalledNumber", max_length=64),
    Param("CalledName"),
    Param("StartTimeUtc", max_length=40, description="ISO 8601, e.g. 2026-11-25T14:03:00Z"),
    Param("DurationSeconds", "integer", minimum=0, maximum=7 * 24 * 3600, default=0),
    Param("Notes", max_length=10_000),
)


def _time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("StartTimeUtc must be an ISO 8601 time such as 2026-11-25T14:03:00Z.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def call_report(fields: dict[str, Any]) -> CallReport:
    call_id = fields["CallId"].strip()
    if not call_id:
        raise BadRequest("CallId is empty.", code="missing_field")
    state = next(s for s in CALL_STATES if s.lower() == fields["State"].lower())
    direction = CallDirection.OUTBOUND if fields["Direction"].lower() == "outbound" else CallDirection.INBOUND
    call = CallInfo(
        direction=direction,
        caller_number=fields["CallerNumber"] or "",
        caller_name=fields["CallerName"] or "",
        called_number=fields["CalledNumber"] or "",
        called_name=fields["CalledName"] or "",
        start_utc=_time(fields["StartTimeUtc"]) if fields["StartTimeUtc"] else None,
        duration_seconds=fields["DurationSeconds"] or 0,
        notes=fields["Notes"] or "",
        call_id=call_id,
    )
    return CallReport(state, call)


async def call_event(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    report = call_report(fields)
    await require_licence(request)
    return web.json_response(await request.app[appkeys.CALLS].report(report))

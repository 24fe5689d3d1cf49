"""`POST /api/v1/CallEvent`: the handler and its fields (the Route itself is in api/routes.py's table)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import appkeys
from ..api.call_fields import CALL_DETAIL_PARAMS, DIRECTIONS, call_from_fields
from ..api.params import Param
from ..errors import BadRequest
from ..licensing.requests import require_licence
from .calls import CALL_STATES, CallReport

CALL_EVENT_PARAMS = (
    Param("CallId", required=True, max_length=128, description="The phone client's id of the call."),
    Param("State", required=True, enum=CALL_STATES),
    Param("Direction", required=True, enum=DIRECTIONS),
    *CALL_DETAIL_PARAMS,
)


def call_report(fields: dict[str, Any]) -> CallReport:
    call_id = fields["CallId"].strip()
    if not call_id:
        raise BadRequest("CallId is empty.", code="missing_field")
    state = next(s for s in CALL_STATES if s.lower() == fields["State"].lower())
    return CallReport(state, call_from_fields(fields, call_id))


async def call_event(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    report = call_report(fields)
    await require_licence(request)
    return web.json_response(await request.app[appkeys.CALLS].report(report))

"""The call history window (`ShowWindow callhistory`): the calls reported, what matched, what was logged where,
and the outbox entries still waiting or failed, each with a retry button (anti-forgery token of the UI session)."""

from __future__ import annotations

import asyncio
import hmac
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .. import appkeys
from ..actions import format_duration
from ..api.body import read_form
from ..errors import BadRequest, Forbidden
from ..page_templates import render_template
from ..pages import SECURITY_HEADERS
from ..ui.common import NAV
from .store import FAILED, PENDING, SENDING, CallStore

MAX_CALLS = 200
KEY_PATTERN = re.compile(r"^(all|x?[0-9a-f]{6,25})$")


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _history(store: CallStore) -> dict[str, Any]:
    calls = store.recent_calls(MAX_CALLS)
    waiting = store.entries((PENDING, SENDING, FAILED))
    return {
        "calls": [
            {
                "call": call,
                "start": call.start_utc[:19].replace("T", " ") if call.start_utc else _when(call.first_seen),
                "duration": format_duration(call.duration_seconds),
                "entries": store.entries_of_call(call.call_id),
            }
            for call in calls
        ],
        "waiting": [{"entry": e, "next": _when(e.next_attempt)} for e in waiting],
    }


async def call_history_page(request: web.Request) -> web.StreamResponse:
    app = request.app
    csrf = app[appkeys.UI].csrf(request)
    context = await asyncio.to_thread(_history, app[appkeys.CALLS].store)
    retried = request.query.get("retried")
    context |= {
        "csrf": csrf,
        "product": app[appkeys.CONFIG].branding.product_name,
        "book_names": {b.id: b.name for b in app[appkeys.BOOKS].books()},
        "retried": int(retried) if retried and retried.isdigit() else None,
        "nav": NAV,
    }
    response = render_template("callhistory.html", request, context)
    response.headers.update(SECURITY_HEADERS)
    return response


async def call_history_retry(request: web.Request) -> web.StreamResponse:
    """Try a waiting or failed entry (or all of them) again now."""
    app = request.app
    form = await read_form(request)
    if not hmac.compare_digest(str(form.get("csrf", "")), app[appkeys.UI].csrf(request)):
        raise Forbidden("This form has expired; reload the page and try again.", code="bad_csrf")
    key = str(form.get("key", ""))
    if not KEY_PATTERN.match(key):
        raise BadRequest("Choose an entry to retry.", code="invalid_field")
    store = app[appkeys.CALLS].store
    count = await asyncio.to_thread(store.retry, None if key == "all" else [key])
    app[appkeys.OUTBOX].wake()
    raise web.HTTPSeeOther(f"/ui/callhistory?retried={count}")


def add_call_history_routes(app: web.Application) -> None:
    app.router.add_get("/ui/callhistory", call_history_page)
    app.router.add_post("/ui/callhistory/retry", call_history_retry)

"""The event WebSocket `/api/v1/events/{ApplicationId}`: `Initial` on connect, then the hub's events.

Host and Origin are checked by the security middleware before the upgrade
(Cross-Site WebSocket Hijacking), and the handler asks the same origin check
again before it upgrades: a page of an allowed web origin may connect, any
other foreign page gets 403. The ApplicationId in the path must be approved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .. import appkeys
from ..errors import Unauthorized
from ..events import Subscriber
from .middleware import check_origin, local_port
from .version_info import version_object

log = logging.getLogger(__name__)

MAX_CLIENT_MESSAGE = 4096


async def _send_events(ws: web.WebSocketResponse, subscriber: Subscriber) -> None:
    while True:
        event = await subscriber.queue.get()
        if event is None:
            code = WSCloseCode.TRY_AGAIN_LATER if subscriber.overflowed else WSCloseCode.GOING_AWAY
            await ws.close(code=code, message=b"too many unread events" if subscriber.overflowed else b"closing")
            return
        await ws.send_json(event)


async def initial_event(app: web.Application, app_id: str) -> dict[str, Any]:
    """`Initial`: the server's time, the calls in progress, the Version object (as `GET Version` answers the
    application's registered user) and partnercrmd's count of address books."""
    registered = app[appkeys.APPS].apps.get(app_id)
    return {
        "EventType": "Initial",
        "Payload": {
            "ServerTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Calls": app[appkeys.CALLS].in_progress.calls(),
            "Version": await version_object(app, registered.user_id if registered is not None else ""),
            "AddressBooks": len(app[appkeys.BOOKS].books()),
        },
    }


async def events_handler(request: web.Request) -> web.StreamResponse:
    app = request.app
    app_id = request.match_info["app_id"]
    check_origin(request, local_port(request))  # the middleware's one decision, asked before any upgrade
    if not app[appkeys.APPS].is_approved(app_id):
        raise Unauthorized("This application is not registered or not approved.", code="not_approved")
    ws = web.WebSocketResponse(heartbeat=app[appkeys.CONFIG].heartbeat, max_msg_size=MAX_CLIENT_MESSAGE)
    await ws.prepare(request)
    app[appkeys.WEBSOCKETS].add(ws)
    hub = app[appkeys.HUB]
    subscriber = hub.subscribe(app_id)
    await ws.send_json(await initial_event(app, app_id))
    sender = asyncio.create_task(_send_events(ws, subscriber))
    try:
        async for message in ws:  # clients send nothing we act on; reading keeps heartbeats and close working
            if message.type == WSMsgType.ERROR:
                break
    finally:
        hub.unsubscribe(subscriber)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
    return ws

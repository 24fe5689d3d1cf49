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

from aiohttp import WSCloseCode, WSMsgType, web

from .. import __version__, appkeys
from ..errors import Unauthorized
from ..events import Subscriber
from .middleware import check_origin, local_port

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
    await ws.send_json(
        {
            "EventType": "Initial",
            "Payload": {
                "ServerTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Version": __version__,
                "AddressBooks": len(app[appkeys.BOOKS].books()),
            },
        }
    )
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

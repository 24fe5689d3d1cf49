"""Call logging's life with the daemon: opened after the services, closed at shutdown (an aiohttp cleanup context)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from .. import appkeys
from .calls import CallService
from .live_events import LiveEventPolicy, LiveEvents
from .log_call_page import LatestCallLogger
from .outbox_worker import OutboxPolicy, OutboxWorker
from .store import DATABASE_NAME, CallStore


async def call_logging(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: open the call log, start the outbox worker; route DoAction's log-call through it."""
    config = app[appkeys.CONFIG]
    store = await asyncio.to_thread(CallStore, config.paths.data_dir / DATABASE_NAME)
    engine = app[appkeys.SEARCH]
    policy = app[appkeys.OUTBOX_POLICY] if appkeys.OUTBOX_POLICY in app else OutboxPolicy()
    worker = OutboxWorker(store, app[appkeys.BOOKS], engine, app[appkeys.HUB], policy, written=engine.cache.invalidate)
    live_policy = app[appkeys.LIVE_EVENT_POLICY] if appkeys.LIVE_EVENT_POLICY in app else LiveEventPolicy()
    live = LiveEvents(app[appkeys.BOOKS], live_policy)
    service = CallService(
        store,
        app[appkeys.BOOKS],
        engine,
        app[appkeys.ACTIONS],
        worker,
        app[appkeys.HUB],
        app[appkeys.SIGNER],
        lambda: config.search_deadline,
        live,
    )
    app[appkeys.OUTBOX] = worker
    app[appkeys.CALLS] = service
    app[appkeys.ACTIONS].log_call = service.log_from_action
    app[appkeys.ACTIONS].log_latest_call = LatestCallLogger(app, service, config.opener)
    await service.in_progress.load()
    await worker.start()
    yield
    await live.close()
    await worker.close()
    with contextlib.suppress(Exception):
        await asyncio.to_thread(store.close)

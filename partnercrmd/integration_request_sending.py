"""Sending requests for a new integration to the partner's endpoint, and trying the unsent ones again.

The request form (ui/integration_requests.py) sends at once; `retry_unsent`, a cleanup context of the daemon,
tries requests that wait or failed (the endpoint was down, the computer offline) again a little after the
start and then every `RETRY_INTERVAL`, so a request kept on this computer is sent as soon as it can be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from . import __version__, appkeys
from .integration_requests import (
    FAILED,
    SENT,
    URL,
    WAITING,
    IntegrationRequest,
    RequestStore,
    failed_changes,
    request_json,
    sent_changes,
)

log = logging.getLogger(__name__)

SEND_TIMEOUT = 10.0
"""Seconds the partner's endpoint has to answer a request."""
RETRY_DELAY = 5.0
"""Seconds after the daemon starts before requests not sent yet are tried again (the start itself comes first)."""
RETRY_INTERVAL = 30 * 60.0
"""Seconds between later tries of requests not sent yet."""


def store_of(app: web.Application) -> RequestStore:
    """The running daemon's requests file (in its data directory)."""
    return RequestStore.in_dir(app[appkeys.CONFIG].paths.data_dir)


async def send(app: web.Application, entry: IntegrationRequest) -> IntegrationRequest:
    """POST `entry` as JSON to the branding's `url`; the request as stored afterwards (sent, or failed and why)."""
    branding = app[appkeys.CONFIG].branding
    body = request_json(entry, branding.product_name, __version__)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT), trust_env=False) as session,
            session.post(branding.integration_requests.address, json=body, allow_redirects=False) as response,
        ):
            if 200 <= response.status < 300:
                changes = sent_changes(entry)
            else:
                changes = failed_changes(entry, f"{branding.vendor} answered HTTP {response.status}.")
    except (aiohttp.ClientError, TimeoutError) as exc:
        reason = f"no answer within {SEND_TIMEOUT:g} s" if isinstance(exc, TimeoutError) else type(exc).__name__
        changes = failed_changes(entry, f"{branding.vendor} could not be reached ({reason}).")
    updated = await asyncio.to_thread(store_of(app).update, entry.id, **changes)
    return updated or entry


async def send_unsent(app: web.Application) -> int:
    """Try every request that waits or failed, when requests go to a URL; how many were sent."""
    if app[appkeys.CONFIG].branding.integration_requests.kind != URL:
        return 0
    unsent = [r for r in await asyncio.to_thread(store_of(app).all) if r.state in (WAITING, FAILED)]
    results = [await send(app, entry) for entry in reversed(unsent)]  # oldest first
    return sum(1 for r in results if r.state == SENT)


async def retry_unsent(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: requests kept because the partner's endpoint could not be reached are sent later, on their
    own: a little after the start, then every RETRY_INTERVAL; stopped at shutdown."""

    async def keep_trying() -> None:
        await asyncio.sleep(RETRY_DELAY)
        while True:
            try:
                sent = await send_unsent(app)
                if sent:
                    log.info("integration requests: %d sent that had waited", sent)
            except Exception:
                log.exception("integration requests: trying the unsent ones failed")
            await asyncio.sleep(RETRY_INTERVAL)

    task = asyncio.create_task(keep_trying(), name="integration-requests-retry")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

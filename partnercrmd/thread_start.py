"""Starting and stopping a desktop part whose start and stop block (a keyboard listener, a tray icon) in a worker
thread, such that cancelling the caller (the daemon closes) leaves nothing running behind it.

A worker thread cannot be cancelled: a start goes on after its caller was cancelled and would leave behind what it
started, a stop would be abandoned half-way. What they leave are threads holding X display connections, which fail
loudly once the display has gone (and outlive the daemon they belong to).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def start_in_thread(start: Callable[[], T], stop: Callable[[T], None]) -> T:
    """`start()` in a worker thread; what it started. If the caller is cancelled meanwhile, the start is awaited
    and undone with `stop` (also in a thread) before the cancellation goes on."""
    starting = asyncio.ensure_future(asyncio.to_thread(start))
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):  # a start that failed left nothing to stop
            await stop_in_thread(stop, await starting)
        raise


async def stop_in_thread(stop: Callable[[T], None], started: T) -> None:
    """`stop(started)` in a worker thread, finished even if the caller is cancelled meanwhile."""
    stopping = asyncio.ensure_future(asyncio.to_thread(stop, started))
    try:
        await asyncio.shield(stopping)
    except asyncio.CancelledError:
        await stopping
        raise

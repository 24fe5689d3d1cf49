"""The real daemon (`run_daemon`) in the test's own event loop, for tests that move its clocks or limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from partnercrmd.config import DaemonConfig
from partnercrmd.daemon import run_daemon


@asynccontextmanager
async def daemon_in_this_loop(config: DaemonConfig) -> AsyncIterator[None]:
    """Run the daemon with `config` while the block runs; the block starts once it serves (its discovery file is
    written) and the daemon has stopped cleanly when the block ends. A daemon that ends early fails the test."""
    stop = asyncio.Event()
    serving = asyncio.create_task(run_daemon(config, stop))
    try:
        while not config.paths.discovery_file.exists():
            assert not serving.done(), serving
            await asyncio.sleep(0.02)
        yield
    finally:
        stop.set()
        await serving

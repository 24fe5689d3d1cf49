"""Desktop dialling's life with the daemon: the clipboard monitor, the screen reader and the hotkeys run while it
runs (aiohttp cleanup contexts), and what the pages show of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from .. import appkeys
from ..platform.notifications import asker
from ..platform.screen import display_problem
from .capture_box import CaptureBox
from .clipboard import ClipboardMonitor, ClipboardState, ClipboardStatus
from .detect import FoundNumber
from .focus_dialling import FocusDialling
from .hotkeys import DesktopHotkeys
from .offers_on_screen import OffersOnScreen, listen
from .screen import ScreenReader
from .service import DialSource

log = logging.getLogger(__name__)


def clipboard_status(app: web.Application) -> ClipboardStatus:
    """What the configuration window shows: off, watching, or why the clipboard cannot be read."""
    monitor = app.get(appkeys.CLIPBOARD_MONITOR)
    if monitor is None:
        return ClipboardStatus(ClipboardState.OFF, "The daemon has not started the clipboard monitor.", "")
    return monitor.status


async def clipboard_monitor(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: run the clipboard monitor while the daemon runs (it idles while the setting is off)."""
    config = app[appkeys.CONFIG]
    dial = app[appkeys.DIAL]
    loop = asyncio.get_running_loop()

    def offer(numbers: list[FoundNumber]) -> None:
        if not config.clipboard_dialling:  # switched off since the read
            return
        try:
            dial.offer(numbers, DialSource.CLIPBOARD)
        except Exception as exc:  # noqa: BLE001  (one bad copy must not stop clipboard dialling)
            log.warning("could not offer the numbers of a clipboard change (%s)", type(exc).__name__)

    def deliver(numbers: list[FoundNumber]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing: the change is dropped
            loop.call_soon_threadsafe(offer, numbers)

    monitor = ClipboardMonitor(lambda: config.clipboard_dialling, lambda: dial.rules().region, deliver)
    app[appkeys.CLIPBOARD_MONITOR] = monitor
    await asyncio.to_thread(monitor.start)
    try:
        yield
    finally:
        await asyncio.to_thread(monitor.stop)


async def offers_on_screen(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: draw each dial offer as a desktop notification with Dial buttons while the daemon runs."""
    config = app[appkeys.CONFIG]
    product = config.branding.product_name
    offers = OffersOnScreen(config, app[appkeys.DIAL], asker(product), product)
    stop_listening = listen(app[appkeys.DIAL], offers)
    try:
        yield
    finally:
        stop_listening()
        await offers.close()


async def desktop_dialling(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the screen reader (POST ScreenRead, the Ctrl+Shift hold), focus dialling and the hotkeys."""
    config = app[appkeys.CONFIG]
    dial = app[appkeys.DIAL]
    reader = ScreenReader(lambda: dial.rules().region)
    focus = FocusDialling(config, dial)
    hotkeys = DesktopHotkeys(config, dial, reader, focus=focus, capture_box=CaptureBox(config, dial))
    app[appkeys.SCREEN_READER] = reader
    app[appkeys.FOCUS_DIALLING] = focus
    app[appkeys.DESKTOP_HOTKEYS] = hotkeys
    problem = display_problem()
    if problem and not hotkeys.wanted:
        log.info("the desktop hotkeys and screen reads are unavailable here: %s", problem)
    tasks = [asyncio.create_task(hotkeys.run()), asyncio.create_task(focus.run())]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await focus.stop()
        await hotkeys.stop()
        await reader.close()

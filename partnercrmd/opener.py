"""Opens records and windows in the user's default browser (replaced in tests)."""

from __future__ import annotations

import asyncio
import logging
import webbrowser
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from .errors import AddinError

log = logging.getLogger(__name__)

Opener = Callable[[str], Awaitable[None]]


def check_url(url: str) -> str:
    """Only web addresses are opened: an add-in cannot make us run `file:` or `javascript:` URLs."""
    if urlsplit(url).scheme.lower() not in {"http", "https"}:
        raise AddinError(f"The address book gave an address that cannot be opened ({url[:60]!r}).", code="invalid_data")
    return url


async def open_in_browser(url: str) -> None:
    """The default opener: the system's web browser, called off the event loop."""
    opened = await asyncio.to_thread(webbrowser.open, check_url(url), 2)
    if not opened:
        log.warning("no web browser could open a page; is a desktop session running?")

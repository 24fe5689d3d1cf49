"""Opens records and windows in the user's default browser (replaced in tests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from .errors import AddinError, PartnerError
from .web_browser import open_page

log = logging.getLogger(__name__)

Opener = Callable[[str], Awaitable[bool | None]]
"""Opens a web address; False when no browser could be opened, True or None (cannot tell) otherwise."""


class NoBrowser(PartnerError):
    """No web browser could be opened, and the caller cannot show the address itself."""

    status = 503
    code = "no_browser"


def check_url(url: str) -> str:
    """Only web addresses are opened: an add-in cannot make us run `file:` or `javascript:` URLs."""
    if urlsplit(url).scheme.lower() not in {"http", "https"}:
        raise AddinError(f"The address book gave an address that cannot be opened ({url[:60]!r}).", code="invalid_data")
    return url


async def open_in_browser(url: str) -> bool:
    """The default opener: the user's graphical web browser (web_browser.py), called off the event loop; whether one
    was opened."""
    opened = await asyncio.to_thread(open_page, check_url(url))
    if not opened:
        log.warning("no web browser could open a page; is a desktop session running?")
    return bool(opened)

"""The book's local phone index, kept fresh from BottleCRM's contact list.

BottleCRM's `GET /api/contacts/?phone=` compares the text as typed: "02079460958" does not find
"(0)20-7946-0958". So number searches are answered from a `PhoneIndex` (contact id, number) in
the book's data directory, which matches numbers the way the host does. It is filled from a full,
paged read of the contact list when it is empty or older than its refresh interval (in the
background: searches meanwhile use the index as it is), and updated whenever this add-in
creates, changes or reads a contact.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from partnercrmd.sdk import PartnerError, PhoneIndex, index_file

from .client import api_root

log = logging.getLogger(__name__)

Entries = Sequence[tuple[str, Sequence[str]]]
Fetch = Callable[[], Awaitable[Entries]]

RETRY_AFTER = 30.0
"""Seconds to wait after a failed refresh before the next search tries again."""


def index_path(data_dir: Path, url: str, token: str) -> Path:
    """The number index of this server and token (another server or user has other contacts)."""
    return index_file(data_dir, api_root(url), token)


class NumberIndex:
    def __init__(self, path: Path, region: str | None, max_age: float) -> None:
        """Opens (or creates) the index file; blocking, so call it off the event loop (`Integration.open` is)."""
        self._index = PhoneIndex(path, region)
        self.max_age = max_age
        self.refreshed_at = self._index.refreshed_at()
        self.last_error = ""
        self._task: asyncio.Task[int] | None = None
        self._failed_at = float("-inf")
        self._changed_while_refreshing: dict[str, Sequence[str]] | None = None

    @property
    def built(self) -> bool:
        """Whether a full refresh has ever completed."""
        return self.refreshed_at is not None

    def stale(self) -> bool:
        return self.refreshed_at is None or time.time() - self.refreshed_at > self.max_age

    async def lookup(self, number: str) -> list[str]:
        """Ids of contacts with a number that is the same line as `number`."""
        return await asyncio.to_thread(self._index.lookup, number)

    async def remember(self, contact_id: str, numbers: Sequence[str]) -> None:
        """Record a contact's current numbers (none: it has none, or no longer exists)."""
        if self._changed_while_refreshing is not None:
            self._changed_while_refreshing[contact_id] = numbers
        await asyncio.to_thread(self._index.update, contact_id, numbers)

    def refresh_if_stale(self, fetch: Fetch) -> None:
        """Start a background refresh when the index is empty or old; one at a time, and not right after a failure."""
        running = self._task is not None and not self._task.done()
        if running or not self.stale() or time.monotonic() - self._failed_at < RETRY_AFTER:
            return
        self._start(fetch)

    async def refresh(self, fetch: Fetch) -> int:
        """Refresh now (joining one already running); returns how many numbers the index holds."""
        if self._task is None or self._task.done():
            self._start(fetch)
        assert self._task is not None
        return await asyncio.shield(self._task)

    def _start(self, fetch: Fetch) -> None:
        self._task = asyncio.create_task(self._refresh(fetch), name="bottlecrm-number-index")
        self._task.add_done_callback(_retrieve)

    async def _refresh(self, fetch: Fetch) -> int:
        self._changed_while_refreshing = {}
        started = time.monotonic()
        try:
            entries = await fetch()
            count = await asyncio.to_thread(self._index.replace_all, entries)
            # What this add-in wrote while the list was being read is newer than the list.
            for contact_id, numbers in self._changed_while_refreshing.items():
                await asyncio.to_thread(self._index.update, contact_id, numbers)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed_at = time.monotonic()
            self.last_error = exc.message if isinstance(exc, PartnerError) else f"{type(exc).__name__}: {exc}"
            log.warning("BottleCRM number index refresh failed: %s", self.last_error)
            raise
        finally:
            self._changed_while_refreshing = None
        self.refreshed_at = time.time()
        self.last_error = ""
        log.info("BottleCRM number index: %d numbers in %.2f s", count, time.monotonic() - started)
        return count

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await asyncio.to_thread(self._index.close)


def _retrieve(task: asyncio.Task[int]) -> None:
    """Mark a background refresh's failure as seen (it is logged and kept in `last_error`)."""
    if not task.cancelled():
        task.exception()

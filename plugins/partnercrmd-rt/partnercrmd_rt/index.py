"""The book's local index of RT users' phone numbers.

RT's REST2 cannot search users by phone: a condition on WorkPhone, MobilePhone, HomePhone or PagerPhone is
silently dropped (they are not "public" user columns, lib/RT/REST2/Resource/Users.pm `searchable_fields`), and
RT stores numbers as typed anyway. So number searches are answered from a `PhoneIndex` (user id, number) in the
book's data directory, which matches numbers the way the host does. It is filled from a full, paged read of the
users when it is empty (the first search waits for it) or older than its refresh interval (in the background:
searches meanwhile use it as it is), and updated whenever this add-in reads or creates a user.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from partnercrmd.sdk import PhoneIndex, RefreshCoordinator, RefreshStatus, index_file

from .client import rest_root

Entries = Sequence[tuple[str, Sequence[str]]]
Fetch = Callable[[], Awaitable[Entries]]

RETRY_AFTER = 30.0
"""Seconds to wait after a failed refresh before the next search tries again (doubling while it keeps failing)."""


def index_path(data_dir: Path, url: str, token: str) -> Path:
    """The number index of this server and token (another server or user sees other users)."""
    return index_file(data_dir, rest_root(url), token)


class NumberIndex:
    """The book's `PhoneIndex` and its fill; when to refresh, replaying writes made during one, back-off and status
    are the SDK's `RefreshCoordinator`'s."""

    def __init__(self, path: Path, region: str | None, max_age: float) -> None:
        """Opens (or creates) the index file; blocking, so call it off the event loop (`Integration.open` is)."""
        self._index = PhoneIndex(path, region)
        self.max_age = max_age
        self._fetch: Fetch | None = None
        self.coordinator = RefreshCoordinator(
            self._fill,
            name="Refreshing the RT number index",
            interval=max_age,
            retry_after=RETRY_AFTER,
            first_fill_wait=0.0,  # the connector awaits the first fill itself (refresh): RT has no number search
            last_success=self._index.refreshed_at(),
            entries=lambda count: count,
        )

    @property
    def status(self) -> RefreshStatus:
        """Where the index stands (state, last success, last error, next due, numbers held)."""
        return self.coordinator.status

    @property
    def built(self) -> bool:
        """Whether a full refresh has ever completed."""
        return self.coordinator.filled

    def stale(self) -> bool:
        """Whether the index was never filled or is older than its refresh interval."""
        refreshed = self.coordinator.status.last_success
        return refreshed is None or self.coordinator.policy.clock() - refreshed > self.max_age

    async def lookup(self, number: str) -> list[str]:
        """Ids of users with a number that is the same line as `number`."""
        return await asyncio.to_thread(self._index.lookup, number)

    async def remember(self, contact_id: str, numbers: Sequence[str]) -> None:
        """Record a user's current numbers (none: it has none, or no longer exists)."""
        values = list(numbers)
        await self.coordinator.write(contact_id, lambda: asyncio.to_thread(self._index.update, contact_id, values))

    def refresh_if_stale(self, fetch: Fetch) -> None:
        """Start a background refresh when the index is empty or old; one at a time, and not right after a failure."""
        self._fetch = fetch
        self.coordinator.start_if_due()

    async def refresh(self, fetch: Fetch) -> int:
        """Refresh now (joining one already running); returns how many numbers the index holds."""
        self._fetch = fetch
        return await self.coordinator.refresh()

    async def _fill(self) -> int:
        """Every user's numbers, read with the add-in's fetch, replace the index."""
        assert self._fetch is not None  # refresh_if_stale and refresh set it before they start a refresh
        entries = await self._fetch()
        return await asyncio.to_thread(self._index.replace_all, entries)

    async def close(self) -> None:
        await self.coordinator.close()
        await asyncio.to_thread(self._index.close)

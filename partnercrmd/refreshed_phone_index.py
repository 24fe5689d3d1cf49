"""A local phone index kept fresh from the backend: for add-ins whose server cannot find a contact by number.

Some servers cannot look a caller up by number at all, or only as the text was typed. Such an add-in keeps a
`PhoneIndex` (contact id, number) in the book's data directory, matching numbers the way the host does, filled from
a full read of the server's contacts (the add-in's `fetch`) when it is empty or older than its refresh interval (in
the background: searches meanwhile use it as it is), and updated whenever the add-in reads, creates or changes a
contact. When to refresh, replaying writes made during one, back-off after a failure and the status are the
`RefreshCoordinator`'s. Part of the SDK.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from .errors import AddinError
from .model import CheckResult
from .phone_index import PhoneIndex
from .refresh_coordinator import RefreshCoordinator, RefreshStatus

PhoneEntries = Sequence[tuple[str, Sequence[str]]]
"""(contact id, its numbers) for every contact of the backend: what a full read gives."""
FetchEntries = Callable[[], Awaitable[PhoneEntries]]

RETRY_AFTER = 30.0
"""Seconds to wait after a failed refresh before the next search tries again (doubling while it keeps failing)."""


class RefreshedPhoneIndex:
    """A book's `PhoneIndex` and its fill from the backend, refreshed by a `RefreshCoordinator`."""

    def __init__(
        self, path: Path, region: str | None, max_age: float, *, name: str, first_fill_wait: float = 0.0
    ) -> None:
        """Opens (or creates) the index file; blocking, so call it off the event loop (`Integration.open` is).

        `name` says what a refresh does, for the status ("Refreshing the BottleCRM number index");
        `first_fill_wait` how long a search waits for the very first fill (0: the add-in decides, see `refresh`).
        """
        self._index = PhoneIndex(path, region)
        self.max_age = max_age
        self._fetch: FetchEntries | None = None
        self.sample_number = ""
        """A number the last full refresh read ("" before one, or when no contact has a number): the check's probe."""
        self.coordinator = RefreshCoordinator(
            self._fill,
            name=name,
            interval=max_age,
            retry_after=RETRY_AFTER,
            first_fill_wait=first_fill_wait,
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
        """Ids of contacts with a number that is the same line as `number`."""
        return await asyncio.to_thread(self._index.lookup, number)

    async def remember(self, contact_id: str, numbers: Sequence[str]) -> None:
        """Record a contact's current numbers (none: it has none, or no longer exists)."""
        await self.remember_many([(contact_id, numbers)])

    async def remember_many(self, entries: PhoneEntries) -> None:
        """Record several contacts' current numbers at once (one trip to a worker thread, one transaction; contacts
        whose numbers the index already holds are not written): for the contacts an add-in has just read."""
        listed = [(contact_id, list(numbers)) for contact_id, numbers in entries]
        if not listed:
            return
        for contact_id, values in listed:
            self.coordinator.record_write(contact_id, self._replay(contact_id, values))
        await asyncio.to_thread(self._index.update_many, listed)

    def _replay(self, contact_id: str, values: list[str]) -> Callable[[], Awaitable[None]]:
        """One contact's write, as a refresh running meanwhile replays it after storing its older listing."""
        return lambda: asyncio.to_thread(self._index.update, contact_id, values)

    def refresh_if_stale(self, fetch: FetchEntries) -> None:
        """Start a background refresh when the index is empty or old; one at a time, and not right after a failure."""
        self._fetch = fetch
        self.coordinator.start_if_due()

    async def refresh(self, fetch: FetchEntries) -> int:
        """Refresh now (joining one already running); returns how many numbers the index holds."""
        self._fetch = fetch
        return await self.coordinator.refresh()

    async def _fill(self) -> int:
        """Every contact's numbers, read with the add-in's fetch, replace the index."""
        assert self._fetch is not None  # refresh_if_stale and refresh set it before they start a refresh
        entries = await self._fetch()
        self.sample_number = next((numbers[0] for _, numbers in entries if numbers), "")
        return await asyncio.to_thread(self._index.replace_all, entries)

    async def check(self, fetch: FetchEntries, *, record: str, records: str) -> CheckResult:
        """The "search" step of the add-in's Test connection: refresh now, then find a contact by a number it read.

        `record` and `records` name the backend's contacts in the messages ("user", "RT users").
        """
        try:
            count = await self.refresh(fetch)
            sample = self.sample_number
            found = await self.lookup(sample) if sample else []
        except AddinError as exc:
            return CheckResult("search", False, exc.message, exc.code)
        every = f"refreshed every {self.max_age / 60:g} min"
        if not sample:
            return CheckResult("search", True, f"No {record} has a phone number yet; the number index is {every}.")
        if not found:
            return CheckResult(
                "search",
                False,
                f"The number index holds {count:,} numbers but does not find {sample}; "
                "delete the book's data folder and try again.",
                "invalid_data",
            )
        numbers = "1 phone number" if count == 1 else f"{count:,} phone numbers"
        return CheckResult("search", True, f"{numbers} of {records} indexed ({every}); {sample} finds its {record}.")

    async def close(self) -> None:
        await self.coordinator.close()
        await asyncio.to_thread(self._index.close)

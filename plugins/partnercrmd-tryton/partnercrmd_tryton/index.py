"""The book's local index of phone numbers, for numbers Tryton cannot find by their E.164 form.

A Tryton server with the phonenumbers library stores every phone's E.164 form in `value_compact`, and a
search on it finds any input format. Parties entered before phonenumbers was installed, imported with
SQL, or kept by a server without it, hold numbers only as typed ("020-7946-0958"), which no text
comparison matches reliably. This index (partnercrmd's `PhoneIndex`, a SQLite file in the book's data
directory) holds every phone, mobile and fax number of the database with its normalised key; a lookup
gives the ids of the parties that really have the number, whatever its format.

It is filled in full from the server when it is empty (the first search waits for that a short while),
refreshed in the background when older than its TTL, and updated when the add-in creates or changes a party.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from partnercrmd.errors import AddinError
from partnercrmd.phone_index import PhoneIndex

from .client import TrytonClient
from .mapping import PHONE_TYPES, party_id

log = logging.getLogger(__name__)

PAGE = 5000
"""Contact mechanisms read per call during a full refresh."""
FIRST_FILL_WAIT = 1.0
"""How long a search waits for the first fill of an empty index before it asks the server alone."""
RETRY_SECONDS = 60.0
"""After a failed refresh, searches do not start another one for this long (the old index still answers)."""


class NumberIndex:
    """PhoneIndex of one book plus its refresh policy; all SQLite work runs in worker threads."""

    def __init__(self, path: Path, region: str | None, ttl_seconds: float) -> None:
        self.path = path
        self.region = region
        self.ttl_seconds = ttl_seconds
        self._index = PhoneIndex(path, region)
        self._refresh: asyncio.Task[int] | None = None
        self._retry_at = 0.0

    async def lookup(self, number: str) -> list[int]:
        """Ids of parties with a number that matches `number` (by the host's matching rules)."""
        found = await asyncio.to_thread(self._index.lookup, number)
        return [int(i) for i in found if i.isdigit()]

    async def update(self, pid: int, numbers: Iterable[str]) -> None:
        await asyncio.to_thread(self._index.update, str(pid), list(numbers))

    async def age(self) -> float:
        return await asyncio.to_thread(self._index.age)

    async def ensure_fresh(self, client: TrytonClient) -> None:
        """Start a refresh when the index is stale; when it was never filled, wait a little for the first fill."""
        age = await self.age()
        if age < self.ttl_seconds or time.monotonic() < self._retry_at:
            return
        task = self._start_refresh(client)
        if age == float("inf"):
            # The refresh goes on in the background if the wait (or the search) ends first.
            await asyncio.wait({task}, timeout=FIRST_FILL_WAIT)

    def _start_refresh(self, client: TrytonClient) -> asyncio.Task[int]:
        if self._refresh is None or self._refresh.done():
            task = asyncio.create_task(self._guarded_refresh(client), name=f"tryton number index {self.path.name}")
            task.add_done_callback(_retrieve)  # a failure in the background is logged and retried later
            self._refresh = task
        return self._refresh

    async def refresh(self, client: TrytonClient) -> int:
        """Read every phone number of the database and replace the index with them now; returns how many."""
        return await asyncio.shield(self._start_refresh(client))

    async def _guarded_refresh(self, client: TrytonClient) -> int:
        try:
            entries = await read_all_numbers(client)
            count = await asyncio.to_thread(self._index.replace_all, entries.items())
        except AddinError as exc:
            # Searches see the server's failure themselves; the old index answers meanwhile.
            self._retry_at = time.monotonic() + RETRY_SECONDS
            log.info("refreshing the Tryton number index failed: %s", exc.message)
            raise
        return count

    async def close(self) -> None:
        task, self._refresh = self._refresh, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, AddinError):
                await task
        await asyncio.to_thread(self._index.close)


def _retrieve(task: asyncio.Task[int]) -> None:
    if not task.cancelled():
        task.exception()


async def read_all_numbers(client: TrytonClient) -> dict[str, list[str]]:
    """Every phone, mobile and fax number of the database by party id, read page by page."""
    numbers: dict[str, list[str]] = {}
    offset = 0
    domain: list[Any] = [("type", "in", sorted(PHONE_TYPES))]
    while True:
        rows = await client.call(
            "model.party.contact_mechanism.search_read", domain, offset, PAGE, [("id", "ASC")], ["party", "value"]
        )
        if not isinstance(rows, list):
            raise AddinError("Tryton's list of contact mechanisms is not a list.", code="invalid_data")
        for row in rows:
            pid = party_id(row.get("party")) if isinstance(row, dict) else None
            value = row.get("value") if isinstance(row, dict) else None
            if pid is not None and isinstance(value, str) and value.strip():
                numbers.setdefault(str(pid), []).append(value.strip())
        if len(rows) < PAGE:
            return numbers
        offset += PAGE

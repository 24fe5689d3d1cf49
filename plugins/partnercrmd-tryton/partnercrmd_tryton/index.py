"""The book's local index of phone numbers and party names, filled from Tryton by one refresh.

Numbers: for numbers Tryton cannot find by their E.164 form.

A Tryton server with the phonenumbers library stores every phone's E.164 form in `value_compact`, and a
search on it finds any input format. Parties entered before phonenumbers was installed, imported with
SQL, or kept by a server without it, hold numbers only as typed ("020-7946-0958"), which no text
comparison matches reliably. This index (partnercrmd's `PhoneIndex`, a SQLite file in the book's data
directory) holds every phone, mobile and fax number of the database with its normalised key; a lookup
gives the ids of the parties that really have the number, whatever its format.

Names: each party's folded name, code and contact values (the SDK's `NameIndex`, in the same file), so a
name search reads the parties it finds by id instead of running Tryton's costly rec_name search.

Both are filled in full from the server when the index is empty (the first search waits for that a short while),
refreshed in the background when older than its TTL, and updated when the add-in creates or changes a party (also
while a refresh is reading the server: the SDK's `RefreshCoordinator` applies such a change again after it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from partnercrmd.sdk import AddinError, NameIndex, PhoneIndex, RefreshCoordinator, RefreshStatus

from .client import TrytonClient
from .mapping import PHONE_TYPES, party_id
from .names import party_text

PAGE = 5000
"""Parties, and contact mechanisms, read per call during a full refresh."""
FIRST_FILL_WAIT = 1.0
"""How long a search waits for the first fill of an empty index before it asks the server alone."""
RETRY_SECONDS = 60.0
"""After a failed refresh, searches do not start another one for this long (doubling while it keeps failing; the
old index still answers)."""


class IndexCounts(NamedTuple):
    """What a full refresh stored: phone numbers, and parties in the name index."""

    numbers: int
    parties: int

    def __str__(self) -> str:
        """As reports show it (bench/backends_bench.py prints a refresh's result)."""
        return f"{self.numbers} numbers, {self.parties} parties"


class ServerData(NamedTuple):
    """Everything a refresh reads from Tryton: numbers by party, and (id, name, folded text) per party."""

    numbers: dict[str, list[str]]
    parties: list[tuple[str, str, str]]


class PartyIndex:
    """PhoneIndex and NameIndex of one book, filled from Tryton; all SQLite work runs in worker threads.

    When to refresh, writes made during a refresh, back-off and status are the SDK's `RefreshCoordinator`'s;
    this class keeps the fill (`_fill`) and what the add-in writes (`update`).

    Opening it is blocking (it opens the SQLite file), as `open_book` is. A file without a name index
    of the current schema (one written by an older version, with numbers only) is rebuilt: its numbers
    are forgotten too, so the next search fills both as for a new book.
    """

    def __init__(self, path: Path, region: str | None, ttl_seconds: float) -> None:
        self.path = path
        self.region = region
        self.ttl_seconds = ttl_seconds
        self._index = PhoneIndex(path, region)
        self._names = NameIndex(path)
        try:
            if self._names.prepare():
                self._index.clear()
        except BaseException:
            self._names.close()
            self._index.close()
            raise
        self._client: TrytonClient | None = None
        self.coordinator = RefreshCoordinator(
            self._fill,
            name=f"Refreshing the Tryton party index {path.name}",
            interval=ttl_seconds,
            retry_after=RETRY_SECONDS,
            first_fill_wait=FIRST_FILL_WAIT,
            last_success=self._index.refreshed_at(),
            entries=lambda counts: counts.numbers,
        )

    @property
    def status(self) -> RefreshStatus:
        """Where the index stands (state, last success, last error, next due, numbers held)."""
        return self.coordinator.status

    async def lookup(self, number: str) -> list[int]:
        """Ids of parties with a number that matches `number` (by the host's matching rules)."""
        found = await asyncio.to_thread(self._index.lookup, number)
        return [int(i) for i in found if i.isdigit()]

    async def find_names(self, words: list[str], limit: int) -> list[int]:
        """Ids of parties whose folded name, code or contact values hold every folded word, in name order."""
        return [int(i) for i in await asyncio.to_thread(self._names.find, words, limit)]

    async def update(self, pid: int, numbers: Iterable[str], name: str, text: str) -> None:
        """Record a party the add-in created or changed: its numbers, its name and folded text (again after a
        refresh that is reading the server now, whose listing may hold the party as it was)."""
        values = list(numbers)

        async def store() -> None:
            await asyncio.to_thread(self._index.update, str(pid), values)
            await asyncio.to_thread(self._names.update, str(pid), name, text)

        await self.coordinator.write(pid, store)

    async def party_count(self) -> int:
        return await asyncio.to_thread(self._names.count)

    async def age(self) -> float:
        return await asyncio.to_thread(self._index.age)

    async def ensure_fresh(self, client: TrytonClient) -> None:
        """Start a refresh when the index is stale; when it was never filled, wait a little for the first fill."""
        self._client = client
        await self.coordinator.ensure_fresh()

    async def refresh(self, client: TrytonClient) -> IndexCounts:
        """Read every party and phone number of the database and replace the index with them now."""
        self._client = client
        return await self.coordinator.refresh()

    async def _fill(self) -> IndexCounts:
        """The refresh: read every party and contact mechanism, then replace both indexes."""
        assert self._client is not None  # ensure_fresh and refresh set it before they start a refresh
        data = await read_all(self._client)
        # Names first: the numbers' replace_all records the refresh time, for both.
        parties = await asyncio.to_thread(self._names.replace_all, data.parties)
        numbers = await asyncio.to_thread(self._index.replace_all, data.numbers.items())
        return IndexCounts(numbers, parties)

    async def close(self) -> None:
        await self.coordinator.close()
        await asyncio.to_thread(self._names.close)
        await asyncio.to_thread(self._index.close)


async def read_pages(client: TrytonClient, model: str, fields: list[str]) -> list[dict[str, Any]]:
    """Every record of `model` Tryton lets the user search (active ones), read PAGE at a time in id order."""
    records: list[dict[str, Any]] = []
    offset = 0
    while True:
        rows = await client.call(f"model.{model}.search_read", [], offset, PAGE, [("id", "ASC")], fields)
        if not isinstance(rows, list):
            raise AddinError(f"Tryton's list of {model} records is not a list.", code="invalid_data")
        records += [row for row in rows if isinstance(row, dict)]
        if len(rows) < PAGE:
            return records
        offset += PAGE


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


async def read_all(client: TrytonClient) -> ServerData:
    """Every party (id, name, code) and contact mechanism (party, type, value) of the database, by party.

    Phone, mobile and fax values go to the number index; every value (e-mails, websites... too) goes into
    its party's searchable text, as Tryton's own name search looks in them.
    """
    parties, mechanisms = await asyncio.gather(  # trytond serves the two in parallel threads
        read_pages(client, "party.party", ["name", "code"]),
        read_pages(client, "party.contact_mechanism", ["party", "type", "value"]),
    )
    # Folding 10,000 parties' texts takes tens of milliseconds: not on the event loop.
    return await asyncio.to_thread(server_data, parties, mechanisms)


def server_data(parties: list[dict[str, Any]], mechanisms: list[dict[str, Any]]) -> ServerData:
    """The index entries for the parties and contact mechanisms a refresh read."""
    numbers: dict[str, list[str]] = {}
    values: dict[int, list[str]] = {}
    for row in mechanisms:
        pid, value = party_id(row.get("party")), _text(row.get("value"))
        if pid is None or not value:
            continue
        values.setdefault(pid, []).append(value)
        if _text(row.get("type")) in PHONE_TYPES:
            numbers.setdefault(str(pid), []).append(value)
    texts = []
    for row in parties:
        pid = party_id(row.get("id"))
        if pid is not None:
            name = _text(row.get("name"))
            texts.append((pid, name, party_text(name, _text(row.get("code")), values.get(pid, []))))
    # In id order: parties of the same name are then found in Tryton's order (name, id).
    return ServerData(numbers, [(str(pid), name, text) for pid, name, text in sorted(texts)])

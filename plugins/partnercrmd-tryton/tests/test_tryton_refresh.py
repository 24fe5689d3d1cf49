"""The Tryton book's index refresh, against the real trytond: a party changed while a refresh reads the server.

A refresh reads every party first and stores the listing afterwards; a party the add-in saved in between is
older in that listing than on the server. The test holds the refresh between the two (it wraps the index's
`read_all`, which still reads the real server) and changes a party meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from partnercrmd_tryton import index as index_module
from partnercrmd_tryton.client import TrytonClient
from partnercrmd_tryton.index import ServerData
from tryton_seed import Tryton, connector

from partnercrmd.sdk import ContactPatch, SearchQuery

pytest_plugins = ["tryton_fixtures"]


class HeldRefresh:
    """Holds every refresh of the index after it has read the server and before it stores what it read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.read = asyncio.Event()
        self.release = asyncio.Event()
        original: Callable[[TrytonClient], Awaitable[ServerData]] = index_module.read_all

        async def held(client: TrytonClient) -> ServerData:
            data = await original(client)
            self.read.set()
            await self.release.wait()
            return data

        monkeypatch.setattr(index_module, "read_all", held)


async def test_a_party_changed_during_a_refresh_is_found_by_its_new_number_right_after(
    tmp_path: Path, disposable_tryton: Tryton, monkeypatch: pytest.MonkeyPatch
) -> None:
    searches: list[tuple[str, Any]] = []
    original_call = TrytonClient.call

    async def call(client: TrytonClient, method: str, *args: Any) -> Any:
        if method.endswith(".search_read"):
            searches.append((method, args[0]))
        return await original_call(client, method, *args)

    monkeypatch.setattr(TrytonClient, "call", call)
    held = HeldRefresh(monkeypatch)
    dana = disposable_tryton.ids["dana"]
    async with connector(tmp_path, disposable_tryton.settings()) as book:
        assert book.index is not None
        refresh = asyncio.create_task(book.index.refresh(book.client))
        await asyncio.wait_for(held.read.wait(), 60)  # the listing holds Dana as she was
        assert book.index.status.state == "refreshing"

        await book.update(str(dana), ContactPatch(display_name="Dana Whitfield-Ng", phone="+44 113 496 0555"))
        held.release.set()
        counts = await asyncio.wait_for(refresh, 60)
        assert counts.parties >= 3
        assert book.index.status.state == "ready"

        # Right after the refresh, from the index: the new number and the new name, not the listing's.
        assert await book.index.lookup("0113 496 0555") == [dana]
        assert await book.index.find_names(["whitfield-ng"], 5) == [dana]
        searches.clear()
        new_number = SearchQuery("0113 496 0555", limit=5, number="+441134960555", number_forms=("01134960555",))
        assert [c.name for c in await book.search(new_number)] == ["Dana Whitfield-Ng"]
        # Read by id only: the index knew the number, so Tryton was not asked to search its contact mechanisms.
        assert searches == [("model.party.party.search_read", [("id", "in", [dana])])]

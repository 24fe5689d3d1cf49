"""The CardDAV book's index refresh against Radicale: a contact changed while a refresh reads the address book.

A refresh fetches the changed cards first and stores them afterwards; a card the add-in saved in between is older
in what the refresh fetched than on the server. The test holds the refresh between the two (it wraps the real
`AddressBook.multiget`) and changes a contact meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from partnercrmd_carddav.addressbook import AddressBook
from partnercrmd_carddav.cards import StoredCard
from partnercrmd_carddav.connector import CardDavBook, open_book

from partnercrmd.sdk import BookContext, ContactPatch
from partnercrmd.testing import number_query


@pytest.fixture
async def book(settings: dict[str, Any], data_dir: Path) -> AsyncIterator[CardDavBook]:
    connector = open_book(BookContext("team", "Team", settings, data_dir, "GB"))
    try:
        yield connector
    finally:
        await connector.close()


async def test_a_contact_changed_during_a_refresh_is_found_by_its_new_number_right_after(
    book: CardDavBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched, release = asyncio.Event(), asyncio.Event()
    original = AddressBook.multiget

    async def held(addressbook: AddressBook, names: Sequence[str]) -> dict[str, StoredCard]:
        cards = await original(addressbook, names)
        fetched.set()
        await release.wait()
        return cards

    monkeypatch.setattr(AddressBook, "multiget", held)
    refresh = book.sync.start()
    await asyncio.wait_for(fetched.wait(), 30)  # the refresh holds Dana's card as it was
    assert book.sync.status.state == "refreshing"

    await book.update("dana-whitfield.vcf", ContactPatch(phone="+44 113 496 0555"))
    release.set()
    assert await asyncio.wait_for(refresh, 30) is True
    status = book.sync.status
    assert (status.state, status.entries) == ("ready", 3)

    # Right after the refresh, from the index: the new number, not the one in the cards the refresh fetched.
    assert await book.sync.lookup("0113 496 0555") == ["dana-whitfield.vcf"]
    assert [c.name for c in await book.search(number_query("0113 496 0555"))] == ["Dana Whitfield"]

"""An integration an add-in provides only after the daemon started (e.g. a template file added since):
a book configured for it opens once the vault names it, without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiohttp import web

from partnercrmd import appkeys, hookimpl
from partnercrmd.books import add_book
from partnercrmd.integration import Capability, Connector, Integration
from partnercrmd.model import Contact, SearchQuery
from partnercrmd.testing import ApiSession
from partnercrmd.vault_sync import reload_vault


class Late(Connector):
    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        return [Contact(id="1", display_name="Late Comer")]


LATE = Integration(
    id="late",
    name="Late",
    version="1",
    open=lambda context: Late(),
    capabilities=frozenset({Capability.SEARCH_NAME}),
)


class Growing:
    """An add-in whose integrations grow while the daemon runs; counts how often it is asked."""

    def __init__(self) -> None:
        self.provided: list[Integration] = []
        self.asked = 0

    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        self.asked += 1
        return list(self.provided)


@pytest.fixture
def growing() -> Growing:
    return Growing()


@pytest.fixture
def partnercrmd_addins(growing: Growing) -> list[tuple[str, object]]:
    return [("growing", growing)]


async def test_a_book_of_an_integration_provided_later_opens(
    api: ApiSession, partnercrmd_app: web.Application, growing: Growing
) -> None:
    host = partnercrmd_app[appkeys.HOST]
    assert host.integration("late") is None
    asked = growing.asked
    growing.provided.append(LATE)
    # As `partnercrmd books add late` in another process (whose own host already sees it) does.
    book = await asyncio.to_thread(add_book, partnercrmd_app[appkeys.VAULT], LATE, {})
    await reload_vault(partnercrmd_app)
    assert growing.asked == asked + 1
    assert host.integration("late") is LATE and host.provider("late") is not None
    opened = partnercrmd_app[appkeys.BOOKS].get(book.id)
    assert opened.error is None and isinstance(opened.connector, Late)
    [found] = [c for c in await api.call("POST", "Search", query="Late") if c["AddinId"] == book.id]
    assert [r["DisplayText"] for r in found["Records"]] == ["Late Comer"]


async def test_a_book_of_an_integration_nobody_provides_stays_unavailable(
    api: ApiSession, partnercrmd_app: web.Application, growing: Growing
) -> None:
    gone = Integration("gone", "Gone", "1", open=lambda context: Late(), capabilities=frozenset())
    book = await asyncio.to_thread(add_book, partnercrmd_app[appkeys.VAULT], gone, {})
    await reload_vault(partnercrmd_app)
    opened = partnercrmd_app[appkeys.BOOKS].get(book.id)
    assert opened.connector is None and opened.error == "The integration 'gone' is not installed."
    # The integrations the host had are all still there after asking again.
    assert partnercrmd_app[appkeys.HOST].integration("local") is not None

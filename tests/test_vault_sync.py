"""The running daemon follows the vault in the order it was written: a reload that read the vault before a change
never applies its older document after the change's own reload."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.books import add_book
from partnercrmd.testing import ApiSession, search
from partnercrmd.vault_sync import reload_vault
from tests.fake_addins import FakeAddins


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("fakes", FakeAddins())]


async def test_a_book_added_while_an_older_reload_is_applied_stays_open(
    api: ApiSession, partnercrmd_app: web.Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the vault watcher does: it reads the vault, `books add` (or a page) writes a new book and reloads, and the
    watcher's older read comes back last. In a full test run this closed the book just added until the watcher's
    next look, so a search right after `books add` did not reach it."""
    vault = partnercrmd_app[appkeys.VAULT]
    read = vault.read
    older_read = threading.Event()
    go_on = threading.Event()

    def slow_first_read() -> dict[str, Any]:
        doc = read()
        if not older_read.is_set():
            older_read.set()
            go_on.wait(10)  # the watcher's read, taken before the book is added, held until the add has reloaded
        return doc

    monkeypatch.setattr(vault, "read", slow_first_read)
    watcher = asyncio.create_task(reload_vault(partnercrmd_app))
    assert await asyncio.to_thread(older_read.wait, 10)
    integration = partnercrmd_app[appkeys.HOST].integration("loose")
    assert integration is not None
    book = await asyncio.to_thread(add_book, vault, integration, {})
    adding = asyncio.create_task(reload_vault(partnercrmd_app))
    await asyncio.wait([adding], timeout=2)  # unordered, the add's reload ends here; ordered, it waits its turn
    go_on.set()
    await asyncio.gather(watcher, adding)

    assert book.id in {b.id for b in partnercrmd_app[appkeys.BOOKS].enabled()}
    assert (await search(api, "Hartley"))[book.id]["ExceptionText"] == ""

"""Books configured with `cached` answer repeated lookups from memory until the TTL or a write."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aiohttp import web

from partnercrmd import hookimpl
from partnercrmd.integration import BookContext, Capability, Connector, Integration
from partnercrmd.model import Contact, ContactPatch, Phone, SearchQuery
from partnercrmd.result_cache import ResultCache
from partnercrmd.testing import ApiSession, configure_book


class Counting(Connector):
    calls = 0

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        Counting.calls += 1
        return [Contact(id="1", display_name="Counted", phones=[Phone("+44 20 7946 0001")])]

    async def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        return patch.apply_to(Contact(id=contact_id, display_name="Counted", phones=[Phone("+44 20 7946 0001")]))


def _open(context: BookContext) -> Connector:
    return Counting()


class CountingAddin:
    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        caps = frozenset({Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.UPDATE_CONTACT})
        return [Integration(id="counting", name="Counting", version="1", open=_open, capabilities=caps)]


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    Counting.calls = 0
    return [("counting", CountingAddin())]


async def test_cached_book_answers_repeats_from_memory_until_a_write(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    book_id = await configure_book(partnercrmd_app, "counting", cached=True, cache_minutes=5)
    for query in ("+44 20 7946 0001", "02079460001", "counted"):
        await api.call("POST", "Search", query=query)
    assert Counting.calls == 2  # the number (in two forms) once, the name once
    record = next(c for c in await api.call("POST", "Search", query="counted") if c["AddinId"] == book_id)["Records"][0]
    await api.call("POST", "SaveRecord", RecordId=record["UniqueId"], Notes="changed")
    await api.call("POST", "Search", query="counted")
    assert Counting.calls == 3


async def test_uncached_book_is_asked_every_time(api: ApiSession, partnercrmd_app: web.Application) -> None:
    await configure_book(partnercrmd_app, "counting")
    for _ in range(3):
        await api.call("POST", "Search", query="+44 20 7946 0001")
    assert Counting.calls == 3


def test_entries_expire_and_are_bounded() -> None:
    from partnercrmd.books import BookConfig, OpenBook

    now = [0.0]
    cache = ResultCache(clock=lambda: now[0], max_entries=2)
    book = OpenBook(BookConfig(id="b", type="t", name="B", cached=True, cache_minutes=1), None, None)
    cache.put(book, "k1", [Contact(id="1")], {})
    cached = cache.get(book, "k1")
    assert cached is not None and cached[0][0].id == "1"
    cached[0][0].display_name = "mutated"
    again = cache.get(book, "k1")
    assert again is not None and again[0][0].display_name == ""  # callers get copies
    now[0] = 61
    assert cache.get(book, "k1") is None
    for key in ("a", "b", "c"):
        cache.put(book, key, [], {})
    assert len(cache) == 2 and cache.get(book, "a") is None
    reopened = OpenBook(book.config, None, None)
    assert cache.get(reopened, "c") is None  # answers of an earlier configuration are not served

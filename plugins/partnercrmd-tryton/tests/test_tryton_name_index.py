"""The Tryton book's local name index, against the real trytond: what it finds, and when it asks the server.

A name search the index can answer reads the found parties by id (one `search_read` on `id in [...]`);
Tryton's costly `rec_name` search runs only when the index finds no party that still holds every word.
The tests spy on `TrytonClient.call` to see which of the two reached the server.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from partnercrmd_tryton import TrytonBook
from partnercrmd_tryton import client as client_module
from partnercrmd_tryton.client import TrytonClient
from partnercrmd_tryton.names import party_text, query_words
from tryton_seed import Tryton, connector

from partnercrmd.sdk import Contact, ContactPatch, Phone, PhoneIndex, SearchQuery, fold
from partnercrmd.sdk.http import HttpAnswer
from partnercrmd.testing import ApiSession, configure_book

pytest_plugins = ["tryton_fixtures"]


@pytest.fixture
def party_searches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The domain of every `party.party.search_read` the add-in sends, in order."""
    domains: list[Any] = []
    original = TrytonClient.call

    async def call(client: TrytonClient, method: str, *args: Any) -> Any:
        if method == "model.party.party.search_read":
            domains.append(args[0])
        return await original(client, method, *args)

    monkeypatch.setattr(TrytonClient, "call", call)
    yield domains


def by_id(*ids: int) -> list[Any]:
    """The domain of a read by id (what an index hit costs the server)."""
    return [("id", "in", sorted(ids))]


def server_search(domains: list[Any]) -> bool:
    """Whether exactly one search was sent and it was Tryton's own name search."""
    return len(domains) == 1 and "rec_name" in repr(domains[0])


async def names_found(book: TrytonBook, text: str, limit: int = 5) -> list[str]:
    return [c.name for c in await book.search(SearchQuery(text, limit=limit))]


# --- served from the index -------------------------------------------------------------------------------


async def test_a_name_search_served_from_the_index_reads_the_parties_by_id_only(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        counts = await book.index.refresh(book.client)
        assert counts.parties >= 3 and counts.numbers >= 3
        assert str(counts) == f"{counts.numbers} numbers, {counts.parties} parties"
        party_searches.clear()

        assert await names_found(book, "whitfield") == ["Dana Whitfield"]
        assert party_searches == [by_id(tryton.ids["dana"])]  # no rec_name search through every mechanism

        party_searches.clear()
        assert await names_found(book, "WHIT dana") == ["Dana Whitfield"]  # every word, any case, any order
        assert party_searches == [by_id(tryton.ids["dana"])]


async def test_accents_and_case_are_ignored_both_ways(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        for query in ("zoe", "ZOE LEFEVRE", "Zoë Lefèvre", "lefÈvre"):
            party_searches.clear()
            assert await names_found(book, query) == ["Zoë Lefèvre"], query
            assert party_searches == [by_id(tryton.ids["zoe"])], query


async def test_a_word_of_an_email_or_website_finds_its_party(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        for query in ("dana.whitfield@northwind", "northwind.example/dana", "DANA.WHITFIELD@NORTHWIND.EXAMPLE"):
            party_searches.clear()
            assert await names_found(book, query) == ["Dana Whitfield"], query
            assert party_searches == [by_id(tryton.ids["dana"])], query


async def test_short_words_and_wildcards_are_matched_literally(tmp_path: Path, tryton: Tryton) -> None:
    [pid] = tryton.admin().call("model.party.party.create", [{"name": "Yu Wildcard_100% Xq"}])
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        assert await book.index.find_names(["xq"], 5) == [pid]  # shorter than a trigram: a LIKE scan
        assert await book.index.find_names(["yu", "xq"], 5) == [pid]
        assert await book.index.find_names(["yu", "wildcard_100%"], 5) == [pid]  # trigram match, then checked
        assert await book.index.find_names(["yz", "wildcard_100%"], 5) == []
        assert await book.index.find_names(["wildcard_100%"], 5) == [pid]
        assert await book.index.find_names(["wildcardx100"], 5) == []  # `_` is not a wildcard
        assert await book.index.find_names(["100%xq"], 5) == []
        assert await names_found(book, "xq yu") == ["Yu Wildcard_100% Xq"]


async def test_hits_come_in_trytons_order_up_to_the_limit(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    names = ["Tessellate Mill", "Tessellate Arden", "Tessellate Crane", "Tessellate Arden"]
    ids = tryton.admin().call("model.party.party.create", [{"name": n} for n in names])
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        expected = sorted(zip(names, ids, strict=True))  # Tryton's ORDER: name, then id
        assert await book.index.find_names(["tessellate"], 10) == [pid for _, pid in expected]
        party_searches.clear()
        found = await book.search(SearchQuery("tessellate", limit=3))
        assert [(c.name, int(c.id)) for c in found] == expected[:3]
        assert party_searches == [by_id(*(pid for _, pid in expected[:3]))]


# --- what the index does not know yet: the server's search ----------------------------------------------


async def test_a_party_created_on_the_server_after_the_fill_is_found_by_the_servers_search(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        [pid] = tryton.admin().call("model.party.party.create", [{"name": "Quentin Latecomer"}])
        party_searches.clear()
        found = await book.search(SearchQuery("latecomer", limit=5))
        assert [(c.id, c.name) for c in found] == [(str(pid), "Quentin Latecomer")]
        assert server_search(party_searches)

        # The next refresh learns it: then it is read by id.
        await book.index.refresh(book.client)
        party_searches.clear()
        assert await names_found(book, "latecomer") == ["Quentin Latecomer"]
        assert party_searches == [by_id(pid)]


async def test_a_party_renamed_on_the_server_is_found_by_its_new_name_and_not_by_the_old(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    admin = tryton.admin()
    [pid] = admin.call("model.party.party.create", [{"name": "Rupert Oldsurname"}])
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        assert await book.index.find_names(["oldsurname"], 5) == [pid]
        admin.call("model.party.party.write", [pid], {"name": "Rupert Newsurname"})

        party_searches.clear()
        assert await names_found(book, "oldsurname") == []
        # The index still names him: he is read by id, no longer holds the word, and the server finds no one.
        assert party_searches[0] == by_id(pid) and server_search(party_searches[1:])

        party_searches.clear()
        assert await names_found(book, "newsurname") == ["Rupert Newsurname"]
        assert server_search(party_searches)


async def test_a_party_deleted_on_the_server_is_no_longer_found(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    admin = tryton.admin()
    [pid] = admin.call("model.party.party.create", [{"name": "Vesna Gonewell"}])
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        admin.call("model.party.party.delete", [pid])
        party_searches.clear()
        assert await names_found(book, "gonewell") == []
        assert party_searches[0] == by_id(pid) and server_search(party_searches[1:])


async def test_identifiers_are_still_found_through_the_server(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    [pid] = tryton.admin().call(
        "model.party.party.create", [{"name": "Ursula Taxed", "identifiers": [["create", [{"code": "ZZ-4471-QX"}]]]}]
    )
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        assert await book.index.find_names(["zz-4471-qx"], 5) == []  # identifiers are not in the index
        party_searches.clear()
        found = await book.search(SearchQuery("zz-4471-qx", limit=5))
        assert [(c.id, c.name) for c in found] == [(str(pid), "Ursula Taxed")]
        assert server_search(party_searches)


async def test_without_the_index_every_name_search_is_trytons_own(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    async with connector(tmp_path, tryton.settings(index_minutes=0)) as book:
        assert book.index is None
        assert await names_found(book, "whitfield") == ["Dana Whitfield"]
        assert await names_found(book, "zoe") == []  # Tryton's ILIKE does not ignore accents
        assert await names_found(book, "Zoë") == ["Zoë Lefèvre"]
    assert len(party_searches) == 3 and all("rec_name" in repr(d) for d in party_searches)
    assert not (tmp_path / "numbers.sqlite").exists()


# --- kept up to date by the add-in's own writes ------------------------------------------------------------


async def test_a_party_created_or_renamed_through_the_add_in_is_in_the_index_at_once(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        created = await book.create(
            Contact(
                display_name="Ottilie Quarrington", emails=["ottilie@quarry.example"], phones=[Phone("01134960555")]
            )
        )
        pid = int(created.id)
        for query in ("quarrington", "ottilie@quarry", "+44 113 496 0555"):
            party_searches.clear()
            assert await names_found(book, query) == ["Ottilie Quarrington"], query
            assert party_searches == [by_id(pid)], query

        await book.update(created.id, ContactPatch(display_name="Ottilie Vance", email="ov@vance.example"))
        party_searches.clear()
        assert await names_found(book, "vance") == ["Ottilie Vance"]
        assert await names_found(book, "ov@vance") == ["Ottilie Vance"]
        assert party_searches == [by_id(pid), by_id(pid)]
        assert await book.index.find_names(["quarrington"], 5) == []
        assert await book.index.find_names(["quarry"], 5) == []


async def test_a_contact_created_through_the_api_is_found_by_name_at_once(
    api: ApiSession, partnercrmd_app: web.Application, tryton: Tryton, party_searches: list[Any]
) -> None:
    book_id = await configure_book(partnercrmd_app, "tryton", **tryton.settings())

    async def search(query: str) -> list[str]:
        collections = await api.call("POST", "Search", timeoutMs=10_000, query=query)
        return [r["DisplayText"] for r in next(c for c in collections if c["AddinId"] == book_id)["Records"]]

    deadline = asyncio.get_running_loop().time() + 20
    while True:  # the first fill runs in the background once the first search has waited a second for it
        party_searches.clear()
        assert await search("zoe lefevre") == ["Zoë Lefèvre"]
        if party_searches == [by_id(tryton.ids["zoe"])] or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert party_searches == [by_id(tryton.ids["zoe"])]

    await api.call(
        "POST", "CreateNewRecord", RecordTypeId=f"{book_id}/Contact", FirstName="Wilhelmina", LastName="Écrin"
    )
    [pid] = tryton.admin().call("model.party.party.search", [("name", "=", "Wilhelmina Écrin")], 0, None, None)
    party_searches.clear()
    assert await search("wilhelmina ecrin") == ["Wilhelmina Écrin"]
    assert party_searches == [by_id(pid)]  # in the index at once: no search of Tryton's


# --- the index file --------------------------------------------------------------------------------------


async def test_an_index_file_of_the_numbers_only_format_is_rebuilt(
    tmp_path: Path, tryton: Tryton, party_searches: list[Any]
) -> None:
    old = PhoneIndex(tmp_path / "numbers.sqlite", "GB")  # what earlier versions wrote: numbers, no names
    old.replace_all([(str(tryton.ids["harold"]), ["+12127365000"])])
    assert old.age() < 60
    old.close()

    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        assert await book.index.age() == float("inf")  # forgotten, so the next search fills both
        assert await book.index.party_count() == 0
        assert await names_found(book, "whitfield") == ["Dana Whitfield"]  # the index or the server, as it goes
        counts = await book.index.refresh(book.client)
        assert counts.parties >= 3
        party_searches.clear()
        assert await names_found(book, "whitfield") == ["Dana Whitfield"]
        assert party_searches == [by_id(tryton.ids["dana"])]

    with sqlite3.connect(tmp_path / "numbers.sqlite") as db:
        # 2: the SDK's NameIndex (1 was this add-in's own table, rebuilt like any other schema)
        assert db.execute("SELECT value FROM meta WHERE key = 'names_schema'").fetchone() == ("2",)
        db.execute("UPDATE meta SET value = '0' WHERE key = 'names_schema'")  # as if from another version
    db.close()
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        assert await book.index.age() == float("inf")
        assert await book.index.party_count() == 0


async def test_large_answers_are_decoded_off_the_event_loop(
    tmp_path: Path, tryton: Tryton, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[tuple[int, bool]] = []  # (answer length, decoded on the event loop's thread)
    original = TrytonClient._result

    def result(client: TrytonClient, answer: HttpAnswer, method: str) -> Any:
        decoded.append((len(answer.body), threading.current_thread() is threading.main_thread()))
        return original(client, answer, method)

    monkeypatch.setattr(TrytonClient, "_result", result)
    monkeypatch.setattr(client_module, "THREAD_DECODE_BYTES", 100)  # the seeded database's pages are small
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.client.ensure_signed_in()
        decoded.clear()
        counts = await book.index.refresh(book.client)
        assert counts.parties >= 3
        assert [length > 100 for length, _ in decoded] == [not on_loop for _, on_loop in decoded]
        assert any(length > 100 for length, _ in decoded)
        assert await names_found(book, "whitfield") == ["Dana Whitfield"]


# --- units ----------------------------------------------------------------------------------------------


def test_folding_ignores_case_and_accents() -> None:
    assert fold("Zoë LEFÈVRE Straße") == "zoe lefevre strasse"
    assert query_words("  Zoë  zoe ZOE\tlefèvre ") == ["zoe", "lefevre"]
    assert query_words("\u0301") == []  # a lone combining accent is no word
    assert party_text("Dana", " ", ["A@B.example", ""]) == "dana\na@b.example"

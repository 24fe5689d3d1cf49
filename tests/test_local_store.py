"""The local address book's storage: number index, substring name search, upgrades of older databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from partnercrmd.local_book.store import LocalStore
from partnercrmd.model import Contact, ContactPatch, Phone


def people() -> list[Contact]:
    return [
        Contact(display_name="Chris Huffman", company="Huffman Logistics", emails=["chris@huff.example"]),
        Contact(display_name="Christine O'Neil", company="Acme", phones=[Phone("020 7946 0958")]),
        Contact(display_name="Bo Li", company="Li & Co"),
        Contact(display_name='Quote "Q" Person', company="Quotes"),
    ]


def names(contacts: list[Contact]) -> list[str]:
    return [c.display_name for c in contacts]


def test_substring_search_on_every_word_in_name_order(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "c.sqlite3", "GB")
    store.add_many(people())
    assert names(store.find_by_text("chris", 10)) == ["Chris Huffman", "Christine O'Neil"]
    assert names(store.find_by_text("HUFF logistics", 10)) == ["Chris Huffman"]
    assert names(store.find_by_text("huff.example", 10)) == ["Chris Huffman"]
    assert names(store.find_by_text("li", 10)) == ["Bo Li"]  # words under three letters: LIKE
    assert names(store.find_by_text('"q"', 10)) == ['Quote "Q" Person']
    assert names(store.find_by_text("o'neil acme", 10)) == ["Christine O'Neil"]
    assert store.find_by_text("nobody", 10) == []
    assert names(store.find_by_text("chris", 1)) == ["Chris Huffman"]


def test_index_follows_updates(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "c.sqlite3", "GB")
    (chris, *_) = store.add_many(people())
    store.update(chris.id, ContactPatch(display_name="Kit Marlowe", company="Globe"))
    assert store.find_by_text("huffman", 10) == []
    assert names(store.find_by_text("marlowe globe", 10)) == ["Kit Marlowe"]


def test_a_version_1_database_gets_its_index_built(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    store = LocalStore(path, "GB")
    store.add_many(people())
    store.close()
    with sqlite3.connect(path) as db:  # make it look like a book written by 0.1.0 before the index existed
        db.execute("DROP TABLE contacts_fts")
        db.execute("DROP TRIGGER contacts_fts_insert")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    db.close()
    reopened = LocalStore(path, "GB")
    assert names(reopened.find_by_text("huffman", 10)) == ["Chris Huffman"]
    reopened.close()


def test_numbers_are_found_in_any_format(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "c.sqlite3", "GB")
    store.add_many(people())
    for query in ("+442079460958", "0044 20 7946 0958"):
        assert names(store.find_by_number(query, 5)) == ["Christine O'Neil"]

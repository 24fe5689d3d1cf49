"""The card store's name index: every word found through the trigram index, and a store of the previous layout kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from partnercrmd_carddav.index import CardRecord, CardStore


def record(name: str, words: str, sort_key: str) -> CardRecord:
    return CardRecord(name, f'"{name}-1"', f"uid-{name}", (), words, sort_key)


def test_name_search_finds_every_word_in_name_order(tmp_path: Path) -> None:
    store = CardStore(tmp_path / "cards.sqlite3")
    try:
        store.apply(
            [
                record("b.vcf", "zoe lefevre\nzoe@example.fr", "lefevre zoe"),
                record("a.vcf", "dana whitfield\ndana@northwind.example", "whitfield dana"),
                record("c.vcf", "li wu\nnorthwind traders", "wu li"),
            ],
            [],
        )
        assert store.find_words(["northwind"], 10) == ["a.vcf", "c.vcf"]
        assert store.find_words(["wu", "li"], 10) == ["c.vcf"]  # words too short for a trigram
        assert store.find_words(["dana", "north"], 10) == ["a.vcf"]
        assert store.find_words(["northwind"], 1) == ["a.vcf"]
        store.apply([record("a.vcf", "dana brook", "brook dana")], ["c.vcf"])
        assert store.find_words(["northwind"], 10) == []
        assert store.find_words(["brook"], 10) == ["a.vcf"]
    finally:
        store.close()


def test_a_store_of_the_previous_layout_keeps_its_cards_and_indexes_their_words(tmp_path: Path) -> None:
    path = tmp_path / "cards.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(
        """
        CREATE TABLE cards (name TEXT PRIMARY KEY, etag TEXT NOT NULL, uid TEXT NOT NULL, numbers TEXT NOT NULL,
                            words TEXT NOT NULL, sort_key TEXT NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO cards VALUES ('a.vcf', '"1"', 'uid-a', '[]', 'dana whitfield', 'whitfield dana');
        INSERT INTO meta VALUES ('schema', '2'), ('filled', '1'), ('token', 'ctag-7');
        """
    )
    old.close()
    store = CardStore(path)
    try:
        assert store.filled and store.token() == "ctag-7"  # nothing to fetch again
        assert store.find_words(["whitfield"], 5) == ["a.vcf"]
    finally:
        store.close()

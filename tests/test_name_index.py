"""The SDK's NameIndex: a local index of contacts by name (what Tryton and Active Directory books search)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from partnercrmd.sdk import NameIndex, holds_every_word, query_words, searchable_text


def test_words_and_texts_are_folded_and_a_word_never_spans_two_values() -> None:
    assert query_words("  Zoë  zoe ZOE\tlefèvre ") == ["zoe", "lefevre"]
    assert query_words("\u0301") == []
    text = searchable_text(["Zoë Lefèvre", " ", "ACME Ltd", "Z.L@Example.COM"])
    assert text == "zoe lefevre\nacme ltd\nz.l@example.com"
    assert holds_every_word(text, ["lefevre", "acme"])
    assert not holds_every_word(text, ["lefevre acme"])
    assert not holds_every_word(searchable_text(["Ann", "Ebury"]), ["annebury"])


def test_found_by_every_word_in_name_order_and_kept_across_reopening(tmp_path: Path) -> None:
    index = NameIndex(tmp_path / "numbers.sqlite")
    assert index.prepare() is True
    rows = [("2", "Béla", "bela"), ("1", "Béla", "bela\nbela@x.example"), ("3", "Anna", "anna")]
    assert index.replace_all(rows) == 3
    assert index.find(["bela"], 10) == ["2", "1"]  # by name, then as stored
    assert index.find(["bela", "x.example"], 10) == ["1"]
    assert index.find(["be"], 10) == ["2", "1"]  # shorter than a trigram: a LIKE scan
    assert index.find(["wildcard_1%"], 10) == []
    index.update("3", "Anna Béla", "anna bela\nwildcard_1%")
    assert index.find(["bela"], 2) == ["3", "2"]
    assert index.find(["wildcard_1%"], 10) == ["3"]
    assert index.find(["wildcardx1"], 10) == []  # `_` and `%` are no wildcards
    index.update("2", "", "")  # gone
    assert index.find(["bela"], 10) == ["3", "1"]
    index.close()
    again = NameIndex(tmp_path / "numbers.sqlite")
    assert again.prepare() is False
    assert again.count() == 2
    assert again.find(["anna"], 10) == ["3"]
    again.close()


def test_replacing_everything_forgets_who_is_gone_and_repeats_count_once(tmp_path: Path) -> None:
    index = NameIndex(tmp_path / "numbers.sqlite")
    index.prepare()
    index.replace_all([("a", "Old One", "old one")])
    assert index.replace_all([("b", "New", "new"), ("b", "New", "new\nnew@x.example")]) == 1
    assert index.find(["old"], 10) == []
    assert index.find(["new@x"], 10) == ["b"]
    index.close()


def test_a_file_of_another_schema_is_emptied_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "numbers.sqlite"
    with sqlite3.connect(path) as db:  # the Tryton add-in's own name table, before the SDK had one
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('names_schema', '1')")
        db.execute("CREATE VIRTUAL TABLE party_words USING fts5(name UNINDEXED, words, tokenize='trigram')")
        db.execute("INSERT INTO party_words (rowid, name, words) VALUES (1, 'Dana', 'dana')")
    db.close()
    index = NameIndex(path)
    assert index.prepare() is True
    assert index.count() == 0
    index.close()
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "party_words" not in tables and "names" in tables

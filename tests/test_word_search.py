"""partnercrmd.word_search: rows holding every word, through SQLite's trigram index, checked against a plain scan."""

from __future__ import annotations

import sqlite3

import pytest

from partnercrmd import word_search

ROWS = [
    "dana whitfield\ndana@northwind.example",
    "eamon o'neill\nnorthwind traders",
    'zoe "zed" lefevre',
    "li wu\nwu@example.com",
    "50% off_sale",
]


@pytest.fixture
def db() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.executescript("CREATE TABLE people (name TEXT PRIMARY KEY, words TEXT NOT NULL);")
    connection.executescript(word_search.fts_schema("people", "words"))
    connection.executemany("INSERT INTO people VALUES (?, ?)", [(f"p{i}", w) for i, w in enumerate(ROWS)])
    return connection


def found(db: sqlite3.Connection, words: list[str]) -> list[str]:
    where, params = word_search.words_where("people", "words", words)
    return [row[0] for row in db.execute(f"SELECT words FROM people WHERE {where} ORDER BY name", params)]  # noqa: S608


@pytest.mark.parametrize(
    "words",
    [["northwind"], ["dana", "north"], ["wu"], ["li", "wu"], ['"zed"'], ["zed"], ["%"], ["off_"], ["50%"], [], ["xyz"]],
)
def test_finds_exactly_the_rows_holding_every_word(db: sqlite3.Connection, words: list[str]) -> None:
    assert found(db, words) == [text for text in ROWS if all(word in text for word in words)]


def test_the_index_follows_changes_and_deletions(db: sqlite3.Connection) -> None:
    db.execute("UPDATE people SET words = 'dana brook' WHERE name = 'p0'")
    db.execute("DELETE FROM people WHERE name = 'p1'")
    assert found(db, ["northwind"]) == []
    assert found(db, ["brook"]) == ["dana brook"]


def test_a_table_filled_before_the_index_is_found_after_a_rebuild() -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.executescript("CREATE TABLE people (name TEXT PRIMARY KEY, words TEXT NOT NULL);")
    connection.execute("INSERT INTO people VALUES ('p0', 'dana whitfield')")
    connection.executescript(word_search.fts_schema("people", "words"))
    connection.execute(word_search.rebuild_sql("people"))
    assert found(connection, ["whit"]) == ["dana whitfield"]


def test_names_that_are_not_identifiers_are_refused() -> None:
    with pytest.raises(ValueError, match="not an SQL identifier"):
        word_search.words_where("people; DROP TABLE x", "words", ["a"])

"""The local phone index answers number lookups exactly, whatever format the backend stored."""

from __future__ import annotations

from pathlib import Path

from partnercrmd.phone_index import PhoneIndex


def test_lookup_finds_any_written_form_and_only_the_right_contact(tmp_path: Path) -> None:
    index = PhoneIndex(tmp_path / "index.sqlite3", "GB")
    assert index.age() == float("inf")
    count = index.replace_all(
        [("alice", ["+44 20 7946 0958", "not a number"]), ("bob", ["(212) 736-5000"]), ("carol", ["020 7946 1958"])]
    )
    assert count == 3
    assert index.lookup("02079460958") == ["alice"]
    assert index.lookup("0044 20 7946 0958") == ["alice"]
    assert index.lookup("+1 212 736 5000") == ["bob"]
    assert index.lookup("+44 20 7946 9999") == []
    assert index.age() < 5


def test_update_and_remove_keep_the_index_current(tmp_path: Path) -> None:
    index = PhoneIndex(tmp_path / "index.sqlite3", "GB")
    index.replace_all([("alice", ["+44 20 7946 0958"])])
    index.update("alice", ["+33 1 42 68 53 00"])
    assert index.lookup("02079460958") == []
    assert index.lookup("+33 1 42 68 53 00") == ["alice"]
    index.remove("alice")
    assert index.lookup("+33142685300") == []
    index.close()


def test_clear_forgets_numbers_and_the_refresh(tmp_path: Path) -> None:
    index = PhoneIndex(tmp_path / "index.sqlite3", "GB")
    index.replace_all([("alice", ["+44 20 7946 0958"])])
    index.clear()
    assert index.lookup("02079460958") == []
    assert index.refreshed_at() is None
    index.close()


def test_notes_are_kept_in_the_index_file_until_removed(tmp_path: Path) -> None:
    index = PhoneIndex(tmp_path / "numbers.sqlite3", "GB")
    index.set_note("since", "modifyTimestamp 20260101000000Z")
    index.replace_all([("a", ["020 7946 0958"])])  # a refresh keeps notes
    index.close()
    again = PhoneIndex(tmp_path / "numbers.sqlite3", "GB")
    assert again.note("since") == "modifyTimestamp 20260101000000Z"
    assert again.note("other") is None
    again.set_note("since", None)
    assert again.note("since") is None
    assert again.refreshed_at() is not None  # notes never touch the refresh time
    again.close()


def test_update_many_writes_only_contacts_whose_numbers_changed(tmp_path: Path) -> None:
    index = PhoneIndex(tmp_path / "index.sqlite3", "GB")
    index.replace_all([("alice", ["+44 20 7946 0958"]), ("bob", ["(212) 736-5000", "+1 212 736 5001"]), ("carol", [])])
    # The same contacts read again, as an add-in does at every search: nothing is written.
    assert index.update_many([("alice", ["+44 20 7946 0958"]), ("bob", ["(212) 736-5000", "+1 212 736 5001"])]) == 0
    # Renumbered, numbers in another order, gone, new: each written, in one go.
    written = index.update_many(
        [
            ("alice", ["+33 1 42 68 53 00"]),
            ("bob", ["+1 212 736 5001", "(212) 736-5000"]),
            ("carol", []),
            ("dan", ["0161 496 0000"]),
        ]
    )
    assert written == 3  # carol had no numbers and still has none
    assert index.lookup("02079460958") == [] and index.lookup("+33 1 42 68 53 00") == ["alice"]
    assert index.lookup("+1 212 736 5000") == ["bob"] and index.lookup("+1 212 736 5001") == ["bob"]
    assert index.lookup("+44 161 496 0000") == ["dan"]
    assert index.update_many([("dan", [])]) == 1
    assert index.lookup("+44 161 496 0000") == []
    index.close()

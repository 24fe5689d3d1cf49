"""Importing a file again updates its contacts instead of doubling them (issue #14, item 9).

Through `partnercrmd import` (the CLI's `main`, PARTNERCRMD_HOME in a temporary directory) and the HTTP API
of the real app: a contact with an identity (vCard UID, Mac Address Book's X-ABUID, a CSV id column) is
updated in place, keeping its local id and call history; one without is skipped when an identical one is
stored; every import reports added / updated / unchanged / skipped; a book written before identities were
kept (tests/data/local_books/schema-2, see the README there) opens, keeps its contacts and updates them.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from partnercrmd.cli import main
from partnercrmd.paths import Paths
from partnercrmd.testing import ApiSession, action, search

SHARED_ENV = "PARTNERCRMD_SHARED"
OLD_BOOKS = Path(__file__).parent / "data" / "local_books"
REPORT = re.compile(
    r"^Imported (\d+) contacts from .+: (\d+) added, (\d+) updated, (\d+) unchanged \((\d+) skipped as duplicates\)\.$",
    re.MULTILINE,
)
WITH_IDENTITY = {"John_Doe_EVOLUTION.vcf", "John_Doe_LOTUS_NOTES.vcf", "John_Doe_MAC_ADDRESS_BOOK.vcf"}
"""The real exports whose cards carry an identity (UID, or X-ABUID); the others carry none."""


def _vcard_dir() -> Path | None:
    """shared/data/vcards beside the checkout (as in CI), else under $PARTNERCRMD_SHARED."""
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "data" / "vcards"]
    if os.environ.get(SHARED_ENV):
        base = Path(os.environ[SHARED_ENV])
        candidates += [base / "data" / "vcards", base / "vcards", base]
    return next((path for path in candidates if path.is_dir() and any(path.glob("*.vcf"))), None)


VCARD_DIR = _vcard_dir()
VCARD_NAMES = sorted(p.name for p in VCARD_DIR.glob("*.vcf")) if VCARD_DIR else ["<shared/data/vcards missing>"]


def shared(name: str) -> Path:
    """A real export, read in place."""
    if VCARD_DIR is None:
        pytest.fail(f"shared/data/vcards not found beside the project; set {SHARED_ENV} to the shared directory")
    return VCARD_DIR / name


@dataclass(frozen=True)
class Report:
    """What `partnercrmd import` printed."""

    read: int
    added: int
    updated: int
    unchanged: int
    skipped: int

    @property
    def counts(self) -> tuple[int, int, int, int]:
        return (self.added, self.updated, self.unchanged, self.skipped)


def run_import(path: Path) -> Report:
    """`partnercrmd import PATH` into the embedded book; it must succeed and print its report."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["import", str(path)])
    assert code == 0, f"exit {code}: {out.getvalue()}{err.getvalue()}"
    match = REPORT.search(out.getvalue())
    assert match, f"no import report in {out.getvalue()!r}"
    return Report(*(int(group) for group in match.groups()))


async def import_in_thread(path: Path) -> Report:
    """`run_import` while the app under test serves (the CLI's SQLite work must not block its loop)."""
    return await asyncio.to_thread(run_import, path)


def book_file(home: Paths) -> Path:
    return home.book_dir("local") / "contacts.sqlite3"


def contact_count(home: Paths) -> int:
    with contextlib.closing(sqlite3.connect(book_file(home))) as db:
        return int(db.execute("SELECT count(*) FROM contacts").fetchone()[0])


def unfolded(path: Path) -> str:
    """A vCard 3.0 file's text with folded lines joined (so a value can be edited as one string)."""
    return re.sub(r"\r?\n[ \t]", "", path.read_text(encoding="utf-8"))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


async def local_records(api: ApiSession, query: str, **fields: Any) -> list[dict[str, Any]]:
    """The local book's records for `query`."""
    local = (await search(api, query, count=20, **fields))["local"]
    assert not local["ExceptionText"], local
    return list(local["Records"])


async def log_call(api: ApiSession, record: dict[str, Any], number: str, call_id: str) -> None:
    await api.call(
        "POST",
        "DoAction",
        actionId=action(record, "LogActivity"),
        CallId=call_id,
        Direction="Inbound",
        CallerNumber=number,
        CalledNumber="200",
        StartTimeUtc="2026-11-25T14:03:00Z",
        DurationSeconds=61,
        Notes="Wants a quote",
    )


# --- the real exports ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VCARD_NAMES)
def test_a_real_export_imported_twice_adds_nothing_the_second_time(partnercrmd_home: Paths, name: str) -> None:
    first = run_import(shared(name))
    assert first.added >= 1 and first.updated == 0 and first.unchanged == 0
    count = contact_count(partnercrmd_home)
    assert count == first.added

    again = run_import(shared(name))

    assert contact_count(partnercrmd_home) == count
    if name in WITH_IDENTITY:  # found by UID / X-ABUID, already as the file has them
        assert again.counts == (0, 0, again.read, 0)
    else:  # no identity: identical to what the first import stored
        assert again.counts == (0, 0, 0, again.read)


def test_cards_without_uid_are_duplicates_however_the_copy_is_written(partnercrmd_home: Paths, tmp_path: Path) -> None:
    assert run_import(shared("gmail-list.vcf")).counts == (3, 0, 0, 0)
    text = shared("gmail-list.vcf").read_text(encoding="utf-8")
    # The same three cards as another program writes them: CRLF, case and spacing of the values changed.
    rewritten = text.replace("asmithk@gmail.com", "ASmithK@Gmail.COM").replace("FN:Doug White", "FN:Doug   White")
    copy = write(tmp_path / "gmail-list-copy.vcf", rewritten.replace("\n", "\r\n"))
    assert run_import(copy).counts == (0, 0, 0, 3)
    # A card that differs in what it holds is not a duplicate: it is added.
    extra = write(tmp_path / "gmail-list-more.vcf", text.replace("dwhite@gmail.com", "doug@white.example"))
    assert run_import(extra).counts == (1, 0, 0, 2)
    assert contact_count(partnercrmd_home) == 4


def test_cards_imported_without_uid_take_the_uid_a_later_export_gives(partnercrmd_home: Paths, tmp_path: Path) -> None:
    text = shared("gmail-list.vcf").read_text(encoding="utf-8")
    assert run_import(shared("gmail-list.vcf")).counts == (3, 0, 0, 0)
    with_uids = "".join(
        card.replace("VERSION:3.0", f"VERSION:3.0\nUID:gmail-{n}", 1) + "END:VCARD\n"
        for n, card in enumerate(text.split("END:VCARD")[:-1])
    )
    # The stored contacts are these cards: they keep the UIDs from now on, and a later change updates them.
    assert run_import(write(tmp_path / "with-uids.vcf", with_uids)).counts == (0, 0, 3, 0)
    changed = with_uids.replace("dwhite@gmail.com", "doug@white.example")
    assert run_import(write(tmp_path / "with-uids-changed.vcf", changed)).counts == (0, 1, 2, 0)
    assert contact_count(partnercrmd_home) == 3


def test_a_file_that_repeats_a_uid_keeps_its_last_card(partnercrmd_home: Paths, tmp_path: Path) -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:twice-1\r\nFN:Tess Twice\r\nTEL:{}\r\nEND:VCARD\r\n"
    path = write(tmp_path / "twice.vcf", card.format("+44 20 7946 0301") + card.format("+44 20 7946 0302"))
    assert run_import(path).counts == (1, 0, 0, 1)
    assert run_import(path).counts == (0, 0, 1, 1), "the same file again changes nothing"
    with contextlib.closing(sqlite3.connect(book_file(partnercrmd_home))) as db:
        assert db.execute("SELECT number FROM phones").fetchall() == [("+44 20 7946 0302",)]


# --- updates by identity, seen through Search ------------------------------------------------------------

OLD_NUMBER, NEW_NUMBER = "905-555-1234", "905-555-8642"


async def test_an_edited_number_updates_the_contact_and_search_finds_only_the_new_one(
    api: ApiSession, partnercrmd_home: Paths, tmp_path: Path
) -> None:
    original = shared("John_Doe_EVOLUTION.vcf")
    assert (await import_in_thread(original)).counts == (1, 0, 0, 0)
    (before,) = await local_records(api, OLD_NUMBER)
    assert "Doe" in before["DisplayText"]
    await log_call(api, before, OLD_NUMBER, "call-before-update")
    count = contact_count(partnercrmd_home)

    text = unfolded(original)
    assert text.count(OLD_NUMBER) == 1
    edited = write(tmp_path / "John_Doe_EVOLUTION-edited.vcf", text.replace(OLD_NUMBER, NEW_NUMBER))
    assert (await import_in_thread(edited)).counts == (0, 1, 0, 0)

    assert contact_count(partnercrmd_home) == count
    assert await local_records(api, OLD_NUMBER) == []
    (after,) = await local_records(api, NEW_NUMBER, includeActivities="true")
    assert after["UniqueId"] == before["UniqueId"], "the contact keeps its local id"
    assert [a["DurationSeconds"] for a in after["Activities"]] == [61], "and its call history"
    assert "905-666-1234" in str(after), "the card's other number is still there"
    # The edited file again: nothing left to change.
    assert (await import_in_thread(edited)).counts == (0, 0, 1, 0)


CSV_LAYOUTS = {
    # Outlook's own columns, plus the identity column a script or another program may add.
    "outlook": ("ID", ["First Name", "Last Name", "Company", "Business Phone", "Mobile Phone", "E-mail Address"]),
    # Google Contacts' new layout, likewise.
    "google": ("UID", ["First Name", "Last Name", "Organization Name", "Phone 1 - Label", "Phone 1 - Value"]),
}


def people_csv(layout: str, ada_number: str) -> str:
    id_column, columns = CSV_LAYOUTS[layout]
    rows = [
        ["crm-1001", "Ada", "Lovelace", "Engines Ltd", ada_number],
        ["crm-1002", "Charles", "Babbage", "Engines Ltd", "+44 20 7946 0555"],
    ]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([id_column, *columns])
    for identity, first, last, company, number in rows:
        if layout == "outlook":
            writer.writerow([identity, first, last, company, number, "", f"{first.lower()}@engines.example"])
        else:
            writer.writerow([identity, first, last, company, "Work", number])
    return out.getvalue()


@pytest.mark.parametrize("layout", sorted(CSV_LAYOUTS))
async def test_a_csv_with_an_id_column_updates_by_it(
    api: ApiSession, partnercrmd_home: Paths, tmp_path: Path, layout: str
) -> None:
    old, new = "+44 20 7946 0444", "+44 20 7946 0777"
    first = write(tmp_path / "people.csv", people_csv(layout, old))
    assert (await import_in_thread(first)).counts == (2, 0, 0, 0)
    (ada,) = await local_records(api, "020 7946 0444")
    count = contact_count(partnercrmd_home)
    assert (await import_in_thread(first)).counts == (0, 0, 2, 0)

    edited = write(tmp_path / "people-edited.csv", people_csv(layout, new))
    assert (await import_in_thread(edited)).counts == (0, 1, 1, 0)

    assert contact_count(partnercrmd_home) == count
    assert await local_records(api, "020 7946 0444") == []
    (found,) = await local_records(api, "020 7946 0777")
    assert found["UniqueId"] == ada["UniqueId"] and "Lovelace" in found["DisplayText"]


def test_a_csv_without_an_id_column_imported_twice_is_skipped(partnercrmd_home: Paths, tmp_path: Path) -> None:
    columns = ["First Name", "Last Name", "Company", "Business Phone", "E-mail Address", "Notes"]
    rows = [["Grace", "Hopper", "Navy", "+1 202 555 0101", "grace@navy.example", "Line one\r\nLine two"]] * 2
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows([columns, *rows])
    path = write(tmp_path / "outlook.csv", out.getvalue())
    assert run_import(path).counts == (1, 0, 0, 1), "the same row twice in one file is one contact"
    assert run_import(path).counts == (0, 0, 0, 2)
    assert contact_count(partnercrmd_home) == 1


# --- a book written before identities were kept ----------------------------------------------------------

LEGACY_VCARD = """BEGIN:VCARD
VERSION:3.0
UID:legacy-uid-0001@example.com
FN:Lena Legacy
N:Legacy;Lena;;;
ORG:Old Schema Ltd
TEL;TYPE=WORK:+44 20 7946 0101
EMAIL;TYPE=WORK:lena@oldschema.example
END:VCARD
"""
"""The card the schema-2 fixture imported (its UID became Lena's local id)."""
LEGACY_CSV = (
    '"First Name","Last Name","Company","Business Phone","E-mail Address"\r\n'
    '"Carl","Csv","Plain Rows plc","+44 20 7946 0202","carl@plainrows.example"\r\n'
)
"""The CSV the schema-2 fixture imported (no id column)."""


@pytest.fixture
def old_book(partnercrmd_home: Paths) -> Path:
    """The embedded book as partnercrmd 0.1.0 (schema 2) left it, installed before the app starts."""
    path = book_file(partnercrmd_home)
    path.parent.mkdir(parents=True, mode=0o700)
    shutil.copyfile(OLD_BOOKS / "schema-2" / "contacts.sqlite3", path)
    return path


async def test_a_schema_2_book_opens_keeps_its_contacts_and_updates_them(
    old_book: Path, api: ApiSession, partnercrmd_home: Paths, tmp_path: Path
) -> None:
    (lena,) = await local_records(api, "Lena Legacy", includeActivities="true")
    assert [a["DurationSeconds"] for a in lena["Activities"]] == [120]
    assert [r["DisplayText"] for r in await local_records(api, "02079460202")] == ["Carl Csv"]
    assert contact_count(partnercrmd_home) == 2
    with contextlib.closing(sqlite3.connect(old_book)) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("3",)

    # Lena's card with a new number: found by her UID (the old book kept it as her local id), and updated.
    renumbered = write(tmp_path / "legacy-new.vcf", LEGACY_VCARD.replace("7946 0101", "7946 0111"))
    assert (await import_in_thread(renumbered)).counts == (0, 1, 0, 0)
    assert (await import_in_thread(renumbered)).counts == (0, 0, 1, 0)
    # Carl's CSV again: identical to what the old book holds.
    assert (await import_in_thread(write(tmp_path / "legacy.csv", LEGACY_CSV))).counts == (0, 0, 0, 1)

    assert contact_count(partnercrmd_home) == 2
    assert await local_records(api, "02079460101") == []
    (moved,) = await local_records(api, "02079460111", includeActivities="true")
    assert moved["UniqueId"] == lena["UniqueId"]
    assert [a["DurationSeconds"] for a in moved["Activities"]] == [120]


# --- one transaction --------------------------------------------------------------------------------------


def test_an_import_that_fails_half_way_changes_nothing(partnercrmd_home: Paths, tmp_path: Path) -> None:
    first = write(tmp_path / "people.csv", people_csv("outlook", "+44 20 7946 0444"))
    assert run_import(first).counts == (2, 0, 0, 0)
    with contextlib.closing(sqlite3.connect(book_file(partnercrmd_home))) as db:
        before = db.execute("SELECT id, display_name, updated FROM contacts ORDER BY id").fetchall()
        numbers = db.execute("SELECT contact_id, number FROM phones ORDER BY contact_id, position").fetchall()
        # A real SQLite failure on the last row's insert (as a full disk or a broken file would give).
        db.execute(
            "CREATE TRIGGER refuse_zed BEFORE INSERT ON contacts WHEN new.last_name = 'Zed'"
            " BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END"
        )
        db.commit()
    # Ada's number changes (an update), Bob is new, Zed fails: none of it may stay.
    text = people_csv("outlook", "+44 20 7946 0777") + '"crm-2001","Bob","New","","+1 555 0100","",""\r\n'
    text += '"crm-2002","Zoe","Zed","","+1 555 0101","",""\r\n'
    failing = write(tmp_path / "people-failing.csv", text)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["import", str(failing)])

    assert code != 0
    message = err.getvalue()
    assert "people-failing.csv" in message and "changed nothing" in message and "Traceback" not in message
    assert out.getvalue() == ""
    with contextlib.closing(sqlite3.connect(book_file(partnercrmd_home))) as db:
        assert db.execute("SELECT id, display_name, updated FROM contacts ORDER BY id").fetchall() == before
        assert db.execute("SELECT contact_id, number FROM phones ORDER BY contact_id, position").fetchall() == numbers


def test_a_card_in_utf7_with_a_lone_surrogate_is_imported_readably(partnercrmd_home: Paths, tmp_path: Path) -> None:
    # UTF-7 decodes "+2AA-" to a lone surrogate, which SQLite (UTF-8) cannot store: it becomes U+FFFD.
    card = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=UTF-7;ENCODING=QUOTED-PRINTABLE:Odd +2AA- Name\r\nEND:VCARD\r\n"
    assert run_import(write(tmp_path / "utf7.vcf", card)).counts == (1, 0, 0, 0)
    with contextlib.closing(sqlite3.connect(book_file(partnercrmd_home))) as db:
        assert db.execute("SELECT display_name FROM contacts").fetchone() == ("Odd \ufffd Name",)

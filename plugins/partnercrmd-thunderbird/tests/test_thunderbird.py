"""The Thunderbird add-in against a real Thunderbird, driven through a real daemon's HTTP API and CLI.

One headless Thunderbird (thunderbird_app.py) runs for the whole module with its own new profile; every contact and
address book is made, changed and deleted by Thunderbird itself while it runs, and the daemon reads the profile as a
user's daemon would (Thunderbird holding its files locked the whole time). Tests use their own names and numbers:
the profile is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import sqlite3
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import partnercrmd_thunderbird
import pytest
from aiohttp import web
from partnercrmd_thunderbird import THUNDERBIRD, client
from partnercrmd_thunderbird.settings import parse_settings
from thunderbird_app import Thunderbird

from partnercrmd.sdk import AddinError, ConfigError
from partnercrmd.testing import (
    ApiSession,
    Paths,
    RecordingOpener,
    addin_host,
    configure_book,
    names,
    remove_default_book,
    run_cli,
    search,
)

PERSONAL = "jsaddrbook://abook.sqlite"
COLLECTED = "jsaddrbook://history.sqlite"
_serial = itertools.count(100)


@pytest.fixture(scope="module")
def thunderbird(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Thunderbird]:
    app = Thunderbird(tmp_path_factory.mktemp("thunderbird")).start()
    try:
        yield app
    finally:
        app.stop()


def vcard(name: str, *tels: tuple[str, str], org: str = "", email: str = "") -> str:
    """A vCard 4.0 as Thunderbird's contact editor writes one (`tels`: (type, number))."""
    first, _, last = name.partition(" ")
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"FN:{name}", f"N:{last};{first};;;"]
    lines += [f"ORG:{org}"] if org else []
    lines += [f"EMAIL;PREF=1:{email}"] if email else []
    lines += [f"TEL;TYPE={kind};VALUE=TEXT:{number}" for kind, number in tels]
    return "\r\n".join([*lines, "END:VCARD", ""])


def unique_number() -> str:
    """A UK drama number (Ofcom's 020 7946 0xxx range) no other test uses."""
    return f"020 7946 0{next(_serial):03d}"


async def thunderbird_book(app: web.Application, thunderbird: Thunderbird, **settings: Any) -> str:
    await remove_default_book(app)
    return await configure_book(app, "thunderbird", profile=str(thunderbird.profile), **settings)


async def found(api: ApiSession, book_id: str, query: str) -> list[str]:
    collection = (await search(api, query))[book_id]
    assert collection["ExceptionText"] == "", collection["ExceptionText"]
    return names(collection)


def fields(record: dict[str, Any]) -> dict[str, str]:
    """A record's fields by well-known name (custom fields by their own name)."""
    return {f["Name"] if f["WellKnownName"] == "Custom" else f["WellKnownName"]: f["Value"] for f in record["Fields"]}


# --- discovery -------------------------------------------------------------------------------------------------


async def test_the_add_in_is_found_through_its_entry_point_and_lists_what_it_can_do(
    api: ApiSession, partnercrmd_app: web.Application, thunderbird: Thunderbird
) -> None:
    found_points = {ep.name: ep for ep in entry_points(group="partnercrmd.addins")}
    assert found_points["thunderbird"].value == "partnercrmd_thunderbird"
    info = addin_host(partnercrmd_app).addins["thunderbird"]
    assert (info.distribution, info.version) == ("partnercrmd-thunderbird", partnercrmd_thunderbird.__version__)
    assert addin_host(partnercrmd_app).integration("thunderbird") is THUNDERBIRD

    book_id = await thunderbird_book(partnercrmd_app, thunderbird)
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert (listed["CrmAddinTypeId"], listed["Status"]) == ("thunderbird", "Ready")
    assert listed["Type"]["TypeFullName"] == "Thunderbird address books"
    assert listed["Type"]["Capabilities"] == ["Pop", "SearchByName", "SearchByNumber"]
    assert not listed["HasModifyFeature"] and not listed["HasActivityActionFeatureCreate"]


# --- search, with Thunderbird running and holding its files locked ----------------------------------------------


async def test_callers_are_found_whatever_way_their_numbers_were_typed_in_thunderbird(
    api: ApiSession, partnercrmd_app: web.Application, thunderbird: Thunderbird
) -> None:
    work, mobile, home, fax = unique_number(), unique_number(), unique_number(), unique_number()
    # Four people, each number typed another way: national with spaces, E.164, 00-international, punctuated.
    typed = {
        "Dana Whitfield": ("work", work),
        "Eamon Oneill": ("cell", "+44" + mobile[1:].replace(" ", "")),
        "Farah Kaur": ("home", "0044 " + home[1:]),
        "Gus Lund": ("fax", "(" + fax[:3] + ") " + fax[4:].replace(" ", "-")),
    }
    for name, tel in typed.items():
        thunderbird.add_vcard(
            PERSONAL, vcard(name, tel, org="Northwind Traders", email=f"{name[:4].lower()}@nw.example")
        )
    book_id = await thunderbird_book(partnercrmd_app, thunderbird)

    for name, number in zip(typed, (work, mobile, home, fax), strict=True):
        for query in (number, "+44" + number[1:], "+44" + number[1:].replace(" ", ""), "0044" + number[1:]):
            assert await found(api, book_id, query) == [name], query
    assert await found(api, book_id, "020 7946 0999") == []

    [dana] = (await search(api, work))[book_id]["Records"]
    shown = fields(dana)
    assert (shown["CompanyName"], shown["BusinessPhone"], shown["Email"]) == (
        "Northwind Traders",
        work,  # as Thunderbird stores it
        "dana@nw.example",
    )
    assert shown["Address book"] == "Personal Address Book"


def test_thunderbird_holds_its_address_book_locked_so_the_add_in_reads_a_copy(thunderbird: Thunderbird) -> None:
    """The premise of client.py: while Thunderbird runs, even a read-only SQLite connection to its file fails."""
    thunderbird.add_vcard(PERSONAL, vcard("Rae Locked", ("work", unique_number())))
    path = thunderbird.profile / "abook.sqlite"
    reader = contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2))
    with pytest.raises(sqlite3.OperationalError, match="database is locked"), reader as db:
        db.execute("SELECT count(*) FROM properties").fetchone()
    assert not path.with_name("abook.sqlite-shm").exists()  # WAL with exclusive locking: no shared memory to join


async def test_everyone_sharing_a_number_is_found(
    api: ApiSession, partnercrmd_app: web.Application, thunderbird: Thunderbird
) -> None:
    switchboard = unique_number()
    thunderbird.add_vcard(PERSONAL, vcard("Sam Reception", ("work", switchboard), org="Shared Ltd"))
    thunderbird.add_vcard(PERSONAL, vcard("Tia Accounts", ("work", "+44" + switchboard[1:]), org="Shared Ltd"))
    book_id = await thunderbird_book(partnercrmd_app, thunderbird)
    assert sorted(await found(api, book_id, switchboard)) == ["Sam Reception", "Tia Accounts"]


async def test_cards_of_older_thunderbirds_and_of_every_address_book_are_searched(
    api: ApiSession, partnercrmd_app: web.Application, thunderbird: Thunderbird
) -> None:
    suppliers = thunderbird.new_book("Suppliers")
    legacy, collected, supplier = unique_number(), unique_number(), unique_number()
    # A card written the pre-102 way (properties, no vCard), a collected address and a card of a second book.
    thunderbird.add_legacy_card(PERSONAL, {"DisplayName": "Hana Ito", "CellularNumber": legacy, "Company": "Ito KK"})
    thunderbird.add_vcard(COLLECTED, vcard("Ivo Marsh", ("work", collected)))
    thunderbird.add_vcard(suppliers, vcard("Jo Brand", ("work", supplier), org="Brand Supplies"))
    book_id = await thunderbird_book(partnercrmd_app, thunderbird)

    assert await found(api, book_id, "+44" + legacy[1:]) == ["Hana Ito"]
    assert await found(api, book_id, collected) == ["Ivo Marsh"]
    assert await found(api, book_id, supplier) == ["Jo Brand"]
    [jo] = (await search(api, "Brand Supplies"))[book_id]["Records"]
    assert fields(jo)["Address book"] in {"Suppliers", "abook-1.sqlite"}  # named by prefs.js once written


async def test_name_search_needs_every_word_ignoring_case_and_accents(
    api: ApiSession, partnercrmd_app: web.Application, thunderbird: Thunderbird
) -> None:
    thunderbird.add_vcard(PERSONAL, vcard("Zoë Lefèvre", ("work", unique_number()), org="Société Contoso"))
    book_id = await thunderbird_book(partnercrmd_app, thunderbird)
    assert await found(api, book_id, "zoe lefevre") == ["Zoë Lefèvre"]
    assert await found(api, book_id, "contoso ZOË") == ["Zoë Lefèvre"]
    assert await found(api, book_id, "zoe nobody") == []


async def test_the_address_books_setting_limits_the_search_and_names_what_is_there(
    api: ApiSession, partnercrmd_app: web.Application, thunderbird: Thunderbird
) -> None:
    personal, collected = unique_number(), unique_number()
    thunderbird.add_vcard(PERSONAL, vcard("Kit Personal", ("work", personal)))
    thunderbird.add_vcard(COLLECTED, vcard("Lee Collected", ("work", collected)))
    book_id = await thunderbird_book(partnercrmd_app, thunderbird, address_books="personal address book")
    assert await found(api, book_id, personal) == ["Kit Personal"]
    assert await found(api, book_id, collected) == []

    other = await configure_book(
        partnercrmd_app, "thunderbird", name="Customers", profile=str(thunderbird.profile), address_books="Customers"
    )
    text = (await search(api, personal))[other]["ExceptionText"]
    assert "no address book called 'customers'" in text and "Personal Address Book" in text


# --- changes made in Thunderbird while the daemon runs ------------------------------------------------------------


async def test_contacts_added_changed_and_deleted_in_thunderbird_are_seen_at_the_next_search(
    api: ApiSession, partnercrmd_app: web.Application, thunderbird: Thunderbird
) -> None:
    book_id = await thunderbird_book(partnercrmd_app, thunderbird)
    first, second = unique_number(), unique_number()
    assert await found(api, book_id, first) == []  # read once before the card exists

    uid = thunderbird.add_vcard(PERSONAL, vcard("Mo Added", ("work", first)))
    assert await found(api, book_id, first) == ["Mo Added"]

    thunderbird.edit_number(PERSONAL, uid, first, second)
    assert await found(api, book_id, second) == ["Mo Added"]
    assert await found(api, book_id, first) == []

    thunderbird.delete_card(PERSONAL, uid)
    assert await found(api, book_id, second) == []
    assert await found(api, book_id, "Mo Added") == []


async def test_concurrent_searches_while_thunderbird_writes_all_answer(
    api: ApiSession, partnercrmd_app: web.Application, thunderbird: Thunderbird
) -> None:
    number = unique_number()
    thunderbird.add_vcard(PERSONAL, vcard("Ned Busy", ("work", number)))
    book_id = await thunderbird_book(partnercrmd_app, thunderbird)

    async def writing() -> None:
        for _ in range(10):
            await asyncio.to_thread(thunderbird.add_vcard, PERSONAL, vcard("Filler Card", ("work", unique_number())))

    answers, _ = await asyncio.gather(asyncio.gather(*(search(api, number) for _ in range(20))), writing())
    assert all(a[book_id]["ExceptionText"] == "" and names(a[book_id]) == ["Ned Busy"] for a in answers)


# --- pop ------------------------------------------------------------------------------------------------------------


async def test_open_shows_the_card_on_partnercrmds_own_page(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, thunderbird: Thunderbird
) -> None:
    number = unique_number()
    thunderbird.add_vcard(PERSONAL, vcard("Olu Popped", ("cell", number), org="Pop Ltd"))
    book_id = await thunderbird_book(partnercrmd_app, thunderbird)
    [olu] = (await search(api, number))[book_id]["Records"]
    assert {a["SpecialKind"] for a in olu["Actions"]} == {"Open"}
    await api.call("POST", "DoAction", actionId=next(a["ActionId"] for a in olu["Actions"]))
    [url] = partnercrmd_opener.urls
    assert url.startswith(f"http://127.0.0.1:{api.client.port}/records/")
    page = await api.client.get(url.removeprefix(f"http://127.0.0.1:{api.client.port}"))
    assert page.status == 200
    html = await page.text()
    assert "Olu Popped" in html and number in html and "Pop Ltd" in html


# --- what goes wrong, and Test connection ------------------------------------------------------------------------


async def test_a_missing_profile_is_reported_in_its_slot_while_the_other_books_answer(
    api: ApiSession, partnercrmd_app: web.Application, tmp_path: Path
) -> None:
    book_id = await configure_book(partnercrmd_app, "thunderbird", profile=str(tmp_path / "gone"))
    books = await search(api, "Alice")
    assert names(books["local"]) == ["Alice Hartley"]
    assert books[book_id]["ExceptionText"].startswith(
        f"The Thunderbird profile folder {tmp_path / 'gone'} does not exist"
    )


def test_a_relative_profile_path_is_refused_by_the_settings() -> None:
    """The CLI makes a path typed on the command line absolute; a relative one reaching the add-in (a script writing
    settings) would be read against the daemon's working directory, so it is refused."""
    with pytest.raises(ConfigError, match="The setting 'profile' must be a full path"):
        parse_settings({"profile": "tb/profile"})
    assert parse_settings(
        {"address_books": " Personal Address Book, ,suppliers,personal address book"}
    ).address_books == (
        "personal address book",
        "suppliers",
    )


async def test_the_default_profile_is_found_from_profiles_ini_as_thunderbird_starts_it(
    api: ApiSession,
    partnercrmd_app: web.Application,
    thunderbird: Thunderbird,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number = unique_number()
    thunderbird.add_vcard(PERSONAL, vcard("Pat Default", ("work", number)))
    home = tmp_path / "home"
    folder = home / ".thunderbird"
    folder.mkdir(parents=True)
    (folder / "xyz.default-esr").symlink_to(thunderbird.profile, target_is_directory=True)
    (folder / "profiles.ini").write_text(
        "[Profile1]\nName=old\nIsRelative=1\nPath=abc.old\n\n"
        "[Profile0]\nName=default-esr\nIsRelative=1\nPath=xyz.default-esr\n\n"
        "[Install4F96D1932A9F858E]\nDefault=xyz.default-esr\nLocked=1\n\n[General]\nVersion=2\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HOME", str(home))
    await remove_default_book(partnercrmd_app)
    book_id = await configure_book(partnercrmd_app, "thunderbird")  # no profile given
    assert await found(api, book_id, number) == ["Pat Default"]


def test_books_test_says_which_books_it_read_and_what_to_fix(
    partnercrmd_home: Paths, thunderbird: Thunderbird, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["books", "add", "thunderbird", "--name", "TB", "--set", f"profile={thunderbird.profile}"]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "TB"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"ok   profile: Thunderbird profile {thunderbird.profile}."
    assert lines[1].startswith("ok   address_books: Address books: Personal Address Book, ")
    assert any(line.startswith("ok   book Personal Address Book: ") and "contacts with" in line for line in lines)

    moved = tmp_path / "moved"
    assert run_cli(["books", "add", "thunderbird", "--name", "Gone", "--set", f"profile={moved}"]) == 2
    assert "Nothing was saved: The Thunderbird profile folder" in capsys.readouterr().err
    assert run_cli(["books", "add", "thunderbird", "--name", "Gone", "--no-check", "--set", f"profile={moved}"]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "Gone"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"FAIL profile: The Thunderbird profile folder {moved} does not exist; check the setting 'profile' "
        "(Thunderbird shows it under Help > Troubleshooting Information > Profile Folder). [cannot_connect]"
    ]


def test_a_file_that_is_not_an_address_book_is_invalid_data(tmp_path: Path) -> None:
    (tmp_path / "abook.sqlite").write_bytes(b"not a database at all" * 100)
    [book] = client.address_books(tmp_path)
    with pytest.raises(AddinError) as raised:
        client.read_book(book, tmp_path / "copies", None)
    assert raised.value.code == "invalid_data"


async def test_after_thunderbird_quits_the_books_still_answer_and_a_removed_profile_is_reported(
    api: ApiSession, partnercrmd_app: web.Application, tmp_path: Path
) -> None:
    own = Thunderbird(tmp_path / "own").start()  # its own Thunderbird: this one is stopped mid-test
    try:
        number = unique_number()
        own.add_vcard(PERSONAL, vcard("Quinn Quits", ("work", number)))
        book_id = await thunderbird_book(partnercrmd_app, own)
        assert await found(api, book_id, number) == ["Quinn Quits"]
    finally:
        own.stop()
    assert await found(api, book_id, number) == ["Quinn Quits"]  # files no longer locked: read the same way
    shutil.rmtree(own.profile)
    text = (await search(api, number))[book_id]["ExceptionText"]
    assert text.startswith(f"The Thunderbird profile folder {own.profile} does not exist")

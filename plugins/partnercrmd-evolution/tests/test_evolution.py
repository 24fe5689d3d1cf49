"""The Evolution Data Server add-in against a real EDS on a private session bus, through a real daemon's HTTP API.

One EDS session runs for the module (eds_session.py); address books and contacts are made, changed and removed
through EDS's own D-Bus interfaces while the daemon runs. Tests use their own names and numbers.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from eds_session import EdsSeeder, EdsSession
from partnercrmd_evolution import EVOLUTION

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

PERSONAL = "system-address-book"
_serial = itertools.count(200)


@pytest.fixture(scope="module")
def eds_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdsSession]:
    session = EdsSession(tmp_path_factory.mktemp("eds")).start()
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture
async def eds(eds_session: EdsSession, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EdsSeeder]:
    """The session bus is the test's (as a desktop session's is the daemon's); a seeder to make contacts."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", eds_session.address)
    seeder = EdsSeeder()
    yield seeder
    await seeder.close()


def vcard(name: str, *tels: tuple[str, str], org: str = "", uid: str = "") -> str:
    """A vCard 3.0 as Evolution writes one (`tels`: (TYPE, number))."""
    first, _, last = name.partition(" ")
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{name}", f"N:{last};{first};;;"]
    lines += [f"UID:{uid}"] if uid else []
    lines += [f"ORG:{org}"] if org else []
    lines += [f"TEL;TYPE={kind}:{number}" for kind, number in tels]
    return "\r\n".join([*lines, "END:VCARD", ""])


def unique_number() -> str:
    """A UK drama number (Ofcom's 020 7946 0xxx range) no other test uses."""
    return f"020 7946 0{next(_serial):03d}"


async def eds_book(app: web.Application, **settings: Any) -> str:
    await remove_default_book(app)
    return await configure_book(app, "evolution", **settings)


async def found(api: ApiSession, book_id: str, query: str) -> list[str]:
    collection = (await search(api, query))[book_id]
    assert collection["ExceptionText"] == "", collection["ExceptionText"]
    return names(collection)


async def test_the_add_in_is_found_and_lists_what_it_can_do(
    api: ApiSession, partnercrmd_app: web.Application, eds: EdsSeeder
) -> None:
    assert {ep.name: ep.value for ep in entry_points(group="partnercrmd.addins")}[
        "evolution"
    ] == "partnercrmd_evolution"
    assert addin_host(partnercrmd_app).integration("evolution") is EVOLUTION
    book_id = await eds_book(partnercrmd_app)
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert (listed["CrmAddinTypeId"], listed["Status"]) == ("evolution", "Ready")
    assert listed["Type"]["Capabilities"] == ["CreateContact", "Pop", "SearchByName", "SearchByNumber"]


async def test_callers_are_found_whatever_way_their_numbers_were_stored(
    api: ApiSession, partnercrmd_app: web.Application, eds: EdsSeeder
) -> None:
    work, mobile, home, fax = unique_number(), unique_number(), unique_number(), unique_number()
    typed = {
        "Dana Whitfield": ("WORK,VOICE", work),
        "Eamon Oneill": ("CELL", "+44" + mobile[1:].replace(" ", "")),
        "Farah Kaur": ("HOME,VOICE", "0044 " + home[1:]),
        "Gus Lund": ("WORK,FAX", "(" + fax[:3] + ") " + fax[4:].replace(" ", "-")),
    }
    for name, tel in typed.items():
        await eds.add(PERSONAL, vcard(name, tel, org="Northwind Traders"))
    book_id = await eds_book(partnercrmd_app)
    for name, number in zip(typed, (work, mobile, home, fax), strict=True):
        for query in (number, "+44" + number[1:], "+44" + number[1:].replace(" ", ""), "0044" + number[1:]):
            assert await found(api, book_id, query) == [name], query
    assert await found(api, book_id, "020 7946 0999") == []
    [dana] = (await search(api, work))[book_id]["Records"]
    shown = {f["Name"] if f["WellKnownName"] == "Custom" else f["WellKnownName"]: f["Value"] for f in dana["Fields"]}
    assert shown["Address book"] == "Personal" and shown["CompanyName"] == "Northwind Traders"


async def test_every_enabled_book_is_searched_and_the_setting_limits_it(
    api: ApiSession, partnercrmd_app: web.Application, eds: EdsSeeder
) -> None:
    suppliers = await eds.new_book(f"suppliers-{uuid.uuid4().hex[:8]}", "Suppliers")
    hidden = await eds.new_book(f"hidden-{uuid.uuid4().hex[:8]}", "Switched Off", enabled=False)
    in_suppliers, in_hidden, in_personal = unique_number(), unique_number(), unique_number()
    await eds.add(suppliers, vcard("Jo Brand", ("WORK,VOICE", in_suppliers), org="Brand Supplies"))
    await eds.add(hidden, vcard("Kai Hidden", ("WORK,VOICE", in_hidden)))
    await eds.add(PERSONAL, vcard("Lee Personal", ("CELL", in_personal)))

    every = await eds_book(partnercrmd_app)
    assert await found(api, every, in_suppliers) == ["Jo Brand"]
    assert await found(api, every, in_personal) == ["Lee Personal"]
    assert await found(api, every, in_hidden) == []  # switched off in GNOME: not searched

    only = await configure_book(partnercrmd_app, "evolution", name="Suppliers only", address_books="suppliers")
    assert await found(api, only, in_suppliers) == ["Jo Brand"]
    assert await found(api, only, in_personal) == []
    wrong = await configure_book(partnercrmd_app, "evolution", name="Wrong", address_books="Customers")
    text = (await search(api, in_personal))[wrong]["ExceptionText"]
    assert "no address book called 'customers'" in text and "Suppliers" in text


async def test_name_search_and_everyone_sharing_a_number(
    api: ApiSession, partnercrmd_app: web.Application, eds: EdsSeeder
) -> None:
    switchboard = unique_number()
    await eds.add(PERSONAL, vcard("Zoë Lefèvre", ("WORK,VOICE", switchboard), org="Société Contoso"))
    await eds.add(PERSONAL, vcard("Tia Accounts", ("WORK,VOICE", "+44" + switchboard[1:]), org="Société Contoso"))
    book_id = await eds_book(partnercrmd_app)
    assert await found(api, book_id, "zoe lefevre") == ["Zoë Lefèvre"]
    assert sorted(await found(api, book_id, "contoso")) == ["Tia Accounts", "Zoë Lefèvre"]
    assert sorted(await found(api, book_id, switchboard)) == ["Tia Accounts", "Zoë Lefèvre"]


async def test_changes_made_in_eds_while_the_daemon_runs_are_seen_at_the_next_search(
    api: ApiSession, partnercrmd_app: web.Application, eds: EdsSeeder
) -> None:
    book_id = await eds_book(partnercrmd_app)
    first, second = unique_number(), unique_number()
    assert await found(api, book_id, first) == []
    uid = f"test-{uuid.uuid4().hex}"
    await eds.add(PERSONAL, vcard("Mo Added", ("WORK,VOICE", first), uid=uid))
    assert await found(api, book_id, first) == ["Mo Added"]
    await eds.modify(PERSONAL, vcard("Mo Changed", ("WORK,VOICE", second), uid=uid))
    assert await found(api, book_id, second) == ["Mo Changed"]
    assert await found(api, book_id, first) == []
    await eds.remove(PERSONAL, uid)
    assert await found(api, book_id, second) == []


async def test_open_pops_partnercrmds_page_and_a_created_contact_lands_in_eds(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, eds: EdsSeeder
) -> None:
    book_id = await eds_book(partnercrmd_app)
    number = unique_number()
    record_type = next(rt for rt in await api.call("GET", "RecordTypes") if rt["AddinId"] == book_id)
    assert record_type["CanCreate"]
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=record_type["RecordTypeId"],
        FirstName="Nia",
        LastName="Created",
        CompanyName="New Co",
        Phone=number,
    )
    assert created["DisplayText"] == "Nia Created"
    assert await found(api, book_id, "+44" + number[1:]) == ["Nia Created"]
    # In EDS itself, as GNOME Contacts would show it:
    cards = await eds.eds.vcards(PERSONAL, '(contains "full_name" "Nia Created")')
    assert len(cards) == 1 and "New Co" in cards[0] and number in cards[0]

    [nia] = (await search(api, number))[book_id]["Records"]
    await api.call(
        "POST", "DoAction", actionId=next(a["ActionId"] for a in nia["Actions"] if a["SpecialKind"] == "Open")
    )
    [url] = partnercrmd_opener.urls
    page = await api.client.get(url.removeprefix(f"http://127.0.0.1:{api.client.port}"))
    assert page.status == 200 and "Nia Created" in await page.text()


async def test_the_desktop_session_ending_mid_test_is_reported_in_the_books_slot(
    api: ApiSession, partnercrmd_app: web.Application, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = EdsSession(tmp_path / "own").start()  # its own bus and EDS: this one is stopped mid-test
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", own.address)
    seeder = EdsSeeder()
    try:
        number = unique_number()
        await seeder.add(PERSONAL, vcard("Ola Ends", ("CELL", number)))
        book_id = await eds_book(partnercrmd_app)
        assert await found(api, book_id, number) == ["Ola Ends"]
    finally:
        await seeder.close()
        own.stop()  # the session bus and every EDS process with it
    books = await search(api, number)
    assert books[book_id]["Records"] == []
    text = books[book_id]["ExceptionText"]
    assert "session bus" in text and "Evolution Data Server" in text, text


async def test_without_a_session_bus_the_book_says_so(
    api: ApiSession, partnercrmd_app: web.Application, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    book_id = await eds_book(partnercrmd_app)
    text = (await search(api, "Alice"))[book_id]["ExceptionText"]
    assert "There is no desktop session bus to reach Evolution Data Server" in text


def test_books_test_lists_the_books_it_read(
    partnercrmd_home: Paths,
    eds_session: EdsSession,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", eds_session.address)
    assert run_cli(["books", "add", "evolution", "--name", "GNOME"]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "GNOME"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok   service: Evolution Data Server answers (")
    assert lines[1].startswith("ok   address_books: Address books: Personal")
    assert any(line.startswith("ok   book Personal: ") for line in lines)

"""The SuiteCRM and vtiger presets, on those CRMs' contact tables (crm_schemas.py) in a real MariaDB server.

Each test fills the tables as the CRM itself would (a deleted contact holding the caller's number
too, the company and email in the CRM's own related tables) and uses the add-in through the
daemon's API; what the add-in writes is read back with MariaDB's own client.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from crm_schemas import SUITECRM_TABLES, VTIGER_TABLES
from partnercrmd_sql import SQL, SUITECRM_ENTRY, SqlBook
from sql_test_support import MariaDbBook, MariaDbServer

from partnercrmd.sdk import BookContext
from partnercrmd.testing import (
    ApiSession,
    Paths,
    RecordingOpener,
    action,
    addin_host,
    configure_book,
    names,
    remove_default_book,
    run_cli,
    search,
)

FORMATS = ("+44 20 7946 0958", "02079460958", "0044 20 7946 0958", "(0)20-7946-0958")
CRM_URL = "https://crm.example/suitecrm/"
DANA = "5e0b7a9c-1f4e-4d8a-9c57-2f6d3b1a0001"
EAMON = "5e0b7a9c-1f4e-4d8a-9c57-2f6d3b1a0002"
ZOE = "5e0b7a9c-1f4e-4d8a-9c57-2f6d3b1a0003"
GHOST = "5e0b7a9c-1f4e-4d8a-9c57-2f6d3b1a0004"


def fields(record: dict[str, Any]) -> dict[str, str]:
    return {f["Name"]: f["Value"] for f in record["Fields"]}


def seed_suitecrm(book: MariaDbBook) -> None:
    """Contacts as SuiteCRM keeps them: company via accounts_contacts, email via email_addr_bean_rel."""
    contacts = [
        (DANA, "Dana", "Whitfield", "+44 (0)20 7946-0958", None, None, 0),
        (EAMON, "Eamon", "O'Neill", "0113 946 0958", "07700 900461", None, 0),
        (ZOE, "Zoë", "Lefèvre", None, None, "0033 1 42 68 53 00", 0),
        (GHOST, "Gone", "Whitfield", "020 7946 0958", None, None, 1),  # deleted in SuiteCRM: never shown
    ]
    book.many(
        "INSERT INTO contacts (id, first_name, last_name, phone_work, phone_mobile, phone_home, deleted, "
        "date_entered, date_modified) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
        contacts,
    )
    book.many(
        "INSERT INTO accounts (id, name, deleted, date_entered, date_modified) "
        "VALUES (?, ?, 0, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
        [("acc-northwind", "Northwind Traders"), ("acc-contoso", "Société Contoso")],
    )
    book.many(
        "INSERT INTO accounts_contacts (id, contact_id, account_id, date_modified, deleted) "
        "VALUES (?, ?, ?, UTC_TIMESTAMP(), 0)",
        [("ac-1", DANA, "acc-northwind"), ("ac-2", EAMON, "acc-northwind"), ("ac-3", ZOE, "acc-contoso")],
    )
    addresses = [("ea-1", "dana.whitfield@northwind.example"), ("ea-2", "old.dana@example.org")]
    book.many(
        "INSERT INTO email_addresses (id, email_address, email_address_caps, deleted) VALUES (?, ?, UPPER(?), 0)",
        [(id_, address, address) for id_, address in addresses],
    )
    book.many(
        "INSERT INTO email_addr_bean_rel (id, email_address_id, bean_id, bean_module, primary_address, deleted) "
        "VALUES (?, ?, ?, 'Contacts', ?, 0)",
        [("r-1", "ea-2", DANA, 0), ("r-2", "ea-1", DANA, 1)],
    )


def seed_vtiger(book: MariaDbBook) -> None:
    """Contacts as vtiger keeps them: an entity row each (its deleted flag), details, sub-details, an account."""
    entities = [(1, "Accounts", 0), (11, "Contacts", 0), (12, "Contacts", 0), (13, "Contacts", 0), (14, "Contacts", 1)]
    book.many(
        "INSERT INTO vtiger_crmentity (crmid, setype, createdtime, modifiedtime, deleted) "
        "VALUES (?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP(), ?)",
        entities,
    )
    book.rows("INSERT INTO vtiger_account (accountid, account_no, accountname) VALUES (1, 'ACC1', 'Northwind Traders')")
    book.many(
        "INSERT INTO vtiger_contactdetails (contactid, contact_no, accountid, firstname, lastname, email, phone, "
        "mobile, title) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                11,
                "CON1",
                1,
                "Dana",
                "Whitfield",
                "dana.whitfield@northwind.example",
                "+44 (0)20 7946-0958",
                None,
                "CTO",
            ),
            (12, "CON2", 1, "Eamon", "O'Neill", "eamon@northwind.example", None, "07700 900461", None),
            (13, "CON3", None, "Zoë", "Lefèvre", "zoe@contoso.example", None, None, None),
            (14, "CON4", None, "Gone", "Whitfield", None, "020 7946 0958", None, None),  # deleted: never shown
        ],
    )
    book.many(
        "INSERT INTO vtiger_contactsubdetails (contactsubscriptionid, homephone, otherphone) VALUES (?, ?, ?)",
        [(11, None, None), (12, "0113 946 0958", None), (13, None, "0033 1 42 68 53 00")],
    )


@pytest.fixture
def suitecrm(mariadb: MariaDbServer) -> Iterator[MariaDbBook]:
    book = MariaDbBook(mariadb, SUITECRM_TABLES, people=False)
    try:
        seed_suitecrm(book)
        book.settings = {
            "driver": "mariadb",
            "dsn": book.settings["dsn"],
            "password": book.settings["password"],
            "preset": "suitecrm",
            "crm_url": CRM_URL,
        }
        yield book
    finally:
        book.close()


@pytest.fixture
def vtiger(mariadb: MariaDbServer) -> Iterator[MariaDbBook]:
    book = MariaDbBook(mariadb, VTIGER_TABLES, people=False)
    try:
        seed_vtiger(book)
        book.settings = {
            "driver": "mysql",  # vtiger's own installer targets MySQL; the same driver serves both
            "dsn": f"mysql://crm_app@127.0.0.1:{mariadb.port}/{book.database}",
            "password": book.settings["password"],
            "preset": "vtiger",
            "crm_url": "https://vtiger.example",
        }
        yield book
    finally:
        book.close()


def open_connector(settings: dict[str, Any], tmp_path: Path) -> SqlBook:
    opened = SQL.open(BookContext("crm", "CRM", settings, tmp_path, "GB"))
    assert isinstance(opened, SqlBook)
    return opened


# --- SuiteCRM -------------------------------------------------------------------------------------------


async def test_suitecrm_contacts_are_found_by_any_number_format_and_by_name(
    api: ApiSession, partnercrmd_app: web.Application, suitecrm: MariaDbBook
) -> None:
    await remove_default_book(partnercrmd_app)
    book_id = await configure_book(partnercrmd_app, "sql", **suitecrm.settings)
    for text in FORMATS:  # the deleted "Gone Whitfield" holds the same number
        found = (await search(api, text))[book_id]
        assert names(found) == ["Dana Whitfield"], text
    dana = fields(found["Records"][0])
    assert dana["Business Phone"] == "+44 (0)20 7946-0958" and dana["Company"] == "Northwind Traders"
    assert dana["Email"] == "dana.whitfield@northwind.example"  # the primary address of two
    assert names((await search(api, "+44 7700 900461"))[book_id]) == ["Eamon O'Neill"]  # phone_mobile
    zoe = (await search(api, "+33 1 42 68 53 00"))[book_id]  # phone_home
    assert names(zoe) == ["Zoë Lefèvre"] and fields(zoe["Records"][0])["Home Phone"] == "0033 1 42 68 53 00"
    assert names((await search(api, "whitfield"))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "Whitfield Dana"))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "northwind"))[book_id]) == ["Eamon O'Neill", "Dana Whitfield"]  # the account
    assert names((await search(api, "zoe"))[book_id]) == ["Zoë Lefèvre"]


async def test_suitecrm_contact_pops_logs_a_held_call_and_is_created(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, suitecrm: MariaDbBook
) -> None:
    book_id = await configure_book(partnercrmd_app, "sql", **suitecrm.settings)
    [dana] = (await search(api, "02079460958"))[book_id]["Records"]
    await api.call("POST", "DoAction", actionId=action(dana, "Open"))
    await api.call("POST", "DoAction", actionId=action(dana, "OpenInEditMode"))
    assert partnercrmd_opener.urls == [
        f"https://crm.example/suitecrm/index.php?module=Contacts&action=DetailView&record={DANA}",
        f"https://crm.example/suitecrm/index.php?module=Contacts&action=EditView&record={DANA}",
    ]

    await api.call(
        "POST",
        "DoAction",
        actionId=action(dana, "LogActivity"),
        Direction="Inbound",
        CallerNumber="+44 20 7946 0958",
        CalledNumber="201",
        StartTimeUtc="2026-11-25T14:03:00Z",
        DurationSeconds=3725,
        Notes="Wants a quote.",
    )
    [call] = suitecrm.rows(
        "SELECT parent_type, parent_id, status, direction, name, date_start, date_end, duration_hours, "
        "duration_minutes, deleted, LENGTH(id), description FROM calls"
    )
    assert call[:5] == ("Contacts", DANA, "Held", "Inbound", "Incoming call: +44 20 7946 0958 -> 201")
    assert call[5:11] == (datetime(2026, 11, 25, 14, 3), datetime(2026, 11, 25, 15, 5, 5), 1, 2, 0, 36)
    assert call[11].endswith("Wants a quote.")
    shown = (await search(api, "02079460958", includeActivities="true"))[book_id]["Records"][0]
    assert [a["Subject"] for a in shown["Activities"]] == ["Incoming call: +44 20 7946 0958 -> 201"]

    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book_id}/Contact",
        FirstName="Frank",
        LastName="Ocampo",
        Phone="07700 900123",
    )
    assert created["DisplayText"] == "Frank Ocampo"
    [(new_id, deleted, phone)] = suitecrm.rows(
        "SELECT id, deleted, phone_work FROM contacts WHERE last_name = 'Ocampo'"
    )
    assert (uuid.UUID(new_id).version, deleted, phone) == (4, 0, "07700 900123")
    assert names((await search(api, "+44 7700 900123"))[book_id]) == ["Frank Ocampo"]


def test_suitecrm_connection_check_passes_and_leaves_nothing(suitecrm: MariaDbBook, tmp_path: Path) -> None:
    sql = open_connector(suitecrm.settings, tmp_path)
    try:
        results = sql.test()
    finally:
        sql.close()
    assert [(r.check, r.ok, r.error_key) for r in results] == [
        ("reach", True, None),
        ("authenticate", True, None),
        ("search", True, None),
        ("log_activity", True, None),
        ("create_contact", True, None),
        ("url_template", True, None),
    ]
    assert suitecrm.rows("SELECT count(*) FROM calls") == [(0,)]
    assert suitecrm.rows("SELECT count(*) FROM contacts") == [(4,)]


async def test_a_preset_on_a_database_it_is_not_for_is_refused(
    api: ApiSession, partnercrmd_app: web.Application, tmp_path: Path
) -> None:
    book_id = await configure_book(
        partnercrmd_app, "sql", driver="sqlite", path=str(tmp_path / "crm.db"), preset="suitecrm"
    )
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert listed["Status"] == "Unavailable"
    assert listed["ExceptionText"] == (
        "The address book could not be opened: The preset suitecrm reads SuiteCRM 7's MariaDB or MySQL database: "
        "set 'driver' to mariadb or mysql."
    )


# --- vtiger ---------------------------------------------------------------------------------------------


async def test_vtiger_contacts_are_found_popped_and_offer_no_call_logging(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, vtiger: MariaDbBook
) -> None:
    await remove_default_book(partnercrmd_app)
    book_id = await configure_book(partnercrmd_app, "sql", **vtiger.settings)
    for text in FORMATS:  # the deleted entity 14 holds the same number
        found = (await search(api, text))[book_id]
        assert names(found) == ["Dana Whitfield"], text
    dana = fields(found["Records"][0])
    assert (dana["Company"], dana["Email"], dana["title"]) == (
        "Northwind Traders",
        "dana.whitfield@northwind.example",
        "CTO",
    )
    assert names((await search(api, "+44 113 946 0958"))[book_id]) == ["Eamon O'Neill"]  # homephone (sub-details)
    assert names((await search(api, "+33 1 42 68 53 00"))[book_id]) == ["Zoë Lefèvre"]  # otherphone
    assert names((await search(api, "northwind"))[book_id]) == ["Eamon O'Neill", "Dana Whitfield"]
    assert names((await search(api, "whitfield"))[book_id]) == ["Dana Whitfield"]

    await api.call("POST", "DoAction", actionId=action(found["Records"][0], "Open"))
    assert partnercrmd_opener.urls == ["https://vtiger.example/index.php?module=Contacts&view=Detail&record=11"]
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}[book_id]
    assert (listed["HasActivityActionFeatureCreate"], listed["HasActivityActionFeatureShow"]) == (False, False)
    assert "LogActivity" not in {a["SpecialKind"] for a in found["Records"][0]["Actions"]}


def test_vtiger_connection_check_passes(vtiger: MariaDbBook, tmp_path: Path) -> None:
    sql = open_connector(vtiger.settings, tmp_path)
    try:
        results = sql.test()
    finally:
        sql.close()
    assert [(r.check, r.ok, r.error_key) for r in results] == [
        ("reach", True, None),
        ("authenticate", True, None),
        ("search", True, None),
        ("url_template", True, None),
    ]


# --- the presets as entries of their own in the catalogue --------------------------------------------------


def test_books_types_lists_the_preset_entries(partnercrmd_home: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["books", "types"]) == 0
    out = capsys.readouterr().out
    for entry in ("suitecrm-database", "vtiger-database", "sql"):
        assert entry in out
    assert "SuiteCRM (database)" in out and "vtiger CRM (database)" in out


async def test_the_suitecrm_and_vtiger_entries_are_the_presets(
    api: ApiSession,
    partnercrmd_app: web.Application,
    partnercrmd_opener: RecordingOpener,
    suitecrm: MariaDbBook,
    vtiger: MariaDbBook,
) -> None:
    await remove_default_book(partnercrmd_app)
    assert addin_host(partnercrmd_app).integration("suitecrm-database") is SUITECRM_ENTRY
    without_preset = [{k: v for k, v in book.settings.items() if k != "preset"} for book in (suitecrm, vtiger)]
    suite_id = await configure_book(partnercrmd_app, "suitecrm-database", **without_preset[0])
    vtiger_id = await configure_book(partnercrmd_app, "vtiger-database", **without_preset[1])
    found = await search(api, "+44 20 7946 0958")
    assert (names(found[suite_id]), names(found[vtiger_id])) == (["Dana Whitfield"], ["Dana Whitfield"])
    listed = {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}
    assert listed[suite_id]["HasActivityActionFeatureCreate"] and listed[suite_id]["HasActivityActionFeatureShow"]
    assert not listed[vtiger_id]["HasActivityActionFeatureCreate"]
    await api.call("POST", "DoAction", actionId=action(found[vtiger_id]["Records"][0], "Open"))
    assert partnercrmd_opener.urls == ["https://vtiger.example/index.php?module=Contacts&view=Detail&record=11"]

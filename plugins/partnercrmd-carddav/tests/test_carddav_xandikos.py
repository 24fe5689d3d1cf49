"""The same add-in against a second CardDAV server, xandikos, through the daemon's HTTP API.

xandikos offers HTTP Basic sign-in only behind HTTPS with its self-signed
certificate: most tests run it without sign-in, and one instance runs with both,
trusted through the add-in's `ca_file` setting. Address books live under
xandikos' home collection /user/contacts/.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from carddav_seed import seed_book
from carddav_servers import RawDav, XandikosServer
from partnercrmd_carddav.connector import open_book

from partnercrmd.sdk import Activity, BookContext, CallDirection, SearchQuery
from partnercrmd.testing import ApiSession, action, configure_book, names, search

CALL = {
    "Direction": "Inbound",
    "CallerNumber": "0161 496 0789",
    "CalledNumber": "201",
    "StartTimeUtc": "2026-11-25T16:30:00Z",
    "DurationSeconds": "42",
    "Notes": "Called back about the invoice",
}


@pytest.fixture(scope="module")
def xandikos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XandikosServer]:
    server = XandikosServer(tmp_path_factory.mktemp("xandikos")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def xraw(xandikos: XandikosServer) -> RawDav:
    return xandikos.raw()


@pytest.fixture
def xbook(xraw: RawDav) -> str:
    return seed_book(xraw, f"/user/contacts/{uuid.uuid4().hex}/")


@pytest.fixture
def xsettings(xandikos: XandikosServer, xbook: str) -> dict[str, Any]:
    return {"url": xandikos.url + xbook}


async def test_numbers_in_any_format_and_names_are_found(
    api: ApiSession, partnercrmd_app: web.Application, xsettings: dict[str, Any]
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", **xsettings)
    for query in ("+44 20 7946 0958", "02079460958", "0044 20 7946 0958", "(0)20-7946-0958"):
        assert names((await search(api, query))[book_id]) == ["Dana Whitfield"], query
    assert names((await search(api, "+44 161 496 0789"))[book_id]) == ["Eamon O'Neill"]
    assert names((await search(api, "+33142685300"))[book_id]) == ["Zoë Lefèvre"]
    assert names((await search(api, "northwind"))[book_id]) == ["Dana Whitfield", "Eamon O'Neill"]
    assert names((await search(api, "dana northwind"))[book_id]) == ["Dana Whitfield"]
    assert names((await search(api, "zoë"))[book_id]) == ["Zoë Lefèvre"]


async def test_a_logged_call_and_a_created_contact_are_on_the_server(
    api: ApiSession, partnercrmd_app: web.Application, xsettings: dict[str, Any], xraw: RawDav, xbook: str
) -> None:
    book_id = await configure_book(partnercrmd_app, "carddav", **xsettings)
    [eamon] = (await search(api, "0161 496 0789"))[book_id]["Records"]
    await api.call("POST", "DoAction", actionId=action(eamon, "LogActivity"), **CALL)
    stored = xraw.get(xbook + "eamon.vcf").body.replace("\r\n ", "")
    assert "[Call 2026-11-25 16:30:00 UTC\\, inbound\\, 0:42] Incoming call: 0161 496 0789 -> 201" in stored
    assert "— Called back about the invoice" in stored

    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book_id}/Contact",
        FirstName="Grace",
        LastName="Hopper",
        Phone="+1 212 555 0199",
        Email="grace@navy.example",
    )
    assert created["DisplayText"] == "Grace Hopper"
    listing = xraw.listing(xbook)
    [name] = [
        p.split("<", 1)[0]
        for p in listing.split(xbook)[1:]
        if p.split("<", 1)[0] not in ("", "dana-whitfield.vcf", "eamon.vcf", "zoe-lefevre.vcf")
    ]
    assert "FN:Grace Hopper" in xraw.get(xbook + name).body
    assert names((await search(api, "(212) 555-0199"))[book_id]) == ["Grace Hopper"]

    saved = await api.call("POST", "SaveRecord", RecordId=created["UniqueId"], CompanyName="US Navy")
    assert {f["DescriptorId"]: f["Value"] for f in saved["Fields"]}["CompanyName"] == "US Navy"
    assert "ORG:US Navy" in xraw.get(xbook + name).body


async def test_calls_as_journal_entries_and_test_connection(
    xandikos: XandikosServer, xraw: RawDav, xsettings: dict[str, Any], tmp_path: Path
) -> None:
    calendar = f"/user/calendars/{uuid.uuid4().hex}/"
    xraw.make_calendar(calendar, "Calls")
    settings = {**xsettings, "activity_mode": "journal", "calendar_url": xandikos.url + calendar}
    connector = open_book(BookContext("x", "X", settings, tmp_path, "GB"))
    try:
        results = await connector.test()
        assert [(r.check, r.ok) for r in results] == [
            ("reach", True),
            ("authenticate", True),
            ("addressbook", True),
            ("search", True),
            ("write", True),
        ]
        [dana] = await connector.search(SearchQuery("whitfield", limit=5))
        logged = await connector.log_activity(
            dana.id,
            Activity(
                "Outgoing call: 201 -> 020 7946 0958",
                "Quote sent",
                CallDirection.OUTBOUND,
                datetime(2026, 11, 25, 17, 0, tzinfo=UTC),
                300,
            ),
        )
        entry = xraw.get(f"{calendar}{logged}.ics").body.replace("\r\n ", "")
        assert "X-PARTNERCRMD-CONTACT:dana-whitfield.vcf" in entry and "DESCRIPTION:Quote sent" in entry
        [activity] = await connector.activities(dana.id, 10)
        assert (activity.subject, activity.duration_seconds) == (
            "Outgoing call: 201 -> 020 7946 0958 (Dana Whitfield)",
            300,
        )
    finally:
        await connector.close()


# --- HTTPS with a self-signed certificate, and sign-in -----------------------------------------------


@pytest.fixture(scope="module")
def secure_xandikos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XandikosServer]:
    server = XandikosServer(tmp_path_factory.mktemp("xandikos-https"), secure=True).start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_self_signed_server_is_trusted_only_through_ca_file(
    api: ApiSession, partnercrmd_app: web.Application, secure_xandikos: XandikosServer
) -> None:
    path = seed_book(secure_xandikos.raw(), f"/user/contacts/{uuid.uuid4().hex}/")
    signed_in = {"url": secure_xandikos.url + path, "username": "dave", "password": XandikosServer.PASSWORD}
    untrusted = await configure_book(partnercrmd_app, "carddav", name="Untrusted", **signed_in)
    trusted = await configure_book(
        partnercrmd_app, "carddav", name="Trusted", ca_file=str(secure_xandikos.certificate), **signed_in
    )
    wrong = await configure_book(
        partnercrmd_app,
        "carddav",
        name="Wrong password",
        ca_file=str(secure_xandikos.certificate),
        **{**signed_in, "password": "not-daves-password"},
    )
    books = {c["AddinId"]: c for c in await api.call("POST", "Search", query="020 7946 0958")}
    assert names(books[trusted]) == ["Dana Whitfield"] and books[trusted]["ExceptionText"] == ""
    assert books[untrusted]["ExceptionText"] == (
        f"The certificate of {secure_xandikos.url} is not trusted. If the server uses its own certificate, "
        "give it (or its CA) in the setting 'ca_file'."
    )
    assert "refused the user name 'dave' or its password (HTTP 401)" in books[wrong]["ExceptionText"]
    assert "not-daves-password" not in books[wrong]["ExceptionText"]

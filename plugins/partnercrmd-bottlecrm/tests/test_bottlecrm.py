"""The BottleCRM add-in against a real BottleCRM server (django-crm 1.35), driven through the daemon's HTTP API.

The server runs on 127.0.0.1 from the database `prepare.sh` made (see bottlecrm_test_server.py);
what the add-in writes is read back with the tests' own urllib client of BottleCRM's REST API.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from bottlecrm_test_server import BottleCrmServer, Prepared
from partnercrmd_bottlecrm import BOTTLECRM
from partnercrmd_bottlecrm.connector import BottleCrmBook
from partnercrmd_bottlecrm.mapping import (
    activity_from_interaction,
    contact_from_record,
    interaction_body,
    phone_for_bottlecrm,
)

from partnercrmd.sdk import Activity, AddinError, BookContext, CallDirection, ConfigError, phone_key
from partnercrmd.testing import (
    ApiSession,
    RecordingOpener,
    action,
    addin_host,
    book_connector,
    configure_book,
    names,
    number_query,
    remove_default_book,
    search,
)

WEB = "https://crm.example.com/contacts/{id}"
WEB_EDIT = "https://crm.example.com/contacts/{id}/edit"

DANA = {
    "first_name": "Dana",
    "last_name": "Whitfield",
    "phone": "+44 (0)20 7946-0958",
    "email": "dana.whitfield@northwind.example",
    "organization": "Northwind Traders",
    "title": "Head of Sales",
    "department": "Sales",
    "do_not_call": True,
}
EAMON = {"first_name": "Eamon", "last_name": "O'Neill", "phone": "212.736.5000", "organization": "Contoso"}
ZOE = {"first_name": "Zoë", "last_name": "Lefèvre", "phone": "0033 1 42 68 53 00", "email": "zoe@contoso.example"}


# --- the server --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prepared() -> Prepared:
    return Prepared.load()


@pytest.fixture(scope="session")
def bottlecrm(prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BottleCrmServer]:
    """One BottleCRM for the session, holding Dana, Eamon and Zoë (each number written its own way)."""
    server = BottleCrmServer.start(prepared, tmp_path_factory.mktemp("bottlecrm"))
    try:
        api = server.api()
        for person in (DANA, EAMON, ZOE):
            api.create_contact(**person)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ids(bottlecrm: BottleCrmServer) -> dict[str, str]:
    """The seeded contacts' BottleCRM ids by first name."""
    return {c["first_name"]: c["id"] for c in bottlecrm.api().contacts()}


def settings(server: BottleCrmServer, **more: Any) -> dict[str, Any]:
    return {"url": server.url, "token": server.prepared.token, **more}


@pytest.fixture
async def book(api: ApiSession, partnercrmd_app: web.Application, bottlecrm: BottleCrmServer) -> str:
    """A configured BottleCRM book (the daemon's sample book removed); its id."""
    await remove_default_book(partnercrmd_app)
    return await configure_book(
        partnercrmd_app, "bottlecrm", **settings(bottlecrm, web_url_template=WEB, web_edit_url_template=WEB_EDIT)
    )


def connector_of(app: web.Application, book_id: str) -> BottleCrmBook:
    connector = book_connector(app, book_id)
    assert isinstance(connector, BottleCrmBook)
    return connector


def fields(record: dict[str, Any]) -> dict[str, str]:
    return {field["DescriptorId"]: field["Value"] for field in record["Fields"]}


async def only_record(api: ApiSession, book_id: str, query: str) -> dict[str, Any]:
    found = (await search(api, query))[book_id]
    assert found["ExceptionText"] == ""
    [record] = found["Records"]
    return dict(record)


# --- discovery ---------------------------------------------------------------------------------------


async def test_the_add_in_is_found_through_its_entry_point(api: ApiSession, partnercrmd_app: web.Application) -> None:
    found = {ep.name: ep for ep in entry_points(group="partnercrmd.addins")}
    assert found["bottlecrm"].value == "partnercrmd_bottlecrm"
    info = addin_host(partnercrmd_app).addins["bottlecrm"]
    assert info.distribution == "partnercrmd-bottlecrm" and info.error is None and not info.builtin
    assert addin_host(partnercrmd_app).integration("bottlecrm") is BOTTLECRM
    assert [f.key for f in BOTTLECRM.config if f.secret] == ["token"]


# --- search ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["+44 20 7946 0958", "02079460958", "0044 20 7946 0958", "(0)20-7946-0958", "tel:+44-20-7946-0958"]
)
async def test_a_caller_is_found_whatever_the_number_format(
    api: ApiSession, book: str, bottlecrm: BottleCrmServer, query: str
) -> None:
    # BottleCRM itself matches the number as text: its own filter does not find Dana by these.
    assert bottlecrm.api().contacts(phone="02079460958") == []
    dana = await only_record(api, book, query)
    assert dana["DisplayText"] == "Dana Whitfield"
    shown = fields(dana)
    assert shown["BusinessPhone"] == "+44 (0)20 7946-0958"  # as BottleCRM stores it
    assert shown["CompanyName"] == "Northwind Traders"
    assert shown["JobTitle"] == "Head of Sales"
    assert shown["Email"] == "dana.whitfield@northwind.example"
    assert (shown["Department"], shown["Do not call"]) == ("Sales", "Yes")


async def test_number_searches_use_the_local_index_once_it_is_built(
    api: ApiSession, partnercrmd_app: web.Application, book: str, ids: dict[str, str]
) -> None:
    connector = connector_of(partnercrmd_app, book)
    assert await connector.refresh_index() >= 3
    for query, who in [("+1 212 736 5000", "Eamon"), ("+33 1 42 68 53 00", "Zoë"), ("020 7946 0958", "Dana")]:
        key = phone_key(query, "GB")
        assert await connector.index.lookup(key.e164 or key.digits) == [ids[who]]
    assert names((await search(api, "+1 (212) 736-5000"))[book]) == ["Eamon O'Neill"]
    assert names((await search(api, "+33142685300"))[book]) == ["Zoë Lefèvre"]
    stranger = (await search(api, "+44 20 7946 0999"))[book]
    assert stranger["Records"] == [] and stranger["ExceptionText"] == ""


async def test_a_contact_added_in_bottlecrm_after_the_index_was_built_is_found(
    api: ApiSession, partnercrmd_app: web.Application, book: str, bottlecrm: BottleCrmServer
) -> None:
    await connector_of(partnercrmd_app, book).refresh_index()
    bottlecrm.api().create_contact(first_name="Farah", last_name="Okafor", phone="0117-496-0123")
    assert names((await search(api, "+44 117 496 0123"))[book]) == ["Farah Okafor"]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("Dana", ["Dana Whitfield"]),
        ("whitfield", ["Dana Whitfield"]),
        ("dana WHITFIELD", ["Dana Whitfield"]),
        ("dana.whitfield@northwind", ["Dana Whitfield"]),
        ("Zoë Lefèvre", ["Zoë Lefèvre"]),
        ("O'Neill", ["Eamon O'Neill"]),
        ("Dana Lefèvre", []),
    ],
)
async def test_name_search(api: ApiSession, book: str, query: str, found: list[str]) -> None:
    result = (await search(api, query))[book]
    assert result["ExceptionText"] == ""
    assert names(result) == found


async def test_a_name_is_found_when_more_contacts_share_its_longest_word_than_one_answer_holds(
    api: ApiSession, partnercrmd_app: web.Application, prepared: Prepared, tmp_path: Path
) -> None:
    # Its own server: 60 contacts called Kristoffer, more than one answer of BottleCRM's list carries (50).
    server = BottleCrmServer.start(prepared, tmp_path / "crowded")
    try:
        raw = server.api()
        # The first and the last created: whatever order BottleCRM lists them in, one is beyond its first answer.
        raw.create_contact(first_name="Kristoffer", last_name="Li03")
        for n in range(60):
            raw.create_contact(first_name="Kristoffer", last_name=f"Vik{n:02d}")
        await remove_default_book(partnercrmd_app)
        book_id = await configure_book(partnercrmd_app, "bottlecrm", **settings(server))
        assert names((await search(api, "kristoffer li03"))[book_id]) == ["Kristoffer Li03"]
        assert names((await search(api, "Vik59 Kristoffer"))[book_id]) == ["Kristoffer Vik59"]
        crowd = (await search(api, "kristoffer", count=5))[book_id]
        assert crowd["ExceptionText"] == "" and len(crowd["Records"]) == 5
    finally:
        server.stop()


# --- popping -----------------------------------------------------------------------------------------


async def test_open_and_edit_pop_the_contact_in_bottlecrm(
    api: ApiSession, book: str, partnercrmd_opener: RecordingOpener, ids: dict[str, str]
) -> None:
    dana = await only_record(api, book, "+44 20 7946 0958")
    kinds = {a["SpecialKind"] for a in dana["Actions"]}
    assert kinds == {"Open", "OpenInEditMode", "LogActivity", "ShowActivities"}
    await api.call("POST", "DoAction", actionId=action(dana, "Open"))
    await api.call("POST", "DoAction", actionId=action(dana, "OpenInEditMode"))
    assert partnercrmd_opener.urls == [
        f"https://crm.example.com/contacts/{ids['Dana']}",
        f"https://crm.example.com/contacts/{ids['Dana']}/edit",
    ]


async def test_without_web_addresses_the_contact_opens_on_partnercrmds_page(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, bottlecrm: BottleCrmServer
) -> None:
    book_id = await configure_book(partnercrmd_app, "bottlecrm", **settings(bottlecrm))
    eamon = await only_record(api, book_id, "Eamon")
    await api.call("POST", "DoAction", actionId=action(eamon, "Open"))
    [url] = partnercrmd_opener.urls
    base = f"http://127.0.0.1:{api.client.port}"
    assert url.startswith(f"{base}/records/")
    page = await api.client.get(url.removeprefix(base))
    assert page.status == 200
    assert "212.736.5000" in await page.text()  # read from BottleCRM with get()


# --- logging calls -----------------------------------------------------------------------------------


async def test_a_logged_call_is_an_interaction_in_bottlecrm(
    api: ApiSession, book: str, bottlecrm: BottleCrmServer, ids: dict[str, str]
) -> None:
    zoe = await only_record(api, book, "+33 1 42 68 53 00")
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    await api.call(
        "POST",
        "DoAction",
        actionId=action(zoe, "LogActivity"),
        Direction="Inbound",
        CallerNumber="+33 1 42 68 53 00",
        CalledNumber="+44 20 7946 0000",
        StartTimeUtc=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        DurationSeconds=95,
        Notes="Wants a quote for 40 chairs.",
    )
    # Read back with BottleCRM's own API, not through the add-in.
    [call] = bottlecrm.api().interactions(ids["Zoë"])
    assert (call["kind"], call["direction"], call["outcome"]) == ("call", "inbound", "connected")
    assert call["duration_seconds"] == 95
    assert datetime.fromisoformat(call["occurred_at"].replace("Z", "+00:00")) == start
    assert call["subject"] == "Incoming call: +33 1 42 68 53 00 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in call["body"] and "Duration: 1:35" in call["body"]
    assert (call["home"], call["contact"]) == ("contact", ids["Zoë"])

    shown = (await search(api, "Zoë", includeActivities="true"))[book]["Records"][0]["Activities"]
    assert [(a["Subject"], a["Direction"], a["DurationSeconds"]) for a in shown] == [
        ("Incoming call: +33 1 42 68 53 00 -> +44 20 7946 0000", "Inbound", 95)
    ]


async def test_an_unanswered_outgoing_call_is_logged_as_no_answer(
    api: ApiSession, book: str, bottlecrm: BottleCrmServer, ids: dict[str, str]
) -> None:
    eamon = await only_record(api, book, "+1 212 736 5000")
    await api.call(
        "POST", "DoAction", actionId=action(eamon, "LogActivity"), Direction="Outbound", CalledNumber="+12127365000"
    )
    [call] = bottlecrm.api().interactions(ids["Eamon"])
    assert (call["direction"], call["outcome"], call["duration_seconds"]) == ("outbound", "no_answer", 0)


# --- creating and changing contacts ------------------------------------------------------------------


async def test_a_created_contact_is_in_bottlecrm_and_found_by_number(
    api: ApiSession, book: str, bottlecrm: BottleCrmServer
) -> None:
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book}/Contact",
        FirstName="Grace",
        LastName="Hopper",
        Phone="020 7183 8750",
        Email="grace.hopper@example.com",
    )
    assert created["DisplayText"] == "Grace Hopper"
    [stored] = bottlecrm.api().contacts(email="grace.hopper@example.com")
    assert (stored["first_name"], stored["last_name"], stored["phone"]) == ("Grace", "Hopper", "020 7183 8750")
    assert names((await search(api, "+44 20 7183 8750"))[book]) == ["Grace Hopper"]
    assert names((await search(api, "Grace Hopper"))[book]) == ["Grace Hopper"]


async def test_a_saved_record_changes_the_contact_in_bottlecrm(
    api: ApiSession, book: str, bottlecrm: BottleCrmServer
) -> None:
    created = await api.call(
        "POST", "CreateNewRecord", RecordTypeId=f"{book}/Contact", ContactName="Hedy Lamarr", Phone="tel:+442071838751"
    )
    saved = await api.call("POST", "SaveRecord", RecordId=created["UniqueId"], Phone="+44 20 7183 8752", Notes="VIP")
    assert saved["DisplayText"] == "Hedy Lamarr"
    [stored] = bottlecrm.api().contacts(name="Lamarr")
    assert (stored["first_name"], stored["phone"], stored["description"]) == ("Hedy", "+44 20 7183 8752", "VIP")
    assert names((await search(api, "02071838752"))[book]) == ["Hedy Lamarr"]
    assert names((await search(api, "02071838751"))[book]) == []


async def test_a_contact_needs_both_names(api: ApiSession, book: str) -> None:
    response = await api.request("POST", "CreateNewRecord", RecordTypeId=f"{book}/Contact", Phone="020 7183 8753")
    assert response.status == 502
    assert "BottleCRM needs a first and a last name" in (await response.json())["Message"]


# --- failures ----------------------------------------------------------------------------------------


async def test_a_wrong_token_is_reported_without_showing_it(
    api: ApiSession, partnercrmd_app: web.Application, bottlecrm: BottleCrmServer
) -> None:
    wrong = "bcrm_pat_ThisIsNotAValidTokenAtAll0123456789abcdef"
    book_id = await configure_book(partnercrmd_app, "bottlecrm", url=bottlecrm.url, token=wrong)
    for query in ("+44 20 7946 0958", "Dana"):
        text = (await search(api, query))[book_id]["ExceptionText"]
        assert text.startswith("BottleCRM refused to ") and "(403: Organization context is required" in text
        assert "Check the setting 'token'" in text and wrong not in text


@asynccontextmanager
async def opened(server: BottleCrmServer, data_dir: Path, **more: Any) -> AsyncIterator[BottleCrmBook]:
    """The connector as `partnercrmd books test` opens it: from the integration, outside the daemon."""
    async with opened_with(settings(server, **more), data_dir) as connector:
        yield connector


@asynccontextmanager
async def opened_with(book_settings: dict[str, Any], data_dir: Path) -> AsyncIterator[BottleCrmBook]:
    data_dir.mkdir(exist_ok=True)
    connector = BOTTLECRM.open(BookContext("crm", "CRM", book_settings, data_dir, "GB"))
    assert isinstance(connector, BottleCrmBook)
    try:
        yield connector
    finally:
        await connector.close()


def checks(results: Any) -> list[tuple[str, bool, str | None]]:
    return [(r.check, r.ok, r.error_key) for r in results]


async def test_test_connection_checks_each_capability(bottlecrm: BottleCrmServer, tmp_path: Path) -> None:
    async with opened(bottlecrm, tmp_path, web_url_template=WEB) as connector:
        results = await connector.test()
    assert checks(results) == [
        ("reach", True, None),
        ("authenticate", True, None),
        ("search", True, None),
        ("log_calls", True, None),
        ("pop", True, None),
    ]
    assert (
        "phone numbers of BottleCRM contacts indexed" in results[2].message
        and "finds its contact" in results[2].message
    )
    assert results[4].message == "Records open at https://crm.example.com/contacts/<contact id>."


async def test_test_connection_says_what_to_fix(bottlecrm: BottleCrmServer, tmp_path: Path) -> None:
    async with opened(bottlecrm, tmp_path / "wrong", token="bcrm_pat_wrong0123456789") as connector:
        results = await connector.test()
    assert checks(results) == [("reach", True, None), ("authenticate", False, "invalid_auth")]
    assert "Check the setting 'token'" in results[1].message and "bcrm_pat_wrong" not in results[1].message

    read_only = bottlecrm.prepared.read_only_token
    for token in (read_only, bottlecrm.prepared.org_api_key):
        async with opened(bottlecrm, tmp_path / token[:12], token=token) as connector:
            results = await connector.test()
        assert checks(results)[:4] == [
            ("reach", True, None),
            ("authenticate", True, None),
            ("search", True, None),
            ("log_calls", False, "invalid_auth"),
        ]
        assert "needs the interactions:write scope" in results[3].message and token not in results[3].message

    async with opened(bottlecrm, tmp_path / "no-log", token=read_only, log_calls=False) as connector:
        assert [r.check for r in await connector.test()] == ["reach", "authenticate", "search", "pop"]

    nothing_there = f"http://127.0.0.1:{bottlecrm.port + 1 if bottlecrm.port < 65535 else 1}"
    async with opened(bottlecrm, tmp_path / "down", url=nothing_there) as connector:
        [reach] = await connector.test()
    assert (reach.check, reach.ok, reach.error_key) == ("reach", False, "cannot_connect")


async def test_a_server_that_does_not_answer_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        async with opened_with({"url": url, "token": "bcrm_pat_x", "timeout_seconds": 1}, tmp_path) as connector:
            started = time.monotonic()
            [reach] = await connector.test()
            assert time.monotonic() - started < 3
    assert (reach.check, reach.ok, reach.error_key) == ("reach", False, "timeout")
    assert (
        reach.message
        == f"BottleCRM at {url} did not answer within 1 s; check that the server is running and not overloaded."
    )


async def test_a_server_stopped_mid_call_is_reported_within_the_deadline(
    api: ApiSession, partnercrmd_app: web.Application, prepared: Prepared, tmp_path: Path
) -> None:
    server = BottleCrmServer.start(prepared, tmp_path / "doomed")
    try:
        server.api().create_contact(first_name="Ivy", last_name="Stone", phone="020 7946 0321")
        book_id = await configure_book(partnercrmd_app, "bottlecrm", **settings(server))
        assert names((await search(api, "+44 20 7946 0321"))[book_id]) == ["Ivy Stone"]
    finally:
        server.stop()
    for query in ("+44 20 7946 0321", "Ivy"):
        started = time.monotonic()
        answer = (await search(api, query, timeoutMs=1500))[book_id]
        assert time.monotonic() - started < 3
        assert answer["Records"] == []
        assert answer["ExceptionText"].startswith(f"BottleCRM at {server.url} cannot be reached")
        assert "check the setting 'url' and that the server is running" in answer["ExceptionText"]


# --- the connector itself ----------------------------------------------------------------------------


async def test_the_index_outlives_the_connector_and_follows_deletions(
    bottlecrm: BottleCrmServer, tmp_path: Path
) -> None:
    api = bottlecrm.api()
    temporary = api.create_contact(first_name="Jon", last_name="Temp", phone="020 7946 0444")
    async with opened(bottlecrm, tmp_path) as connector:
        assert await connector.refresh_index() >= 4
    async with opened(bottlecrm, tmp_path) as connector:
        assert connector.index.built and not connector.index.stale()
        assert [c.id for c in await connector.search(number_query("02079460444"))] == [temporary]
        status, _ = api.call("DELETE", f"/api/contacts/{temporary}/")
        assert status == 200
        assert await connector.search(number_query("02079460444")) == []
        assert await connector.index.lookup("+442079460444") == []


async def test_an_out_of_date_index_does_not_hide_the_new_holder_of_a_number(
    bottlecrm: BottleCrmServer, tmp_path: Path
) -> None:
    api = bottlecrm.api()
    kim = api.create_contact(first_name="Kim", last_name="Moved", phone="020 7946 0555")
    async with opened(bottlecrm, tmp_path) as connector:
        await connector.refresh_index()
        # In BottleCRM, after the index was read: Kim's number changes, and Lee gets Kim's old one.
        assert api.call("PATCH", f"/api/contacts/{kim}/", {"phone": "020 7946 0556"})[0] == 200
        lee = api.create_contact(first_name="Lee", last_name="Took", phone="+44 20 7946 0555")
        assert [c.id for c in await connector.search(number_query("02079460555"))] == [lee]
        assert [c.id for c in await connector.search(number_query("02079460556"))] == [kim]
        assert await connector.index.lookup("+442079460555") == [lee]


# --- mapping and settings, without a server ----------------------------------------------------------


def test_calls_in_the_future_are_logged_as_now_and_long_texts_are_cut() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    activity = Activity("s" * 300, "b" * 20_000, CallDirection.OUTBOUND, now + timedelta(hours=2), 61)
    body = interaction_body("c-1", activity, now)
    assert body["occurred_at"] == "2026-11-25T12:00:00Z"
    assert (body["direction"], body["outcome"], body["duration_seconds"]) == ("outbound", "connected", 61)
    assert (len(body["subject"]), len(body["body"])) == (200, 10_000)


def test_what_bottlecrm_sends_is_type_checked() -> None:
    with pytest.raises(AddinError, match="without an id") as refused:
        contact_from_record({"id": 7, "first_name": "Dana"})
    assert refused.value.code == "invalid_data"
    odd = contact_from_record({"id": "c-1", "first_name": ["Dana"], "phone": 2079460958, "do_not_call": "yes"})
    assert (odd.first_name, odd.phones, odd.custom) == ("", [], {})
    assert activity_from_interaction({"id": "i-1", "occurred_at": "yesterday"}) is None
    call = activity_from_interaction({"id": "i-2", "occurred_at": "2026-11-25T14:03:00Z", "duration_seconds": True})
    assert call is not None and call.duration_seconds == 0 and call.subject == "Interaction"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("020 7946 0958", "020 7946 0958"),
        ("tel:+44-20-7946-0958", "+442079460958"),
        ("+44 20 7946 0958 x12", "+442079460958"),
    ],
)
def test_phone_numbers_are_written_the_way_bottlecrm_accepts(typed: str, stored: str) -> None:
    assert phone_for_bottlecrm(typed, "GB") == stored


def test_a_number_bottlecrm_cannot_store_is_refused_with_a_reason() -> None:
    with pytest.raises(AddinError, match="7 to 25 digits"):
        phone_for_bottlecrm("+44 20 7946 0958 0958 0958 0958 0958", "GB")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"web_url_template": "https://crm.example.com/contacts"}, "'web_url_template' must be an http(s) address"),
        ({"web_edit_url_template": "javascript:{id}"}, "'web_edit_url_template' must be an http(s) address"),
        ({"index_minutes": 0}, "'index_minutes' must be between 1 and 1440"),
        ({"token": " "}, "'token' is empty"),
    ],
)
def test_settings_the_add_in_cannot_use_are_refused(tmp_path: Path, changes: dict[str, Any], reason: str) -> None:
    given = {"url": "https://api.crm.example.com", "token": "bcrm_pat_x", **changes}
    with pytest.raises(ConfigError, match=re.escape(reason)):
        BOTTLECRM.open(BookContext("crm", "CRM", given, tmp_path, "GB"))

"""The Request Tracker add-in against a real RT 5 (Debian request-tracker5 on SQLite), through the daemon's HTTP API.

One RT is set up and started for the session (rt_server.py); what the add-in writes is read back through RT's
own REST2 with the tests' urllib client. Each test uses its own users and numbers (UK drama numbers, Ofcom's
020 7946 0xxx, and the like) so that the order tests run in does not matter.
"""

from __future__ import annotations

import itertools
import re
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from partnercrmd_rt import RT
from partnercrmd_rt.connector import RtBook
from rt_server import RtServer, RtSetup

from partnercrmd.sdk import BookContext, ConfigError, SearchQuery
from partnercrmd.testing import (
    ApiSession,
    Paths,
    RecordingOpener,
    action,
    addin_host,
    configure_book,
    names,
    number_query,
    remove_default_book,
    run_cli,
    search,
)

_serial = itertools.count(1)


# --- the server --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rt_setup(tmp_path_factory: pytest.TempPathFactory) -> RtSetup:
    setup = RtSetup.create(tmp_path_factory.mktemp("rt-setup"))
    print(f"RT set up in {setup.seconds:.1f} s")  # the set-up's cost, shown with -s
    return setup


@pytest.fixture(scope="session")
def rt(rt_setup: RtSetup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtServer]:
    """One RT for the session, serving the set-up's database."""
    server = RtServer.start(rt_setup, tmp_path_factory.mktemp("rt-server"))
    try:
        yield server
    finally:
        server.stop()


def unique(word: str) -> str:
    """A name no other test uses (RT user names are unique)."""
    return f"{word}{next(_serial):03d}"


def settings(server: RtServer, **more: Any) -> dict[str, Any]:
    return {"url": server.url, "token": server.setup.root_token, **more}


async def rt_book(app: web.Application, server: RtServer, **more: Any) -> str:
    await remove_default_book(app)
    return await configure_book(app, "rt", **settings(server, **more))


def fields(record: dict[str, Any]) -> dict[str, str]:
    return {field["DescriptorId"]: field["Value"] for field in record["Fields"]}


async def only_record(api: ApiSession, book_id: str, query: str) -> dict[str, Any]:
    found = (await search(api, query))[book_id]
    assert found["ExceptionText"] == "", found["ExceptionText"]
    [record] = found["Records"]
    return dict(record)


# --- discovery ---------------------------------------------------------------------------------------


async def test_the_add_in_is_found_through_its_entry_point(api: ApiSession, partnercrmd_app: web.Application) -> None:
    found = {ep.name: ep for ep in entry_points(group="partnercrmd.addins")}
    assert found["rt"].value == "partnercrmd_rt"
    info = addin_host(partnercrmd_app).addins["rt"]
    assert info.distribution == "partnercrmd-rt" and info.error is None and not info.builtin
    assert addin_host(partnercrmd_app).integration("rt") is RT
    assert [f.key for f in RT.config if f.secret] == ["token"]


# --- search ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["+44 20 7946 0958", "02079460958", "0044 20 7946 0958", "(0)20-7946-0958", "tel:+44-20-7946-0958"]
)
async def test_a_caller_is_found_by_their_work_phone_whatever_the_format(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer, query: str
) -> None:
    raw = rt.api()
    if not raw.users(EmailAddress="dana.whitfield@northwind.example"):
        raw.create_user(
            Name="dana.whitfield",
            RealName="Dana Whitfield",
            EmailAddress="dana.whitfield@northwind.example",
            WorkPhone="+44 (0)20 7946-0958",
            Organization="Northwind Traders",
        )
    book = await rt_book(partnercrmd_app, rt)
    dana = await only_record(api, book, query)
    assert dana["DisplayText"] == "Dana Whitfield"
    shown = fields(dana)
    assert shown["BusinessPhone"] == "+44 (0)20 7946-0958"  # as RT stores it
    assert shown["CompanyName"] == "Northwind Traders"
    assert shown["Email"] == "dana.whitfield@northwind.example"


async def test_every_phone_field_finds_its_user(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer
) -> None:
    raw = rt.api()
    typed = {
        "WorkPhone": ("0117 496 0101", "+441174960101"),
        "MobilePhone": ("212.736.5000", "+1 (212) 736-5000"),
        "HomePhone": ("0033 1 42 68 53 00", "+33142685300"),
        "PagerPhone": ("+44-7700-900-461", "07700900461"),
    }
    people = {}
    for field, (stored, _) in typed.items():
        name = unique(field.removesuffix("Phone"))
        people[field] = name
        raw.create_user(Name=name, RealName=f"{name} Person", **{field: stored})
    # RT's own user search cannot do this: a condition on a phone field is dropped, and every user answers.
    assert len(raw.users(WorkPhone="0117 496 0101")) > 1
    book = await rt_book(partnercrmd_app, rt)
    for field, (_, query) in typed.items():
        assert names((await search(api, query))[book]) == [f"{people[field]} Person"], field
    stranger = (await search(api, "+44 20 7946 0999"))[book]
    assert stranger["Records"] == [] and stranger["ExceptionText"] == ""


async def test_a_user_added_or_renumbered_in_rt_after_the_index_was_built_is_found(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer
) -> None:
    book = await rt_book(partnercrmd_app, rt)
    assert (await search(api, "+44 20 7946 0111"))[book]["Records"] == []  # the index is built now
    raw = rt.api()
    late = unique("late")
    raw.create_user(Name=late, RealName="Farah Okafor", MobilePhone="020-7946-0111")
    assert names((await search(api, "+44 20 7946 0111"))[book]) == ["Farah Okafor"]
    moved = raw.create_user(Name=unique("moved"), RealName="Kim Moved", WorkPhone="020 7946 0112")
    assert names((await search(api, "02079460112"))[book]) == ["Kim Moved"]
    raw.ok("PUT", f"/user/{moved}", {"WorkPhone": "020 7946 0113"})
    assert (await search(api, "02079460112"))[book]["Records"] == []
    assert names((await search(api, "02079460113"))[book]) == ["Kim Moved"]


async def test_the_index_reads_every_page_of_users(rt: RtServer, tmp_path: Path) -> None:
    raw = rt.api()
    batch = unique("crowd")
    for n in range(130):  # more than one REST2 page (100); the 70th is neither on the first page nor recent
        raw.ok(
            "POST", "/user", {"Name": f"{batch}-{n:03d}", "RealName": f"Crowd {n}", "WorkPhone": f"0161 496 0{n:03d}"}
        )
    async with opened(tmp_path, settings(rt)) as connector:
        assert await connector.refresh_index() >= 130
        assert await connector.index.lookup("+441614960069") != []
        found = await connector.search(number_query("0161 496 0069"))
    assert [c.display_name for c in found] == ["Crowd 69"]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("Zoë", ["Zoë Lefèvre"]),
        ("lefèvre", ["Zoë Lefèvre"]),
        ("lefevre", ["Zoë Lefèvre"]),  # in the email address, written without the accent
        ("ZOË LEFÈVRE", ["Zoë Lefèvre"]),
        ("zoe.lefevre@contoso", ["Zoë Lefèvre"]),  # the email address
        ("zlef", ["Zoë Lefèvre"]),  # the RT user name
        ("Zoë Whitfield", []),
        ("Nobody", []),  # RT's own bookkeeping user ("Nobody in particular")
    ],
)
async def test_name_search(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer, query: str, found: list[str]
) -> None:
    raw = rt.api()
    if not raw.users(Name="zlef"):
        raw.create_user(Name="zlef", RealName="Zoë Lefèvre", EmailAddress="zoe.lefevre@contoso.example")
    book = await rt_book(partnercrmd_app, rt)
    result = (await search(api, query))[book]
    assert result["ExceptionText"] == ""
    assert names(result) == found


class Requests:
    """Which user reads and user searches a connector's client sends to RT: ("user", id) and ("users", field)."""

    def __init__(self, connector: RtBook) -> None:
        self.sent: list[tuple[str, str]] = []
        client = connector.client
        user, users = client.user, client.users

        async def spy_user(user_id: str) -> Any:
            self.sent.append(("user", user_id))
            return await user(user_id)

        async def spy_users(conditions: Any = (), **kwargs: Any) -> Any:
            self.sent.append(("users", ",".join(c["field"] for c in conditions)))
            return await users(conditions, **kwargs)

        client.user = spy_user  # type: ignore[method-assign]
        client.users = spy_users  # type: ignore[method-assign]


async def by_name(connector: RtBook, text: str) -> list[str]:
    return [c.display_name for c in await connector.search(SearchQuery(text, limit=10))]


async def test_a_name_the_index_knows_is_one_read_by_id_and_a_renamed_user_is_found_in_rt(
    rt: RtServer, tmp_path: Path
) -> None:
    """A search in RT costs three REST2 requests (RealName, Name, EmailAddress: about 25 ms of RT's Perl each); a
    name the index knows is one read of the user by id, checked against what RT holds now."""
    raw = rt.api()
    surname, renamed = unique("Harrowgate"), unique("Pellworth")
    user_id = raw.create_user(Name=unique("qh"), RealName=f"Quentin {surname}", EmailAddress="qh@example.org")
    async with opened(tmp_path, settings(rt)) as connector:
        await connector.refresh_index()
        requests = Requests(connector)
        assert await by_name(connector, surname.lower()) == [f"Quentin {surname}"]
        assert await by_name(connector, f"QUENTIN {surname}") == [f"Quentin {surname}"]
        assert requests.sent == [("user", str(user_id))] * 2
        raw.ok("PUT", f"/user/{user_id}", {"RealName": f"Quentin {renamed}"})
        requests.sent.clear()
        assert await by_name(connector, surname) == []  # read by id: no longer so named; then RT finds no one
        assert requests.sent == [
            ("user", str(user_id)),
            ("users", "RealName"),
            ("users", "Name"),
            ("users", "EmailAddress"),
        ]
        assert await by_name(connector, renamed) == [f"Quentin {renamed}"]  # not in the index: RT's search
        requests.sent.clear()
        assert await by_name(connector, renamed) == [f"Quentin {renamed}"]  # indexed by that search
        assert requests.sent == [("user", str(user_id))]


async def test_a_name_many_users_share_is_searched_in_rt(rt: RtServer, tmp_path: Path) -> None:
    raw = rt.api()
    shared = unique("Tregarthen")
    for n in range(4):  # more than the three reads by id a search in RT costs
        raw.create_user(Name=unique("tg"), RealName=f"Person{n} {shared}")
    async with opened(tmp_path, settings(rt)) as connector:
        await connector.refresh_index()
        requests = Requests(connector)
        assert await by_name(connector, shared) == [f"Person{n} {shared}" for n in range(4)]
        assert [kind for kind, _ in requests.sent] == ["users"] * 3


# --- popping -----------------------------------------------------------------------------------------


async def test_open_pops_the_users_summary_page_in_rt(
    api: ApiSession, partnercrmd_app: web.Application, partnercrmd_opener: RecordingOpener, rt: RtServer
) -> None:
    user_id = rt.api().create_user(Name=unique("pop"), RealName="Pop Pemberton", WorkPhone="020 7946 0120")
    book = await rt_book(partnercrmd_app, rt)
    record = await only_record(api, book, "+44 20 7946 0120")
    assert {a["SpecialKind"] for a in record["Actions"]} >= {"Open", "LogActivity"}
    await api.call("POST", "DoAction", actionId=action(record, "Open"))
    assert partnercrmd_opener.urls == [f"{rt.url}/User/Summary.html?id={user_id}"]
    with urllib.request.urlopen(partnercrmd_opener.urls[0], timeout=30) as page:  # noqa: S310 (the test's RT)
        assert page.status == 200  # RT's login page for this browser-less client: the address is RT's own


# --- logging calls -----------------------------------------------------------------------------------


async def log_call(api: ApiSession, record: dict[str, Any], **more: Any) -> None:
    await api.call(
        "POST",
        "DoAction",
        actionId=action(record, "LogActivity"),
        Direction="Inbound",
        CallerNumber="+44 20 7946 0130",
        CalledNumber="+44 20 7946 0000",
        StartTimeUtc="2026-12-07T09:30:00Z",
        DurationSeconds=95,
        Notes="Printer on floor 3 is jammed again.",
        **more,
    )


async def test_a_call_is_a_comment_on_the_callers_most_recently_updated_open_ticket(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer
) -> None:
    raw = rt.api()
    user_id = raw.create_user(Name=unique("caller"), RealName="Cal Comment", WorkPhone="020 7946 0130")
    first = raw.create_ticket(user_id, "VPN does not connect")
    middle = raw.create_ticket(user_id, "Printer jams")
    last = raw.create_ticket(user_id, "Monitor flickers")
    closed = raw.create_ticket(user_id, "Old laptop", Status="resolved")
    time.sleep(1.1)  # RT keeps LastUpdated in whole seconds: the comment below makes `middle` the latest updated
    raw.ok("POST", f"/ticket/{middle}/comment", {"Content": "still jamming", "ContentType": "text/plain"})
    raw.ok("PUT", f"/ticket/{closed}", {"Subject": "Old laptop (returned)"})  # updated later, but not open
    book = await rt_book(partnercrmd_app, rt)
    await log_call(api, await only_record(api, book, "+44 20 7946 0130"))

    call = raw.history(middle)[-1]  # read back through REST2, not through the add-in
    assert (call["Type"], call["Data"].strip()) == ("Comment", "Incoming call: +44 20 7946 0130 -> +44 20 7946 0000")
    assert "Printer on floor 3 is jammed again." in call["Text"] and "Duration: 1:35" in call["Text"]
    assert call["TimeTaken"] == "2"  # 95 s, in RT's whole minutes
    assert [t["Type"] for t in raw.history(first)] == [t["Type"] for t in raw.history(last)] == ["Create"]
    assert [t["Subject"] for t in raw.tickets(f"Requestor.id = {user_id}")] == [
        "VPN does not connect",
        "Printer jams",
        "Monitor flickers",
        "Old laptop (returned)",
    ]


async def test_a_caller_without_an_open_ticket_gets_a_new_one_in_the_queue(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer
) -> None:
    raw = rt.api()
    user_id = raw.create_user(Name=unique("fresh"), RealName="Nia Newticket", MobilePhone="07700 900140")
    raw.create_ticket(user_id, "Done long ago", Status="resolved")
    book = await rt_book(partnercrmd_app, rt)
    await log_call(api, await only_record(api, book, "+44 7700 900140"))
    tickets = raw.tickets(f"Requestor.id = {user_id}")
    assert [t["Subject"] for t in tickets] == ["Done long ago", "Incoming call: +44 20 7946 0130 -> +44 20 7946 0000"]
    created = tickets[-1]
    assert created["Queue"]["id"] == "1" and created["TimeWorked"] == "2"  # General
    [create] = [t for t in raw.history(created["id"]) if t["Type"] == "Create"]
    assert "Printer on floor 3 is jammed again." in create["Text"]


async def test_with_log_calls_ticket_every_call_is_a_new_ticket_in_the_chosen_queue(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer
) -> None:
    raw = rt.api()
    if raw.call("GET", "/queue/Phone")[0] != 200:
        raw.ok("POST", "/queue", {"Name": "Phone", "Description": "Calls"})
    queue_id = int(raw.ok("GET", "/queue/Phone")["id"])
    user_id = raw.create_user(Name=unique("tick"), RealName="Tia Ticket", HomePhone="020 7946 0150")
    open_one = raw.create_ticket(user_id, "Open already")
    book = await rt_book(partnercrmd_app, rt, log_calls="ticket", queue="Phone")
    await log_call(api, await only_record(api, book, "02079460150"))
    [opened, call] = raw.tickets(f"Requestor.id = {user_id}")
    assert int(opened["id"]) == open_one and [t["Type"] for t in raw.history(open_one)] == ["Create"]
    assert int(call["Queue"]["id"]) == queue_id


async def test_with_log_calls_off_no_call_is_offered(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer
) -> None:
    rt.api().create_user(Name=unique("off"), RealName="Otto Off", WorkPhone="020 7946 0160")
    book = await rt_book(partnercrmd_app, rt, log_calls="off")
    record = await only_record(api, book, "02079460160")
    assert "LogActivity" not in {a["SpecialKind"] for a in record["Actions"]}


# --- creating contacts -------------------------------------------------------------------------------


async def test_a_created_contact_is_a_user_in_rt_and_found_by_number_and_name(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer
) -> None:
    book = await rt_book(partnercrmd_app, rt)
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
    [stored] = rt.api().users(EmailAddress="grace.hopper@example.com")  # through REST2
    assert (stored["Name"], stored["RealName"], stored["WorkPhone"]) == (
        "grace.hopper@example.com",
        "Grace Hopper",
        "020 7183 8750",
    )
    assert names((await search(api, "+44 20 7183 8750"))[book]) == ["Grace Hopper"]
    assert names((await search(api, "Grace Hopper"))[book]) == ["Grace Hopper"]


async def test_a_contact_rt_already_has_is_refused_with_rts_reason(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer
) -> None:
    book = await rt_book(partnercrmd_app, rt)
    first = {"RecordTypeId": f"{book}/Contact", "ContactName": "Ada Lovelace", "Email": "ada@example.com"}
    await api.call("POST", "CreateNewRecord", **first)
    response = await api.request("POST", "CreateNewRecord", **first, Phone="020 7183 8760")
    assert response.status == 502
    message = (await response.json())["Message"]
    assert message.startswith("Request Tracker did not accept the data to create the user (400: ")
    assert "in use" in message  # RT's own words
    assert len(rt.api().users(EmailAddress="ada@example.com")) == 1
    nameless = await api.request("POST", "CreateNewRecord", RecordTypeId=f"{book}/Contact", Phone="020 7183 8761")
    assert nameless.status == 502
    assert "RT needs a name or an email address for a new user" in (await nameless.json())["Message"]


# --- failures ----------------------------------------------------------------------------------------


async def test_a_wrong_token_is_reported_without_showing_it(
    api: ApiSession, partnercrmd_app: web.Application, rt: RtServer
) -> None:
    wrong = "1-14-0123456789abcdef0123456789abcdef"
    book = await rt_book(partnercrmd_app, rt, token=wrong)
    for query in ("+44 20 7946 0958", "Dana"):
        text = (await search(api, query))[book]["ExceptionText"]
        assert text.startswith("Request Tracker refused to ") and "(401: Unauthorized)" in text
        assert "Check the setting 'token'" in text and wrong not in text


@asynccontextmanager
async def opened(data_dir: Path, book_settings: dict[str, Any]) -> AsyncIterator[RtBook]:
    """The connector as `partnercrmd books test` opens it: from the integration, outside the daemon."""
    data_dir.mkdir(exist_ok=True)
    connector = RT.open(BookContext("rt", "RT", book_settings, data_dir, "GB"))
    assert isinstance(connector, RtBook)
    try:
        yield connector
    finally:
        await connector.close()


def checks(results: Any) -> list[tuple[str, bool, str | None]]:
    return [(r.check, r.ok, r.error_key) for r in results]


async def test_test_connection_checks_each_capability(rt: RtServer, tmp_path: Path) -> None:
    rt.api().create_user(Name=unique("check"), RealName="Chad Check", WorkPhone="020 7946 0170")
    async with opened(tmp_path, settings(rt)) as connector:
        results = await connector.test()
    assert checks(results) == [
        ("reach", True, None),
        ("authenticate", True, None),
        ("users", True, None),
        ("search", True, None),
        ("log_calls", True, None),
        ("pop", True, None),
    ]
    assert results[0].message.startswith("Request Tracker 5.0.3")
    assert "phone numbers of RT users indexed" in results[3].message and "finds its user" in results[3].message
    assert "queue 'General'" in results[4].message
    assert results[5].message.endswith(f"{rt.url}/User/Summary.html?id=<user id>.")


async def test_test_connection_says_what_to_fix(rt: RtServer, tmp_path: Path) -> None:
    async with opened(tmp_path / "wrong", settings(rt, token="1-14-wrongwrongwrong")) as connector:
        results = await connector.test()
    assert checks(results) == [("reach", True, None), ("authenticate", False, "invalid_auth")]
    assert "Check the setting 'token'" in results[1].message and "wrongwrong" not in results[1].message

    async with opened(tmp_path / "agent", settings(rt, token=rt.setup.agent_token)) as connector:
        results = await connector.test()
    assert checks(results) == [("reach", True, None), ("authenticate", True, None), ("users", False, "invalid_auth")]
    assert "lacks the AdminUsers right" in results[2].message and "grant AdminUsers" in results[2].message

    async with opened(tmp_path / "queue", settings(rt, queue="No Such Queue")) as connector:
        results = await connector.test()
    assert checks(results)[4] == ("log_calls", False, "not_found")
    assert "check the setting 'queue'" in results[4].message

    async with opened(tmp_path / "path", settings(rt, url=f"{rt.url}/rt")) as connector:
        [reach] = await connector.test()
    assert (reach.check, reach.ok, reach.error_key) == ("reach", False, "not_found")
    assert "has no RT REST2 API (404 for /rt/REST/2.0/rt); check the setting 'url'" in reach.message

    nothing_there = f"http://127.0.0.1:{rt.port + 1 if rt.port < 65535 else 1}"
    async with opened(tmp_path / "down", settings(rt, url=nothing_there)) as connector:
        [reach] = await connector.test()
    assert (reach.check, reach.ok, reach.error_key) == ("reach", False, "cannot_connect")


def test_the_command_line_adds_and_tests_an_rt_book(
    partnercrmd_home: Paths, rt: RtServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"url={rt.url}"
    assert run_cli(["books", "add", "rt", "--name", "Help desk", "--set", url, "--set", "token=1-14-wrongwrong"]) != 0
    refused = capsys.readouterr().err
    assert "Request Tracker refused to sign in (401: Unauthorized)" in refused and "wrongwrong" not in refused

    token = f"token={rt.setup.root_token}"
    assert run_cli(["books", "add", "rt", "--name", "Help desk", "--set", url, "--set", token]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "Help desk"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   reach",
        "ok   authenticate",
        "ok   users",
        "ok   search",
        "ok   log_calls",
        "ok   pop",
    ]

    assert run_cli(["books", "set", "Help desk", "--set", f"token={rt.setup.agent_token}"]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "Help desk"]) == 1
    *_, users = capsys.readouterr().out.splitlines()
    assert users.startswith("FAIL users: The token's user lacks the AdminUsers right") and "[invalid_auth]" in users
    assert rt.setup.agent_token not in users


async def test_rt_stopped_mid_test_is_reported_in_the_search_answer(
    api: ApiSession, partnercrmd_app: web.Application, rt_setup: RtSetup, tmp_path: Path
) -> None:
    server = RtServer.start(rt_setup, tmp_path / "doomed", copy=True)
    try:
        server.api().create_user(Name="ivy.stone", RealName="Ivy Stone", WorkPhone="020 7946 0321")
        book = await rt_book(partnercrmd_app, server)
        assert names((await search(api, "+44 20 7946 0321"))[book]) == ["Ivy Stone"]
    finally:
        server.stop()
    for query in ("+44 20 7946 0321", "+44 20 7946 0322", "Ivy"):
        started = time.monotonic()
        answer = (await search(api, query, timeoutMs=1500))[book]
        assert time.monotonic() - started < 3
        assert answer["Records"] == []
        assert answer["ExceptionText"].startswith(f"Request Tracker at {server.url} cannot be reached"), answer
        assert "check the setting 'url' and that the server is running" in answer["ExceptionText"]


# --- settings, without a server ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"url": "rt.example.com"}, "'url' must be the address RT's web pages open at"),
        ({"url": "https://rt.example.com/REST/2.0"}, "without /REST/2.0"),
        ({"token": " "}, "'token' is empty"),
        ({"log_calls": "email"}, "'log_calls' must be one of: comment, ticket, off"),
        ({"queue": " "}, "'queue' is empty"),
        ({"index_minutes": 0}, "'index_minutes' must be between 1 and 1440"),
        ({"timeout_seconds": "ten"}, "'timeout_seconds' must be a whole number"),
    ],
)
def test_settings_the_add_in_cannot_use_are_refused(tmp_path: Path, changes: dict[str, Any], reason: str) -> None:
    given = {"url": "https://rt.example.com", "token": "1-14-x", **changes}
    with pytest.raises(ConfigError, match=re.escape(reason)):
        RT.open(BookContext("rt", "RT", given, tmp_path, "GB"))

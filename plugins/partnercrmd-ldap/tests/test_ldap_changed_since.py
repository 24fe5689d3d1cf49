"""The server search for a number the local index does not know, bounded to entries changed since the index fill.

Against a real slapd that logs every search (`Slapd(stats=True)`): the filter slapd received is read back
from its log. The directory holds `OLD_PEOPLE` entries last changed in 2025 (loaded with slapadd, which keeps
the modifyTimestamp the LDIF gives), as most entries of a real directory were changed long before the fill.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from ldap_test_support import open_connector
from partnercrmd_ldap import LDAP
from partnercrmd_ldap.connector import LdapBook
from partnercrmd_ldap.generalized_time import SAFETY_MARGIN, LatestChange, parse
from partnercrmd_ldap.index import Bound, Filled, NumberIndex, PartialFill
from partnercrmd_ldap.presets import ACTIVE_DIRECTORY, OPENLDAP
from partnercrmd_ldap.settings import parse_settings
from slapd_server import PEOPLE, SEED, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Search, Slapd, person

from partnercrmd.sdk import AddinError, Contact
from partnercrmd.testing import ApiSession, book_connector, configure_book, contact_names, number_query

INDEXES = ["index objectClass eq", "index modifyTimestamp eq"]
"""`index objectClass eq` (recommended for name searches) and the line the README recommends for the bound."""
OLD_PEOPLE = 120
LONG_AGO = "20250101000000Z"
SUBTREE = 2
BOUND = re.compile(r"\(modifyTimestamp>=(\d{14}Z)\)", re.IGNORECASE)
UNKNOWN = "+44 20 7946 0999"


def old_people() -> str:
    return "\n".join(
        person(f"Old {n:04}", sn=f"Old{n:04}", telephoneNumber=f"+44 20 7000 {n:04}", modifyTimestamp=LONG_AGO)
        for n in range(OLD_PEOPLE)
    )


def start_slapd(directory: Path, **options: Any) -> Slapd:
    server = Slapd(directory, indexes=INDEXES, stats=True, **options)
    server.slapadd(SEED + "\n" + old_people())
    server.start()
    return server


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    """A slapd of the test's own (tests change entries behind the add-in's back)."""
    server = start_slapd(tmp_path / "slapd")
    try:
        yield server
    finally:
        server.stop()


def filled(connector: LdapBook) -> int:
    assert connector.index is not None
    return connector.index.refresh(connector.index_fill)


def subtree_searches_after(slapd: Slapd, action: Callable[[], Any]) -> list[Search]:
    """The subtree searches slapd received while `action` ran."""
    before = len(slapd.searches())
    action()
    return [s for s in slapd.searches()[before:] if s.scope == SUBTREE]


def bound_in(search: Search) -> str | None:
    match = BOUND.search(search.filter)
    return match[1] if match else None


def modify_timestamp(slapd: Slapd, dn: str) -> datetime:
    """The entry's modifyTimestamp as slapd keeps it (read with ldapsearch, OpenLDAP's own client)."""
    [entry] = slapd.ldapsearch(dn, "(objectClass=*)", "modifyTimestamp")
    moment = parse(entry["modifyTimestamp"][0])
    assert moment is not None
    return moment


def touch(slapd: Slapd, cn: str, number: str) -> None:
    slapd.ldapmodify(f"dn: cn={cn},{PEOPLE}\nchangetype: modify\nreplace: telephoneNumber\ntelephoneNumber: {number}\n")


# --- the bound ----------------------------------------------------------------------------------------


def test_an_unknown_numbers_server_search_carries_the_time_bound(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path / "data") as connector:
        assert filled(connector) == 8 + OLD_PEOPLE
        assert connector.index is not None
        since = connector.index.bound("modifyTimestamp")
        assert since is not None
        [search] = subtree_searches_after(slapd, lambda: connector.search(number_query(UNKNOWN)))
        assert search.base == SUFFIX and "*9*4*6*0*9*9*9*" in search.filter
        assert bound_in(search) == since
        # A known caller still costs no subtree search at all.
        assert subtree_searches_after(slapd, lambda: connector.search(number_query("+44 20 7946 0958"))) == []


def test_the_bound_is_not_later_than_the_servers_time_when_the_fill_began(slapd: Slapd, tmp_path: Path) -> None:
    touch(slapd, "Frank Ocampo", "(212) 736-5000")  # the latest change before the fill
    changed = modify_timestamp(slapd, f"cn=Frank Ocampo,{PEOPLE}")  # slapd's clock, before the fill began
    with open_connector(slapd, tmp_path / "data") as connector:
        started = time.monotonic()
        filled(connector)
        took = time.monotonic() - started
        assert connector.index is not None
        since = parse(connector.index.bound("modifyTimestamp") or "")
    assert since is not None
    # T = M - D - margin with M = Frank's change (the latest read), so T is before the fill began by the margin.
    assert since <= changed - timedelta(seconds=SAFETY_MARGIN)
    assert since >= changed - timedelta(seconds=SAFETY_MARGIN + took + 2)
    touch(slapd, "Frank Ocampo", "(212) 736-5001")  # after the fill: slapd's clock is past T
    assert modify_timestamp(slapd, f"cn=Frank Ocampo,{PEOPLE}") > since


def search_results(slapd: Slapd) -> list[int]:
    """The result code of every search slapd has answered so far (its stats log), in order."""
    log = (slapd.directory / "slapd.log").read_text(errors="replace")
    return [int(code) for code in re.findall(r"SEARCH RESULT tag=101 err=(\d+)", log)]


def results_after(slapd: Slapd, before: int) -> list[int]:
    """The result codes of the searches answered after the first `before` ones (slapd may log the result line
    a moment after the client got it, so wait up to two seconds for one)."""
    deadline = time.monotonic() + 2
    while len(search_results(slapd)) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    return search_results(slapd)[before:]


def test_the_server_answers_the_bounded_search_from_its_index_without_a_scan(tmp_path: Path) -> None:
    server = start_slapd(tmp_path / "slapd")
    try:
        with (
            open_connector(server, tmp_path / "data") as connector,
            open_connector(server, tmp_path / "plain", modified_attribute="") as unbounded,
        ):
            filled(connector)
            filled(unbounded)
            # Now slapd refuses (adminLimitExceeded, 11) a search of the account that its indexes do not narrow
            # to 50 candidates: the unbounded pattern must compare every entry, the bound leaves the recent few.
            server.stop()
            server.limits = [f'limits dn.exact="{SERVICE_DN}" size.prtotal=unlimited size.unchecked=50']
            server.start()
            before = len(search_results(server))
            assert connector.search(number_query(UNKNOWN)) == []
            assert results_after(server, before) == [0]
            before = len(search_results(server))
            unbounded.search(number_query(UNKNOWN))
            assert results_after(server, before) == [11]
    finally:
        server.stop()


async def test_through_the_api_an_unknown_caller_is_a_bounded_search_and_a_new_entry_is_found(
    api: ApiSession, partnercrmd_app: web.Application, slapd: Slapd
) -> None:
    book_id = await configure_book(
        partnercrmd_app,
        "ldap",
        url=slapd.url,
        bind_dn=SERVICE_DN,
        password=SERVICE_PASSWORD,
        base_dn=SUFFIX,
        preset="openldap",
    )
    book = getattr(book_connector(partnercrmd_app, book_id), "blocking", None)
    assert isinstance(book, LdapBook) and book.index is not None

    async def found(number: str) -> list[str]:
        [collection] = [c for c in await api.call("POST", "Search", query=number) if c["AddinId"] == book_id]
        assert collection["ExceptionText"] == ""
        return [r["DisplayText"] for r in collection["Records"]]

    assert await found("+44 20 7946 0958") == ["Dana Whitfield"]  # the first search fills the index
    await asyncio.to_thread(
        book.index.refresh, book.index_fill
    )  # make sure the fill is over (it may have outlasted the first wait)
    since = book.index.bound("modifyTimestamp")
    assert since is not None
    before = len(slapd.searches())
    assert await found(UNKNOWN) == []
    slapd.ldapadd(person("Nell Newcomer", sn="Newcomer", telephoneNumber="020 7946 0321"))
    assert await found("02079460321") == ["Nell Newcomer"]
    searches = [s for s in slapd.searches()[before:] if s.scope == SUBTREE]
    assert [bound_in(s) for s in searches] == [since, since]


# --- entries changed on the server after the fill are still found -------------------------------------


def test_an_entry_added_after_the_fill_is_found_by_the_bounded_search(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path / "data") as connector:
        filled(connector)
        slapd.ldapadd(person("Nell Newcomer", sn="Newcomer", telephoneNumber="020 7946 0321"))
        found: list[Contact] = []
        [search] = subtree_searches_after(slapd, lambda: found.extend(connector.search(number_query("02079460321"))))
        assert contact_names(found) == ["Nell Newcomer"]
        assert bound_in(search) is not None


def test_an_entry_renumbered_after_the_fill_is_found_under_its_new_number(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path / "data") as connector:
        filled(connector)
        touch(slapd, "Old 0007", "+44 20 7946 0777")  # an old entry, changed now: its timestamp is past the bound
        found: list[Contact] = []
        [search] = subtree_searches_after(slapd, lambda: found.extend(connector.search(number_query("02079460777"))))
        assert contact_names(found) == ["Old 0007"] and bound_in(search) is not None
        assert connector.search(number_query("+44 20 7000 0007")) == []  # not under its old number


def test_the_stored_bound_is_used_after_a_restart_of_the_connector(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path / "data") as connector:
        filled(connector)
        assert connector.index is not None
        since = connector.index.bound("modifyTimestamp")
    assert since is not None
    slapd.ldapadd(person("Nell Newcomer", sn="Newcomer", telephoneNumber="020 7946 0321"))
    with open_connector(slapd, tmp_path / "data") as again:
        before = len(slapd.searches())
        assert contact_names(again.search(number_query("+44 20 7946 0321"))) == ["Nell Newcomer"]
        [search] = [s for s in slapd.searches()[before:] if s.scope == SUBTREE]  # no new fill, one search
        assert bound_in(search) == since


# --- no bound -----------------------------------------------------------------------------------------


def test_a_partial_fill_leaves_no_bound(tmp_path: Path) -> None:
    server = start_slapd(tmp_path / "slapd", limits=["limits users size=3"])  # cuts paged searches too
    try:
        with open_connector(server, tmp_path / "data") as connector:
            filled(connector)
            assert connector.index is not None and connector.index.incomplete is not None
            assert connector.index.bound("modifyTimestamp") is None
            # An entry the cut listing did not read is found by the unbounded search, however old it is.
            found: list[Contact] = []
            searches = subtree_searches_after(
                server, lambda: found.extend(connector.search(number_query("+44 20 7000 0099")))
            )
            assert contact_names(found) == ["Old 0099"]
            assert [bound_in(s) for s in searches] == [None]
    finally:
        server.stop()


def test_a_partial_fill_removes_the_bound_of_an_earlier_complete_fill(tmp_path: Path) -> None:
    index = NumberIndex(tmp_path / "numbers.sqlite3", "GB", max_age=900.0)
    dana = f"cn=Dana Whitfield,{PEOPLE}"

    def complete(stop: Callable[[], bool]) -> Filled:
        return Filled({dana: ["020 7946 0958"]}, Bound("modifyTimestamp", "20261126020000Z"))

    def partial(stop: Callable[[], bool]) -> Filled:
        raise PartialFill({dana: ["020 7946 0958"]}, AddinError("cut at 1 entry", code="invalid_auth"))

    try:
        index.refresh(complete)
        assert index.bound("modifyTimestamp") == "20261126020000Z"
        assert index.bound("whenChanged") is None  # read from another attribute: not this setting's bound
        assert index.bound("") is None
        index.refresh(partial)
        assert index.bound("modifyTimestamp") is None
        assert index.lookup("+442079460958") == [dana]
    finally:
        index.close(1)


def test_a_change_time_in_the_future_gives_no_bound(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = Slapd(tmp_path / "slapd", indexes=INDEXES, stats=True)
    future = person("Fay Future", sn="Future", telephoneNumber="+44 20 7000 8888", modifyTimestamp="20300101000000Z")
    server.slapadd(SEED + "\n" + old_people() + "\n" + future)  # e.g. imported from a server whose clock was ahead
    server.start()
    try:
        with open_connector(server, tmp_path / "data") as connector:
            with caplog.at_level(logging.WARNING, logger="partnercrmd_ldap.connector"):
                filled(connector)
            assert "The latest 'modifyTimestamp' in the directory lies in the future" in caplog.text
            assert connector.index is not None and connector.index.bound("modifyTimestamp") is None
            server.ldapadd(person("Nell Newcomer", sn="Newcomer", telephoneNumber="020 7946 0321"))
            found: list[Contact] = []
            [search] = subtree_searches_after(
                server, lambda: found.extend(connector.search(number_query("02079460321")))
            )
            assert contact_names(found) == ["Nell Newcomer"] and bound_in(search) is None
    finally:
        server.stop()


def test_modified_attribute_empty_searches_as_before(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path / "data", modified_attribute="") as connector:
        filled(connector)
        assert connector.index is not None and connector.index.bound("modifyTimestamp") is None
        [search] = subtree_searches_after(slapd, lambda: connector.search(number_query(UNKNOWN)))
        assert bound_in(search) is None and "modifytimestamp" not in search.filter.lower()
        # The fill read no change times either.
        assert connector.index.lookup("+442070000007") != []


def test_an_attribute_some_entries_lack_gives_no_bound(slapd: Slapd, tmp_path: Path) -> None:
    # employeeNumber is on no entry: as if the account could not read the change time.
    with open_connector(slapd, tmp_path / "data", modified_attribute="employeeNumber") as connector:
        filled(connector)
        assert connector.index is not None and connector.index.bound("employeeNumber") is None
        [search] = subtree_searches_after(slapd, lambda: connector.search(number_query(UNKNOWN)))
        assert "employeenumber" not in search.filter.lower()


def test_index_minutes_0_searches_without_a_bound(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path / "data", index_minutes=0) as connector:
        [search] = subtree_searches_after(slapd, lambda: connector.search(number_query(UNKNOWN)))
        assert bound_in(search) is None


@pytest.mark.parametrize(
    ("modified_attribute", "note"),
    [
        ("preset", "Numbers it does not know are searched only among contacts whose 'modifyTimestamp' is 20"),
        ("", "Numbers it does not know are searched among all contacts (setting 'modified_attribute' is empty)."),
        ("employeeNumber", "searched among all contacts: not every contact has a readable 'employeeNumber'"),
    ],
)
def test_test_connection_says_what_narrows_the_search_for_unknown_numbers(
    slapd: Slapd, tmp_path: Path, modified_attribute: str, note: str
) -> None:
    with open_connector(slapd, tmp_path / "data", modified_attribute=modified_attribute) as connector:
        *_, index = connector.test()
    assert index.check == "index" and index.ok and note in index.message


def test_ldapadd_with_relax_keeps_an_old_modify_timestamp(slapd: Slapd, tmp_path: Path) -> None:
    # What a benchmark seeding a running slapd needs: entries that look changed long before the fill.
    slapd.ldapadd(
        person("Olga Older", sn="Older", telephoneNumber="+44 20 7000 9999", modifyTimestamp=LONG_AGO), relax=True
    )
    assert modify_timestamp(slapd, f"cn=Olga Older,{PEOPLE}") == parse(LONG_AGO)
    with open_connector(slapd, tmp_path / "data") as connector:
        filled(connector)
        assert connector.index is not None
        since = connector.index.bound("modifyTimestamp")
        assert since is not None and since > LONG_AGO


# --- settings and times -------------------------------------------------------------------------------


def test_the_presets_choose_their_change_time_attribute_and_the_setting_overrides_it() -> None:
    base = {"url": "ldap://127.0.0.1", "base_dn": SUFFIX}
    assert parse_settings({**base, "preset": OPENLDAP}).modified_attribute == "modifyTimestamp"
    assert parse_settings({**base, "preset": ACTIVE_DIRECTORY}).modified_attribute == "whenChanged"
    assert parse_settings({**base, "modified_attribute": "  "}).modified_attribute == ""
    assert parse_settings({**base, "modified_attribute": "preset"}).modified_attribute == "modifyTimestamp"
    active_directory = {**base, "preset": ACTIVE_DIRECTORY, "modified_attribute": "preset"}
    assert parse_settings(active_directory).modified_attribute == "whenChanged"
    assert parse_settings({**base, "modified_attribute": "changeTime"}).modified_attribute == "changeTime"
    with pytest.raises(Exception, match=r"The setting 'modified_attribute' must be an attribute name"):
        parse_settings({**base, "modified_attribute": "(modifyTimestamp>=1)"})
    field = LDAP.config_field("modified_attribute")
    assert field is not None and field.default == "preset" and "empty: no such bound" in field.help


def test_change_times_keep_the_servers_style_and_a_missing_one_spoils_the_bound() -> None:
    active_directory = LatestChange()
    active_directory.add(["20261126024500.0Z"])
    active_directory.add(["20261126030000.0Z"])
    active_directory.add(["20250101000000.0Z"])
    assert active_directory.minus(301) == "20261126025459.0Z"
    openldap = LatestChange()
    openldap.add(["20261126024500Z"])
    assert openldap.minus(0) == "20261126024500Z"
    assert parse("20261126024500Z") == datetime(2026, 11, 26, 2, 45, tzinfo=UTC)
    for spoilt in ([], ["2026112602Z"], ["20261126024500+0100"], ["20261326024500Z"]):
        latest = LatestChange()
        latest.add(["20261126024500Z"])
        latest.add(spoilt)
        assert latest.minus(0) is None, spoilt
    assert LatestChange().minus(0) is None  # nothing read

"""The LDAP add-in's local number index, against a real OpenLDAP slapd (and through the daemon's HTTP API).

What the add-in sends to slapd is recorded by wrapping its client's `search` and `search_pages`: a number
lookup served by the index must be base-scope reads of the indexed DNs, never a subtree search.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from ldap_test_support import Sent, open_connector, running_slapd, settings
from partnercrmd_ldap import LDAP
from partnercrmd_ldap.connector import LdapBook
from partnercrmd_ldap.filters import contacts_filter, name_filter
from partnercrmd_ldap.index import FIRST_FILL_WAIT, NumberIndex
from partnercrmd_ldap.ldap3_api import ldap3
from partnercrmd_ldap.presets import OPENLDAP, PRESETS
from slapd_server import CONTACTS, PEOPLE, SEED, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd, person

from partnercrmd.sdk import INDEX_FILE_PREFIX, BookContext, SearchQuery
from partnercrmd.testing import ApiSession, Paths, book_connector, configure_book, contact_names, number_query, run_cli

DANA = f"cn=Dana Whitfield,{PEOPLE}"
NAME_INDEXES = ["index objectClass eq", "index cn,sn,givenName,mail,o eq,sub"]
"""The indexes the README recommends for name searches (slapd needs objectClass too: it adds a referral check
to every filter, and without that index no other index can narrow the candidates)."""
UNCHECKED_LIMIT = ["limits users size.unchecked=50"]
"""slapd refuses (adminLimitExceeded) a search of the service account that no index narrows to 50 candidates."""


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """One slapd for this file, seeded with slapd_server.SEED; tests that change entries use their own."""
    with running_slapd(tmp_path_factory.mktemp("slapd-index")) as server:
        yield server


def filled(connector: LdapBook) -> int:
    """Fill the connector's index now; how many numbers it holds."""
    assert connector.index is not None
    return connector.index.refresh(connector.index_fill)


# --- the index serves known callers -------------------------------------------------------------------


def test_a_known_caller_is_read_by_dn_without_a_subtree_search(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path) as connector:
        sent = Sent(connector)
        # The first search of an empty index waits for the fill (a paged subtree search of the phone attributes).
        assert contact_names(connector.search(number_query("02079460958"))) == ["Dana Whitfield"]
        # Before it, one read of the rootDSE: slapd keeps no change counter (Active Directory's highestCommittedUSN).
        assert sent.calls[0] == ("search", "", "(objectClass=*)", "BASE")
        assert sent.calls[1][0] == "pages" and sent.calls[1][2] == "(objectClass=inetOrgPerson)"
        sent.clear()
        for query in ("+44 20 7946 0958", "0044 20 7946 0958", "(0)20-7946-0958", "+44 7700 900123"):
            assert contact_names(connector.search(number_query(query))) == ["Dana Whitfield"]
        assert sent.scopes() == [(DANA, "BASE")] * 4
        # The decoy "+49 89 4946 0958" holds the same digits in order; the index does not confuse them.
        sent.clear()
        assert contact_names(connector.search(number_query("+49 89 4946 0958"))) == ["Max Decoy"]
        assert sent.scopes() == [(f"cn=Max Decoy,{PEOPLE}", "BASE")]


def test_without_a_change_counter_no_names_are_kept_and_slapd_answers_names(slapd: Slapd, tmp_path: Path) -> None:
    """slapd keeps no change counter that could say the names are current (and answers a substring search from
    the README's `sub` indexes): the fill reads only the phone attributes, and names go to the server."""
    with open_connector(slapd, tmp_path) as connector:
        sent = Sent(connector)
        # A new book's name search neither waits for a fill nor starts one (names never come from this index).
        assert contact_names(connector.search(SearchQuery("whitfield", limit=5))) == ["Dana Whitfield"]
        assert sent.scopes() == [(SUFFIX, "SUBTREE")]
        assert filled(connector) > 0
        assert connector.index is not None and not connector.index.holds_names()
        assert connector.index.find_names(["whitfield"], 5) == []
        sent.clear()
        assert contact_names(connector.search(SearchQuery("whitfield", limit=5))) == ["Dana Whitfield"]
        assert sent.scopes() == [(SUFFIX, "SUBTREE")]


def test_an_unknown_number_asks_the_server_once(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path) as connector:
        assert filled(connector) == 8  # the seeded people's phone values
        sent = Sent(connector)
        assert connector.search(number_query("+44 20 7946 0999")) == []
        [(kind, base, search_filter, scope)] = sent.calls
        assert (kind, base, scope) == ("search", SUFFIX, "SUBTREE") and "*9*4*6*0*9*9*9*" in search_filter


def test_pictures_are_read_by_dn_when_asked_for(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path) as connector:
        filled(connector)
        query = number_query("+44 20 7946 0958")
        [dana] = connector.search(SearchQuery(query.text, 5, number=query.number, include_pictures=True))
        assert dana.picture is not None


# --- the server's changes -----------------------------------------------------------------------------


@pytest.fixture
def own_slapd(tmp_path: Path) -> Iterator[Slapd]:
    """A slapd of the test's own, for tests that change entries behind the add-in's back."""
    with running_slapd(tmp_path / "slapd") as server:
        yield server


def test_an_entry_added_on_the_server_after_the_fill_is_found_at_once(own_slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(own_slapd, tmp_path / "data") as connector:
        filled(connector)
        own_slapd.ldapadd(person("Nell Newcomer", sn="Newcomer", telephoneNumber="020 7946 0321"))
        sent = Sent(connector)
        assert contact_names(connector.search(number_query("+44 20 7946 0321"))) == ["Nell Newcomer"]
        assert [scope for _, scope in sent.scopes()] == ["SUBTREE"]  # not indexed yet: the server search
        sent.clear()
        # Found by the server search, so now in the index: the next call reads the entry by its DN.
        assert contact_names(connector.search(number_query("02079460321"))) == ["Nell Newcomer"]
        assert sent.scopes() == [(f"cn=Nell Newcomer,{PEOPLE}", "BASE")]


def test_a_renumbered_entry_is_not_shown_under_its_old_number(own_slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(own_slapd, tmp_path / "data") as connector:
        filled(connector)
        own_slapd.ldapmodify(
            f"dn: cn=Frank Ocampo,{PEOPLE}\nchangetype: modify\nreplace: telephoneNumber\n"
            "telephoneNumber: (212) 736-5999\n"
        )
        sent = Sent(connector)
        assert connector.search(number_query("+1 212 736 5000")) == []
        # The index named Frank; his entry, read by DN, no longer has the number; the server search agrees.
        assert [scope for _, scope in sent.scopes()] == ["BASE", "SUBTREE"]
        assert contact_names(connector.search(number_query("+1 212 736 5999"))) == ["Frank Ocampo"]
        sent.clear()
        assert connector.search(number_query("+1 212 736 5000")) == []  # the index learnt the new number
        assert [scope for _, scope in sent.scopes()] == ["SUBTREE"]


def test_a_deleted_entry_is_forgotten(own_slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(own_slapd, tmp_path / "data") as connector:
        filled(connector)
        own_slapd.ldapmodify(f"dn: cn=Frank Ocampo,{PEOPLE}\nchangetype: delete\n")
        assert connector.index is not None and connector.index.lookup("+12127365000") == [f"cn=Frank Ocampo,{PEOPLE}"]
        assert connector.search(number_query("+1 212 736 5000")) == []
        assert connector.index.lookup("+12127365000") == []


# --- opening a found contact --------------------------------------------------------------------------


def test_a_found_contact_is_read_again_by_its_dn_and_id(own_slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(own_slapd, tmp_path / "data") as connector:
        [dana] = connector.search(number_query("+44 20 7946 0958"))
        [eamon] = connector.search(SearchQuery("eamon", 5))  # name searches remember DNs too
        sent = Sent(connector)
        for contact in (dana, eamon):
            found = connector.get(contact.id)
            assert found is not None and found.name == contact.name
        assert [(base, scope) for base, scope in sent.scopes()] == [
            (DANA, "BASE"),
            (f"cn=Eamon O'Neill,{PEOPLE}", "BASE"),
        ]
        assert all(
            f"(entryUUID={contact.id})" in call[2] for contact, call in zip((dana, eamon), sent.calls, strict=True)
        )
        # Renamed on the server: not at its old DN any more, so it is searched by its id, and found.
        own_slapd.ldapmodify(f"dn: {DANA}\nchangetype: modrdn\nnewrdn: cn=Dana Whitfield-Ross\ndeleteoldrdn: 1\n")
        sent.clear()
        renamed = connector.get(dana.id)
        assert renamed is not None and renamed.name == "Dana Whitfield-Ross"
        assert [scope for _, scope in sent.scopes()] == ["BASE", "SUBTREE"]
        sent.clear()
        assert connector.get(dana.id) is not None
        assert sent.scopes() == [(f"cn=Dana Whitfield-Ross,{PEOPLE}", "BASE")]


# --- writes through the add-in ------------------------------------------------------------------------


async def test_a_contact_created_or_changed_through_the_api_is_found_from_the_index_at_once(
    api: ApiSession, partnercrmd_app: web.Application, own_slapd: Slapd
) -> None:
    book_id = await configure_book(
        partnercrmd_app, "ldap", **settings(own_slapd, allow_create=True, allow_update=True, create_container=CONTACTS)
    )
    connector = book_connector(partnercrmd_app, book_id)
    book = getattr(connector, "blocking", None)
    assert isinstance(book, LdapBook) and book.index is not None
    await api.call("POST", "Search", query="+44 20 7946 0958")  # the first search fills the index
    assert book.index.age() < 60
    sent = Sent(book)
    created = await api.call(
        "POST", "CreateNewRecord", RecordTypeId=f"{book_id}/Contact", ContactName="Ada King", Phone="0161 496 0100"
    )
    sent.clear()

    async def found(number: str) -> list[str]:
        [collection] = [c for c in await api.call("POST", "Search", query=number) if c["AddinId"] == book_id]
        assert collection["ExceptionText"] == ""
        return [r["DisplayText"] for r in collection["Records"]]

    assert await found("+44 161 496 0100") == ["Ada King"]
    assert sent.scopes() == [(f"cn=Ada King,{CONTACTS}", "BASE")]  # from the index, without a subtree search
    await api.call(
        "POST", "SaveRecord", RecordId=created["UniqueId"], ContactName="Ada Lovelace", Phone="0161 496 0199"
    )
    sent.clear()
    assert await found("+44 161 496 0199") == ["Ada Lovelace"]
    assert sent.scopes() == [(f"cn=Ada Lovelace,{CONTACTS}", "BASE")]  # renamed: the new DN is indexed
    assert book.index.lookup("+441614960100") == []  # the old number and the old DN are gone


# --- lifetime and settings ----------------------------------------------------------------------------


def test_the_index_survives_a_restart_of_the_connector(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path) as connector:
        assert filled(connector) == 8
    [index_file] = [p for p in tmp_path.iterdir() if p.name.endswith(".sqlite3")]
    assert index_file.name.startswith(INDEX_FILE_PREFIX)
    with open_connector(slapd, tmp_path) as again:
        sent = Sent(again)
        assert contact_names(again.search(number_query("+44 20 7946 0958"))) == ["Dana Whitfield"]
        assert sent.scopes() == [(DANA, "BASE")]  # no new fill, no server search


def test_other_settings_get_a_new_index(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path) as connector:
        filled(connector)
    with open_connector(slapd, tmp_path, search_filter="(o=Northwind*)") as narrowed:
        assert narrowed.index is not None and narrowed.index.age() == float("inf")
        assert filled(narrowed) == 4  # Dana's two numbers, Eamon's two
        assert narrowed.search(number_query("+33 1 42 68 53 00")) == []
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".sqlite3")]) == 1  # the old one was removed


def test_index_minutes_0_keeps_no_index_and_asks_the_server(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path, index_minutes=0) as connector:
        assert connector.index is None
        sent = Sent(connector)
        assert contact_names(connector.search(number_query("+44 20 7946 0958"))) == ["Dana Whitfield"]
        assert contact_names(connector.search(number_query("+44 7700 900123"))) == ["Dana Whitfield"]
        assert [(kind, base, scope) for kind, base, _, scope in sent.calls] == [("search", SUFFIX, "SUBTREE")] * 2
        assert [r.check for r in connector.test()] == ["reach", "authenticate", "search"]
    assert list(tmp_path.iterdir()) == []


def test_turning_the_index_off_removes_its_file(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path) as connector:
        filled(connector)
    assert any(p.name.startswith(INDEX_FILE_PREFIX) for p in tmp_path.iterdir())
    with open_connector(slapd, tmp_path, index_minutes=0):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [-1, 1441, "often"])
def test_index_minutes_out_of_range_is_a_clear_config_error(slapd: Slapd, tmp_path: Path, value: Any) -> None:
    with pytest.raises(Exception, match=r"The setting 'index_minutes' must be a number of minutes between 0"):
        LDAP.open(BookContext("d", "D", settings(slapd, index_minutes=value), tmp_path, "GB"))


def test_index_minutes_is_in_the_schema() -> None:
    field = LDAP.config_field("index_minutes")
    assert field is not None and field.default == 15 and "0: no index" in field.help


# --- filling ------------------------------------------------------------------------------------------


def test_the_fill_reads_every_contact_page_by_page(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path) as connector:
        pages: list[list[str]] = []
        passed = connector.client.search_pages(
            SUFFIX,
            "(objectClass=inetOrgPerson)",
            ["telephoneNumber"],
            lambda page: pages.append([e.dn for e in page]),
            page_size=2,
        )
        assert passed == 5 and [len(p) for p in pages] == [2, 2, 1]
        assert len({dn for page in pages for dn in page}) == 5
        stopped: list[list[str]] = []
        connector.client.search_pages(
            SUFFIX, "(objectClass=inetOrgPerson)", [], lambda page: stopped.append([]), page_size=2, stop=lambda: True
        )
        assert len(stopped) == 1  # asked to stop after its first page


def test_the_index_fill_pages_through_the_directory(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path) as connector:
        connector.fill_page_size = 2
        sent = Sent(connector)
        assert filled(connector) == 8  # five people, three pages
        [root_dse, (kind, base, search_filter, _)] = sent.calls  # the rootDSE: slapd keeps no change counter
        assert root_dse[1] == "" and (kind, base, search_filter) == ("pages", SUFFIX, "(objectClass=inetOrgPerson)")
        assert contact_names(connector.search(number_query("+33 1 42 68 53 01"))) == ["Zoë Lefèvre"]  # a fax, last page


def test_what_the_add_in_writes_during_a_fill_is_kept(tmp_path: Path) -> None:
    index = NumberIndex(tmp_path / "numbers.sqlite3", "GB", max_age=900.0)
    listing = threading.Event()
    written = threading.Event()

    def slow_fill(stop: Callable[[], bool]) -> dict[str, list[str]]:
        listing.set()
        assert written.wait(5)
        return {DANA: ["020 7946 0958"]}  # read before the change below

    try:
        index.ensure_fresh(slow_fill)  # empty: starts the fill and waits up to FIRST_FILL_WAIT
        assert listing.wait(5)
        index.remember(DANA, ["020 7946 0111"])  # e.g. SaveRecord while the directory is being listed
        written.set()
        assert index.coordinator.wait(5)
        assert index.lookup("+442079460111") == [DANA]
        assert index.lookup("+442079460958") == []
    finally:
        index.close(1)


def test_the_first_search_waits_about_a_second_for_a_slow_first_fill(tmp_path: Path) -> None:
    index = NumberIndex(tmp_path / "numbers.sqlite3", "GB", max_age=900.0)
    release = threading.Event()

    def slow_fill(stop: Callable[[], bool]) -> dict[str, list[str]]:
        assert release.wait(10)
        return {DANA: ["020 7946 0958"]}

    try:
        started = time.monotonic()
        index.ensure_fresh(slow_fill)  # empty: waits FIRST_FILL_WAIT, then the search asks the server itself
        waited = time.monotonic() - started
        assert FIRST_FILL_WAIT * 0.9 <= waited < FIRST_FILL_WAIT + 1.5
        assert index.coordinator.is_running()  # the fill goes on in the background
        started = time.monotonic()
        index.ensure_fresh(slow_fill)  # still empty, the same fill running: no second fill, the same short wait
        assert time.monotonic() - started < FIRST_FILL_WAIT + 1.5
        release.set()
        assert index.coordinator.wait(5)
        assert index.lookup("+442079460958") == [DANA]
        started = time.monotonic()
        index.ensure_fresh(slow_fill)  # filled and fresh: no wait at all
        assert time.monotonic() - started < 0.5
    finally:
        release.set()
        index.close(1)


def test_closing_the_book_stops_a_running_fill(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = NumberIndex(tmp_path / "numbers.sqlite3", "GB", max_age=900.0, close_wait=0.0)
    listing = threading.Event()
    pages_after_stop: list[int] = []

    def endless_fill(stop: Callable[[], bool]) -> dict[str, list[str]]:
        listing.set()
        while not stop():
            time.sleep(0.01)
        pages_after_stop.append(1)
        return {DANA: ["020 7946 0958"]}

    with caplog.at_level(logging.WARNING, logger="partnercrmd_ldap.index"):
        index.ensure_fresh(endless_fill)
        assert listing.wait(5)
        started = time.monotonic()
        index.close(1)
        assert time.monotonic() - started < 1
    assert pages_after_stop == [1] and caplog.text == ""
    again = NumberIndex(tmp_path / "numbers.sqlite3", "GB", max_age=900.0)
    try:
        assert again.age() == float("inf")  # the stopped fill stored nothing
    finally:
        again.close(1)


def test_a_failed_fill_is_logged_retried_later_and_the_old_index_keeps_answering(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    index = NumberIndex(tmp_path / "numbers.sqlite3", "GB", max_age=0.0)
    calls: list[str] = []

    def good(stop: Callable[[], bool]) -> dict[str, list[str]]:
        calls.append("good")
        return {DANA: ["+44 (0)20 7946-0958"]}

    def broken(stop: Callable[[], bool]) -> dict[str, list[str]]:
        calls.append("broken")
        from partnercrmd.sdk import AddinError

        raise AddinError("The LDAP server at ldap://x:389 did not answer within 5 s.", code="timeout")

    try:
        assert index.refresh(good) == 1
        with caplog.at_level(logging.WARNING, logger="partnercrmd_ldap.index"):
            index.ensure_fresh(broken)  # stale (max_age 0): a fill starts in the background
            assert index.coordinator.wait(5)
        assert "Filling the LDAP number index failed (retried later)" in caplog.text
        assert index.last_error_code == "timeout"
        assert index.lookup("+442079460958") == [DANA]  # the old index still answers
        index.ensure_fresh(broken)
        assert calls == ["good", "broken"]  # not again within RETRY_SECONDS
        index.coordinator.retry_now()  # RETRY_SECONDS later
        index.ensure_fresh(good)
        assert index.coordinator.wait(5)
        assert calls == ["good", "broken", "good"] and index.last_error == ""
    finally:
        index.close(1)


def test_a_fill_cut_by_the_servers_size_limit_keeps_what_it_read_and_the_rest_is_still_found(tmp_path: Path) -> None:
    # slapd's default limit (500 entries, here 3) also ends paged searches unless `size.prtotal` lifts it.
    with (
        running_slapd(tmp_path / "slapd", limits=["limits users size=3"]) as server,
        open_connector(server, tmp_path / "data") as connector,
    ):
        count = filled(connector)
        assert connector.index is not None and connector.index.incomplete is not None
        assert 0 < count < 8
        # Every seeded caller is still found: from the index, or by the server search.
        for query, who in [("+44 20 7946 0958", "Dana Whitfield"), ("+1 212 736 5000", "Frank Ocampo")]:
            assert contact_names(connector.search(number_query(query))) == [who]
        *_, index = connector.test()
    assert (index.check, index.ok, index.error_key) == ("index", False, "invalid_auth")
    assert index.message.startswith("The local number index holds only ")
    assert "stopped the listing after 3 entries (its size limit for this account, result 4)" in index.message
    assert f'limits dn.exact="{SERVICE_DN}" size.prtotal=unlimited' in index.message


def test_the_recommended_paged_search_limit_lets_the_fill_read_everything(tmp_path: Path) -> None:
    limit = f'limits dn.exact="{SERVICE_DN}" size=3 size.prtotal=unlimited'
    with (
        running_slapd(tmp_path / "slapd", limits=[limit]) as server,
        open_connector(server, tmp_path / "data") as connector,
    ):
        assert filled(connector) == 8
        assert connector.index is not None and connector.index.incomplete is None


# --- test connection ----------------------------------------------------------------------------------


def test_check_reports_the_index_and_a_sample_number(slapd: Slapd, tmp_path: Path) -> None:
    with open_connector(slapd, tmp_path) as connector:
        results = {r.check: r for r in connector.test()}
    assert [*results] == ["reach", "authenticate", "search", "index"]
    index = results["index"]
    assert index.ok and index.error_key is None
    assert index.message.startswith("The local number index holds 8 phone numbers; a sample number, ")
    assert (
        "' without a search of the directory. Numbers it does not know are searched only among contacts whose "
        "'modifyTimestamp' is " in index.message
    )


def test_check_fails_with_a_stable_key_when_no_contact_has_a_number(slapd: Slapd, tmp_path: Path) -> None:
    phones = {f"attr_{kind}": "pager" for kind in ("business_phone", "mobile_phone", "home_phone", "fax")}
    with open_connector(slapd, tmp_path, **phones) as connector:
        *_, index = connector.test()
    assert (index.check, index.ok, index.error_key) == ("index", False, "not_found")
    assert index.message == (
        f"No contact under '{SUFFIX}' has a phone number in the phone attributes (pager); "
        "check the attr_* phone settings."
    )


def test_check_reports_a_failed_fill_with_its_key(tmp_path: Path) -> None:
    with running_slapd(tmp_path / "slapd") as server, open_connector(server, tmp_path / "data") as connector:
        assert connector.search(number_query("+44 20 7946 0958"))
        server.stop()
        assert connector.index is not None
        connector.index.coordinator.retry_now()
        result = connector.check_index()
    assert (result.check, result.ok, result.error_key) == ("index", False, "cannot_connect")
    assert result.message.startswith("The local number index could not be filled: Cannot reach the LDAP server")


def test_books_test_command_shows_the_index_check(
    partnercrmd_home: Paths, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    sets = [arg for key, value in settings(slapd).items() for arg in ("--set", f"{key}={value}")]
    assert run_cli(["books", "add", "ldap", "--name", "Directory", *sets]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "Directory"]) == 0
    lines = capsys.readouterr().out.splitlines()
    [index] = [line for line in lines if " index:" in line]
    assert index.startswith("ok   index: The local number index holds 8 phone numbers; a sample number, ")
    assert run_cli(["books", "set", "Directory", "--set", "index_minutes=0"]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "Directory"]) == 0
    assert " index:" not in capsys.readouterr().out


# --- name searches and slapd's substring indexes ------------------------------------------------------


def many_people(count: int) -> str:
    return "\n".join(
        person(f"Person {n:04}", sn=f"Surname{n:04}", o="Filler Ltd", telephoneNumber=f"+44 20 7000 {n:04}")
        for n in range(count)
    )


@pytest.mark.parametrize("indexed", [True, False])
def test_the_name_filter_is_served_by_the_recommended_substring_indexes(tmp_path: Path, indexed: bool) -> None:
    # With `size.unchecked=50`, slapd refuses a search whose filter its indexes cannot narrow to 50 candidates.
    with running_slapd(
        tmp_path / "slapd",
        SEED + "\n" + many_people(120),
        indexes=NAME_INDEXES if indexed else (),
        limits=UNCHECKED_LIMIT,
    ) as server:
        attributes = PRESETS[OPENLDAP].attributes
        inner = name_filter(attributes.name_attributes(), "dana northwind")
        assert inner is not None
        search_filter = contacts_filter(PRESETS[OPENLDAP].object_filter, "", inner)
        connection = ldap3.Connection(server.url, SERVICE_DN, SERVICE_PASSWORD, auto_bind=True)
        try:
            connection.search(SUFFIX, search_filter, attributes=["cn"])
            code = connection.result["result"]
            found = [str(e.entry_dn) for e in connection.entries]
        finally:
            connection.unbind()
    if indexed:
        assert (code, found) == (0, [DANA])
    else:
        assert code == 11  # adminLimitExceeded: without the indexes slapd would scan every entry

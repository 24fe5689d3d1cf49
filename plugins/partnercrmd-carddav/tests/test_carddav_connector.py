"""The connector itself against Radicale: test connection, discovery, the phone index's refreshes, ETag conflicts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from carddav_seed import DANA, seed_book
from carddav_servers import RadicaleServer, RawDav, free_port
from partnercrmd_carddav import CARDDAV
from partnercrmd_carddav.addressbook import AddressBook
from partnercrmd_carddav.cards import StoredCard
from partnercrmd_carddav.client import DavClient
from partnercrmd_carddav.connector import CardDavBook, open_book

from partnercrmd.sdk import AddinError, BookContext, CheckResult, ConfigError, ContactPatch, SearchQuery
from partnercrmd.testing import Paths, number_query, run_cli


def opened(settings: dict[str, Any], data_dir: Path) -> CardDavBook:
    return open_book(BookContext("team", "Team", settings, data_dir, "GB"))


@pytest.fixture
async def book(settings: dict[str, Any], data_dir: Path) -> AsyncIterator[CardDavBook]:
    connector = opened(settings, data_dir)
    try:
        yield connector
    finally:
        await connector.close()


def summary(results: Sequence[CheckResult]) -> list[tuple[str, bool, str | None]]:
    return [(r.check, r.ok, r.error_key) for r in results]


# --- test connection ---------------------------------------------------------------------------------------


async def test_check_of_a_good_book_names_what_it_found(book: CardDavBook, book_path: str) -> None:
    results = await book.test()
    assert summary(results) == [
        ("reach", True, None),
        ("authenticate", True, None),
        ("addressbook", True, None),
        ("search", True, None),
        ("write", True, None),
    ]
    messages = [r.message for r in results]
    assert messages[1] == "Signed in as 'alice'."
    assert messages[2].startswith("Using the address book 'Contacts ") and messages[2].endswith(f"{book_path}.")
    assert messages[3] == "3 contacts with 5 phone numbers indexed; searching by name works."
    assert messages[4] == "This user may change contacts: calls are logged in their notes."


async def test_check_with_a_wrong_password_says_so_without_the_password(
    settings: dict[str, Any], data_dir: Path
) -> None:
    connector = opened({**settings, "password": "wrong-password-xyz"}, data_dir)
    try:
        results = await connector.test()
    finally:
        await connector.close()
    assert summary(results) == [("reach", True, None), ("authenticate", False, "invalid_auth")]
    assert "refused the user name 'alice' or its password (HTTP 401): check both settings" in results[1].message
    assert all("wrong-password-xyz" not in r.message for r in results)


async def test_check_of_a_server_that_is_not_there(data_dir: Path) -> None:
    port = free_port()
    connector = opened({"url": f"http://127.0.0.1:{port}/", "username": "alice", "password": "x"}, data_dir)
    try:
        results = await connector.test()
    finally:
        await connector.close()
    assert summary(results) == [("reach", False, "cannot_connect")]
    assert results[0].message.startswith(f"The CardDAV server at http://127.0.0.1:{port} cannot be reached (")


async def test_check_of_another_users_address_book(
    radicale: RadicaleServer, settings: dict[str, Any], data_dir: Path
) -> None:
    bobs = seed_book(radicale.raw("bob"), f"/bob/{uuid.uuid4().hex}/")
    connector = opened({**settings, "addressbook": bobs}, data_dir)
    try:
        results = await connector.test()
    finally:
        await connector.close()
    assert summary(results)[-1] == ("addressbook", False, "invalid_auth")
    assert results[-1].message.startswith("The server does not allow looking for the address book for this user")


@pytest.mark.parametrize(
    ("calendar", "check", "message"),
    [
        (None, ("write", True, None), "Calls are logged as journal entries in "),
        ("missing", ("write", False, "not_found"), "Create a calendar for journal entries"),
        ("VEVENT", ("write", False, "invalid_data"), "does not take journal entries (VJOURNAL)"),
    ],
)
async def test_check_of_the_journal_calendar(
    radicale: RadicaleServer,
    raw: RawDav,
    settings: dict[str, Any],
    data_dir: Path,
    calendar: str | None,
    check: tuple[str, bool, str | None],
    message: str,
) -> None:
    path = f"/alice/calls-{uuid.uuid4().hex[:8]}/"
    if calendar != "missing":
        raw.make_calendar(path, "Calls", calendar or "VJOURNAL")
    connector = opened({**settings, "activity_mode": "journal", "calendar_url": radicale.url + path}, data_dir)
    try:
        results = await connector.test()
    finally:
        await connector.close()
    assert summary(results)[-1] == check
    assert message in results[-1].message


def test_books_test_command_runs_the_checks(
    partnercrmd_home: Paths, settings: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    assert run_cli(["books", "add", "carddav", "--name", "Team", *sets]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "Team"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[-5:]] == [
        "ok   reach",
        "ok   authenticate",
        "ok   addressbook",
        "ok   search",
        "ok   write",
    ]
    assert settings["password"] not in "\n".join(lines)


# --- settings and discovery --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"url": "ftp://cards.example"}, "must be an http:// or https:// address"),
        ({"url": "https://alice:pw@cards.example/"}, "must not contain a user name or password"),
        ({"web_url_template": "https://cloud.example/contacts"}, "must contain {uid}"),
        ({"activity_mode": "journal", "calendar_url": "https://elsewhere.example/cal/"}, "same server"),
        ({"ca_file": "certs/ca.pem"}, "must be a full path"),
        ({"ca_file": "/nonexistent/ca.pem"}, "The certificate file /nonexistent/ca.pem cannot be used"),
        ({"username": "ali:ce"}, "must not contain ':'"),
    ],
)
def test_settings_the_add_in_cannot_use_are_refused(
    settings: dict[str, Any], data_dir: Path, changes: dict[str, str], reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason.replace("{", r"\{").replace("(", r"\(")):
        opened({**settings, **changes}, data_dir)


def carols_cards(radicale: RadicaleServer) -> dict[str, str]:
    """Settings for Carol, who has one address book (made on first use), "Carol's cards" at /carol/cards/."""
    carol = radicale.raw("carol")
    if carol.request("PROPFIND", "/carol/cards/", "", {"Depth": "0"}).status == 404:
        carol.make_addressbook("/carol/cards/", "Carol's cards")
        carol.put_card("/carol/cards/dana.vcf", DANA)
    return {"url": radicale.url, "username": "carol", "password": RadicaleServer.USERS["carol"]}


@pytest.mark.parametrize("wanted", ["", "Carol's cards", "cards", "/carol/cards/"])
async def test_the_address_book_is_found_from_the_server_address(
    radicale: RadicaleServer, data_dir: Path, wanted: str
) -> None:
    connector = opened({**carols_cards(radicale), "addressbook": wanted}, data_dir)
    try:
        found = await connector.addressbook()
        assert (found.url, found.name) == (f"{radicale.url}/carol/cards/", "Carol's cards")
        assert [c.name for c in await connector.search(number_query("+44 20 7946 0958"))] == ["Dana Whitfield"]
    finally:
        await connector.close()


async def test_an_unknown_address_book_name_lists_the_ones_there(radicale: RadicaleServer, data_dir: Path) -> None:
    connector = opened({**carols_cards(radicale), "addressbook": "Work"}, data_dir)
    try:
        with pytest.raises(AddinError, match=r"No address book named 'Work' on .*found: .*\"Carol's cards\"") as caught:
            await connector.search(SearchQuery("Dana", limit=5))
        assert caught.value.code == "not_found"
    finally:
        await connector.close()


async def test_the_url_may_be_the_address_book_itself(
    radicale: RadicaleServer, settings: dict[str, Any], book_path: str, data_dir: Path
) -> None:
    connector = opened({**settings, "url": radicale.url + book_path, "addressbook": ""}, data_dir)
    try:
        assert [c.name for c in await connector.search(SearchQuery("zoë", limit=5))] == ["Zoë Lefèvre"]
    finally:
        await connector.close()


# --- the phone index ---------------------------------------------------------------------------------------


class Spy:
    """Records what the add-in asks the server for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.multiget: list[list[str]] = []
        self.listings = 0
        original_multiget, original_list = AddressBook.multiget, AddressBook.list_etags

        async def multiget(book: AddressBook, names: Sequence[str]) -> dict[str, StoredCard]:
            self.multiget.append(sorted(names))
            return await original_multiget(book, names)

        async def list_etags(book: AddressBook) -> dict[str, str]:
            self.listings += 1
            return await original_list(book)

        monkeypatch.setattr(AddressBook, "multiget", multiget)
        monkeypatch.setattr(AddressBook, "list_etags", list_etags)


async def refresh(book: CardDavBook) -> bool | None:
    return await book.sync.wait(book.sync.start(), 10)


async def test_a_refresh_fetches_only_what_changed(
    book: CardDavBook, raw: RawDav, book_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    assert await refresh(book) is True
    assert (spy.listings, spy.multiget) == (1, [["dana-whitfield.vcf", "eamon.vcf", "zoe-lefevre.vcf"]])

    assert await refresh(book) is False  # nothing changed: the ctag says so, no listing
    assert (spy.listings, len(spy.multiget)) == (1, 1)

    raw.put_card(book_path + "eamon.vcf", raw.get(book_path + "eamon.vcf").body.replace("0789", "0790"))
    assert raw.request("DELETE", book_path + "zoe-lefevre.vcf").status in (200, 204)
    assert await refresh(book) is True
    assert (spy.listings, spy.multiget[1:]) == (2, [["eamon.vcf"]])
    assert await book.sync.lookup("+44 161 496 0790") == ["eamon.vcf"]
    assert await book.sync.lookup("+44 161 496 0789") == []
    assert await book.sync.lookup("+33 1 42 68 53 00") == []


async def test_checks_ask_for_one_change_token_and_a_found_caller_is_read_with_one_get(
    book: CardDavBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Radicale computes getctag and sync-token over every card: asking for both doubles each check's cost.
    sent: list[tuple[str, bytes]] = []
    original = DavClient.request

    async def request(client: DavClient, method: str, url: str, **options: Any) -> Any:
        sent.append((method, options.get("body") or b""))
        return await original(client, method, url, **options)

    monkeypatch.setattr(DavClient, "request", request)
    assert await refresh(book) is True
    first = [body for method, body in sent if method == "PROPFIND" and b"getctag" in body]
    assert len(first) == 1 and b"sync-token" in first[0]  # the first check asks for both
    sent.clear()
    assert await refresh(book) is False
    checks = [body for method, body in sent if method == "PROPFIND"]
    assert len(checks) == 1 and b"getctag" in checks[0] and b"sync-token" not in checks[0]

    sent.clear()
    found = await book.search(number_query("+44 20 7946 0958"))
    assert [c.name for c in found] == ["Dana Whitfield"]
    assert [method for method, _ in sent if method != "PROPFIND"] == ["GET"]  # no addressbook-multiget REPORT


async def test_the_index_is_kept_between_runs_and_dropped_for_another_book(
    settings: dict[str, Any], data_dir: Path, raw: RawDav
) -> None:
    first = opened(settings, data_dir)
    try:
        await refresh(first)
    finally:
        await first.close()
    again = opened(settings, data_dir)
    try:
        assert again.sync.filled  # answers from the first search on, before any refresh
        assert await again.sync.lookup("02079460958") == ["dana-whitfield.vcf"]
    finally:
        await again.close()
    other = opened({**settings, "addressbook": seed_book(raw, f"/alice/{uuid.uuid4().hex}/", {})}, data_dir)
    try:
        assert not other.sync.filled
        assert await other.sync.lookup("02079460958") == []
    finally:
        await other.close()


async def test_before_the_first_listing_ends_the_servers_own_tel_match_answers(
    book: CardDavBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(_: AddressBook) -> dict[str, str]:
        raise AddinError("listing is slow today", code="timeout")

    monkeypatch.setattr(AddressBook, "list_etags", never)
    # Radicale compares TEL as text: the number forms the host sends include "+44 20 7946 0958" and such, and
    # Zoë's "+1 212-736-5000" is one of the forms of that number (a US number written the US way).
    assert [c.name for c in await book.search(number_query("+1 212 736 5000"))] == ["Zoë Lefèvre"]
    assert [c.name for c in await book.search(SearchQuery("SOCIÉTÉ zoë", limit=5))] == ["Zoë Lefèvre"]
    assert not book.sync.filled


# --- writing -----------------------------------------------------------------------------------------------


async def test_a_change_made_meanwhile_by_another_app_is_kept(
    book: CardDavBook, raw: RawDav, book_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    put = AddressBook.put
    interfered: list[str] = []

    async def put_after_someone_else(self: AddressBook, name: str, text: str, *, etag: str | None) -> str:
        if not interfered:  # another app saves the card between the add-in's read and its write
            path = book_path + name
            interfered.append(raw.put_card(path, raw.get(path).body.replace("Head of Sales", "Sales Director")))
        return await put(self, name, text, etag=etag)

    monkeypatch.setattr(AddressBook, "put", put_after_someone_else)
    saved = await book.update("dana-whitfield.vcf", ContactPatch(email="dana@northwind.example"))
    assert interfered  # the first PUT met HTTP 412 and the add-in read the card again
    assert (saved.job_title, saved.emails[0]) == ("Sales Director", "dana@northwind.example")
    stored = raw.get(book_path + "dana-whitfield.vcf").body
    assert "TITLE:Sales Director" in stored and "dana@northwind.example" in stored


async def test_changing_a_contact_that_is_gone_says_so(book: CardDavBook) -> None:
    with pytest.raises(AddinError, match="no longer exists") as caught:
        await book.update("nobody.vcf", ContactPatch(phone="123"))
    assert caught.value.code == "not_found"
    assert await book.get("nobody.vcf") is None


async def test_a_created_contact_carries_a_uid_and_opens_by_it(
    settings: dict[str, Any], data_dir: Path, raw: RawDav, book_path: str
) -> None:
    from partnercrmd.sdk import Contact, Phone, PhoneKind

    template = "https://cards.example/contacts/{uid}?book={id}"
    connector = opened({**settings, "web_url_template": template, "vcard_version": "4.0"}, data_dir)
    try:
        created = await connector.create(
            Contact(first_name="Ada", last_name="Lovelace", phones=[Phone("020 7946 0000", PhoneKind.MOBILE)])
        )
        uid = created.id.removesuffix(".vcf")
        stored = raw.get(book_path + created.id).body
        assert "VERSION:4.0" in stored and f"UID:{uid}" in stored and "TEL;TYPE=cell,voice:020 7946 0000" in stored
        url = await connector.record_url(created.id, edit=False)
        assert url == f"https://cards.example/contacts/{uid}?book={uid}.vcf"
    finally:
        await connector.close()


def test_the_integration_marks_the_password_secret() -> None:
    password = CARDDAV.config_field("password")
    assert password is not None and password.secret
    assert "password=" not in repr(opened_settings_repr())


def opened_settings_repr() -> str:
    from partnercrmd_carddav.settings import parse_settings

    return repr(parse_settings({"url": "https://cards.example", "username": "alice", "password": "s3cret-value"}))


def test_costly_change_checks_are_spaced_out() -> None:
    from partnercrmd_carddav.sync import COST_FACTOR, IndexSync

    sync = IndexSync.__new__(IndexSync)  # only the scheduling state matters here
    sync.check_interval = 2.0
    sync._last_cost = 0.01
    assert sync.interval() == 2.0
    sync._last_cost = 1.5  # a large book: the server took 1.5 s to answer the check
    assert sync.interval() == 1.5 * COST_FACTOR

"""The Tryton connector's "test connection", its local number index, its settings and its protocol details."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from partnercrmd_tryton import TRYTON
from partnercrmd_tryton.client import TrytonClient, rpc_error
from partnercrmd_tryton.connector import TrytonBook
from partnercrmd_tryton.mapping import note_to_activity, number_for_tryton
from tryton_seed import CLERK, CLERK_PASSWORD, Tryton, connector, start_seeded
from tryton_testserver import DATABASE, free_port

from partnercrmd.sdk import BookContext, CallDirection, ConfigError, Contact, Phone, SearchQuery
from partnercrmd.testing import ApiSession, Paths, configure_book, run_cli

pytest_plugins = ["tryton_fixtures"]


def summary(results: Any) -> list[tuple[str, bool, str | None]]:
    return [(r.check, r.ok, r.error_key) for r in results]


# --- secrets obtained at run time ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingContext(BookContext):
    """A book context that remembers what the add-in registers with `add_secret` (the daemon masks those)."""

    registered: list[str] = field(default_factory=list)

    def add_secret(self, value: str) -> None:
        self.registered.append(value)


async def test_the_session_key_is_registered_as_a_secret_as_soon_as_it_is_known(tmp_path: Path, tryton: Tryton) -> None:
    context = RecordingContext("erp", "ERP", tryton.settings(), tmp_path, "GB")
    book = TRYTON.open(context)
    assert isinstance(book, TrytonBook)
    try:
        assert context.registered == []  # no session before the first call
        await book.search(SearchQuery(text="Whitfield", limit=5))
        auth = book.client._auth  # the header every later call carries: "Session base64(user:id:key)"
        assert auth is not None
        token = auth.removeprefix("Session ")
        key = base64.b64decode(token).decode().rsplit(":", 1)[1]
        assert {token, key} <= set(context.registered)
    finally:
        await book.close()


# --- test connection ----------------------------------------------------------------------------------


async def test_every_check_passes_for_a_user_who_may_do_everything(tmp_path: Path, tryton: Tryton) -> None:
    async with connector(tmp_path, tryton.settings()) as book:
        results = await book.test()
    assert summary(results) == [
        ("reach", True, None),
        ("authenticate", True, None),
        ("search", True, None),
        ("write", True, None),
        ("index", True, None),
    ]
    messages = [r.message for r in results]
    assert messages[0] == f"Tryton 8.2 answers at {tryton.url}."
    assert messages[1] == f"Signed in to database '{DATABASE}' as 'admin'."
    assert messages[2] == "A search for +44 20 7946 0958 finds Dana Whitfield."
    assert messages[3] == "'admin' may add notes to parties, so calls can be logged."
    filled = re.fullmatch(
        r"The local number index holds \d+ phone numbers, and the name index (\d+) parties\.", messages[4]
    )
    assert filled is not None and int(filled.group(1)) >= 3  # the three seeded parties at least


async def test_missing_write_access_is_named_with_its_fix(tmp_path: Path, tryton: Tryton) -> None:
    async with connector(tmp_path, tryton.settings(username=CLERK, password=CLERK_PASSWORD)) as book:
        results = await book.test()
    assert summary(results)[:4] == [
        ("reach", True, None),
        ("authenticate", True, None),
        ("search", True, None),
        ("write", False, "invalid_auth"),
    ]
    assert results[3].message.startswith("'clerk' may not add notes to parties in Tryton: give the user")
    assert results[3].message.endswith("or switch off the setting 'log_calls'.")

    async with connector(tmp_path, tryton.settings(username=CLERK, password=CLERK_PASSWORD, log_calls=False)) as book:
        assert "write" not in [r.check for r in await book.test()]  # no logging, nothing to check


async def test_refused_credentials_stop_the_checks(tmp_path: Path, tryton: Tryton) -> None:
    settings = tryton.settings(username="mallory", password="guessed-password")
    async with connector(tmp_path, settings) as book:
        results = await book.test()
    assert summary(results) == [("reach", True, None), ("authenticate", False, "invalid_auth")]
    assert "guessed-password" not in results[1].message
    assert results[1].message == (
        f"Tryton refused the user name or password of 'mallory' on database '{DATABASE}'; "
        "check the settings 'username' and 'password'."
    )


async def test_an_unreachable_server_stops_the_checks(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = {"url": url, "database": DATABASE, "username": "admin", "password": "pw-2026"}
    async with connector(tmp_path, settings) as book:
        results = await book.test()
    assert summary(results) == [("reach", False, "cannot_connect")]
    assert results[0].message == (
        f"The Tryton server at {url} cannot be reached (Connection refused); "
        "check the setting 'url' and that the server is running."
    )


def test_books_test_command_runs_the_checks(
    partnercrmd_home: Paths, tryton: Tryton, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = [f"{key}={value}" for key, value in tryton.settings(index_minutes=0).items()]
    args = ["books", "add", "tryton", "--name", "ERP"]
    assert run_cli([*args, *(arg for setting in settings for arg in ("--set", setting))]) == 0
    capsys.readouterr()
    assert run_cli(["books", "test", "ERP"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"ok   reach: Tryton 8.2 answers at {tryton.url}.",
        f"ok   authenticate: Signed in to database '{DATABASE}' as 'admin'.",
        "ok   search: A search for +44 20 7946 0958 finds Dana Whitfield.",
        "ok   write: 'admin' may add notes to parties, so calls can be logged.",
    ]


# --- numbers Tryton keeps as typed: the local index ----------------------------------------------------


@pytest.fixture(scope="module")
def literal_tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tryton]:
    """A Tryton without phonenumbers: it keeps numbers exactly as typed, as older or imported data does."""
    started = start_seeded(tmp_path_factory.mktemp("literal"), phonenumbers=False)
    admin = started.admin()
    people = [
        {"name": "Eamon O'Neill", "contact_mechanisms": [["create", [{"type": "phone", "value": "020-7946-0456"}]]]},
        {"name": "Frank Ocampo", "contact_mechanisms": [["create", [{"type": "mobile", "value": "(0161) 496 0789"}]]]},
    ]
    started.ids.update(zip(["eamon", "frank"], admin.call("model.party.party.create", people), strict=True))
    yield started
    started.server.stop()


def search_names(collections: list[dict[str, Any]], book_id: str) -> list[str]:
    book = next(c for c in collections if c["AddinId"] == book_id)
    assert book["ExceptionText"] == ""
    return [r["DisplayText"] for r in book["Records"]]


async def test_numbers_stored_as_typed_are_found_through_the_local_index(
    api: ApiSession, partnercrmd_app: web.Application, literal_tryton: Tryton
) -> None:
    [stored] = literal_tryton.admin().call(
        "model.party.contact_mechanism.search_read",
        [("party", "=", literal_tryton.ids["eamon"])],
        0,
        None,
        None,
        ["value_compact"],
    )
    assert stored["value_compact"] == "020-7946-0456"  # no E.164 form to search on

    book_id = await configure_book(partnercrmd_app, "tryton", **literal_tryton.settings())
    for query in ("+44 20 7946 0456", "0044 (0)20 7946 0456", "02079460456"):
        assert search_names(await api.call("POST", "Search", timeoutMs=10_000, query=query), book_id) == [
            "Eamon O'Neill"
        ]
    assert search_names(await api.call("POST", "Search", timeoutMs=10_000, query="+441614960789"), book_id) == [
        "Frank Ocampo"
    ]
    assert search_names(await api.call("POST", "Search", timeoutMs=10_000, query="+44 20 7946 0999"), book_id) == []

    # A contact created through the add-in is sent in E.164 and found at once.
    await api.call("POST", "CreateNewRecord", RecordTypeId=f"{book_id}/Contact", LastName="Ng", Phone="020 7946 0123")
    assert search_names(await api.call("POST", "Search", timeoutMs=10_000, query="(020) 7946-0123"), book_id) == ["Ng"]


async def test_without_the_index_such_numbers_are_only_found_in_the_exact_stored_form(
    api: ApiSession, partnercrmd_app: web.Application, literal_tryton: Tryton
) -> None:
    book_id = await configure_book(partnercrmd_app, "tryton", **literal_tryton.settings(index_minutes=0))
    assert search_names(await api.call("POST", "Search", timeoutMs=10_000, query="+44 20 7946 0456"), book_id) == []
    assert search_names(await api.call("POST", "Search", timeoutMs=10_000, query="Eamon"), book_id) == ["Eamon O'Neill"]


async def test_the_index_is_kept_in_the_books_data_directory_and_updated_on_create(
    tmp_path: Path, literal_tryton: Tryton
) -> None:
    async with connector(tmp_path, literal_tryton.settings()) as book:
        assert book.index is not None
        assert (await book.index.refresh(book.client)).numbers >= 2
        assert await book.index.lookup("+442079460456") == [literal_tryton.ids["eamon"]]
        created = await book.create(Contact(display_name="Ida", phones=[Phone("01134960000")]))
        assert await book.index.lookup("+44 113 496 0000") == [int(created.id)]
    assert (tmp_path / "numbers.sqlite").exists()


async def test_an_indexed_caller_is_read_by_id_and_a_number_added_since_is_found_by_the_server(
    tmp_path: Path, tryton: Tryton, monkeypatch: pytest.MonkeyPatch
) -> None:
    domains: list[Any] = []
    searches: list[str] = []
    original = TrytonClient.call

    async def call(client: TrytonClient, method: str, *args: Any) -> Any:
        if method == "model.party.party.search_read":
            domains.append(args[0])
        if method.endswith(".search_read"):
            searches.append(method)
        return await original(client, method, *args)

    monkeypatch.setattr(TrytonClient, "call", call)
    query = SearchQuery("+44 20 7946 0958", limit=5, number="+442079460958", number_forms=("02079460958",))
    async with connector(tmp_path, tryton.settings()) as book:
        assert book.index is not None
        await book.index.refresh(book.client)
        domains.clear()  # the refresh reads every party (id, name, code) for the name index
        assert [c.name for c in await book.search(query)] == ["Dana Whitfield"]
        assert domains == [[("id", "in", [tryton.ids["dana"]])]]  # no search through every contact mechanism

        # Added on the server after the index was filled: the index does not know the number yet.
        [new_id] = tryton.admin().call(
            "model.party.party.create",
            [{"name": "Nia Late", "contact_mechanisms": [["create", [{"type": "phone", "value": "+441134960777"}]]]}],
        )
        domains.clear()
        searches.clear()
        late = SearchQuery("0113 496 0777", limit=5, number="+441134960777", number_forms=("01134960777",))
        assert [(c.id, c.name) for c in await book.search(late)] == [(str(new_id), "Nia Late")]
        # Tryton's own search, of the contact mechanisms, then the party read by id.
        assert searches == ["model.party.contact_mechanism.search_read", "model.party.party.search_read"]
        assert domains == [[("id", "in", [new_id])]]

        searches.clear()
        stranger = SearchQuery("0113 496 0999", limit=5, number="+441134960999", number_forms=("01134960999",))
        assert await book.search(stranger) == []
        assert searches == ["model.party.contact_mechanism.search_read"]  # nobody to read


# --- settings and protocol details --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"url": "ftp://erp"}, "The setting 'url' must be an http:// or https:// address"),
        ({"url": "https://admin:pw@erp.example.com"}, "The setting 'url' must not contain a user name or password"),
        ({"web_url": "erp.example.com"}, "The setting 'web_url' must be an http:// or https:// address"),
        ({"database": " "}, "The setting 'database' is empty"),
        ({"index_minutes": -1}, "The setting 'index_minutes' must be 0 (no index) or more."),
    ],
)
def test_settings_it_cannot_use_are_refused_with_the_fix(
    tmp_path: Path, settings: dict[str, Any], message: str
) -> None:
    base = {"url": "http://127.0.0.1:8000/", "database": "erp", "username": "u", "password": "p-2026"}
    with pytest.raises(ConfigError, match=re.escape(message)):
        TRYTON.open(BookContext("erp", "ERP", {**base, **settings}, tmp_path, "GB"))


def test_numbers_go_to_tryton_in_international_form() -> None:
    assert number_for_tryton("020 7946 0958", "GB") == "+442079460958"
    assert number_for_tryton("(212) 736-5000", "US") == "+12127365000"
    assert number_for_tryton("555-0123", "US") == "555-0123"  # not a real number: Tryton decides


def test_tryton_errors_become_sentences_with_stable_keys() -> None:
    user_error = ["UserError", ['The phone number "1" for party "X" is not valid.', "", None]]
    assert (rpc_error(user_error, "model.party.party.create").code, rpc_error(user_error, "m").message) == (
        "invalid_data",
        'Tryton refused m: The phone number "1" for party "X" is not valid.',
    )
    denied = ["UserError", ['You are not allowed to access "Note".', "Within groups: ", None]]
    assert rpc_error(denied, "m").code == "invalid_auth"
    crash = ["division by zero", "Traceback (most recent call last): ..."]
    assert rpc_error(crash, "m").message == "The Tryton server failed on m: division by zero"
    assert rpc_error(["LoginException", ["totp_code", "Code", "char"]], "m").code == "invalid_auth"


def test_call_notes_read_back_as_activities_other_notes_do_not() -> None:
    note = {
        "id": 7,
        "message": "Outgoing call: 201 -> +44 20 7946 0958\nDirection: Outbound\nStart: 2026-11-25 09:00:05 UTC\n"
        "Duration: 1:02:03",
        "create_date": datetime(2026, 11, 25, 9, 30),
    }
    activity = note_to_activity(note)
    assert activity is not None
    assert (activity.direction, activity.duration_seconds, activity.id) == (CallDirection.OUTBOUND, 3723, "7")
    assert activity.start_utc == datetime(2026, 11, 25, 9, 0, 5, tzinfo=UTC)
    assert note_to_activity({"id": 8, "message": "Send the invoice again."}) is None

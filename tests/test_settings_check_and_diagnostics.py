"""Settings checked before they are saved, and a book's diagnostics (issue #15 items 4 and 5).

Against real servers (PostgreSQL for the SQL add-in, OpenLDAP slapd for the LDAP add-in): `books add|set`
and the configuration UI's add and edit forms refuse settings the integration's rules refuse, or that fail a
quick connection, with the error beside the field and nothing saved; `--no-check` and "Save anyway" save
without the connection. `partnercrmd books diagnose NAME` and the book page's "Download diagnostics" give the
documented keys, and never the book's secret in any encoding.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web

from partnercrmd.diagnostics import DIAGNOSTICS_KEYS
from partnercrmd.paths import Paths
from partnercrmd.redact import secret_pattern
from partnercrmd.sdk import (
    MASK,
    AddinError,
    BookContext,
    Capability,
    ConfigField,
    Connector,
    FieldKind,
    Integration,
    SettingsCheck,
    hookimpl,
)
from partnercrmd.testing import configure_book, run_cli
from partnercrmd.vault import Vault
from tests.backend_servers import Backend, close_all, start_all
from tests.ui_support import Client, log_in, page_text, post_form

KINDS = ("sql", "ldap")
BROKEN_RULE = {
    # PostgreSQL needs a connection string: a rule across 'driver' and 'dsn' the schema alone cannot say.
    "sql": ("dsn", {"driver": "postgresql", "dsn": ""}),
    "ldap": ("search_filter", {"search_filter": "(o=x"}),
}
"""Per add-in: the setting its rules refuse, and the settings that break the rule."""
WRONG_PASSWORD = "Wrong-Pass-4711"
SECRET_KEY = "password"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Backend]]:
    backends = start_all(tmp_path_factory.mktemp("servers"), KINDS)
    yield backends
    close_all(backends.values())


@pytest.fixture(params=KINDS)
def server(request: pytest.FixtureRequest, servers: dict[str, Backend]) -> Backend:
    return servers[request.param]


def stored_books(paths: Paths) -> dict[str, Any]:
    books: dict[str, Any] = Vault.open(paths.config_dir).read().get("books", {})
    return books


def sets(settings: dict[str, Any]) -> list[str]:
    arguments = []
    for key, value in settings.items():
        arguments += ["--set", f"{key}={value}"]
    return arguments


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert re.search(secret_pattern(secret), text) is None, f"a form of the secret {secret[:2]}… is in the text"


def cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = run_cli(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


# --- `books add|set` ---------------------------------------------------------------------------------


def test_books_add_refuses_settings_the_rules_refuse_and_saves_nothing(
    server: Backend, partnercrmd_home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    key, broken = BROKEN_RULE[server.kind]
    cli(capsys, "books", "list")
    before = stored_books(partnercrmd_home)
    code, _, err = cli(capsys, "books", "add", server.kind, "--name", "Refused", *sets({**server.settings, **broken}))
    assert code != 0
    assert "Nothing was saved" in err and f"'{key}'" in err
    assert stored_books(partnercrmd_home) == before
    assert_no_secret(err, server.settings[SECRET_KEY])


def test_books_add_refuses_a_failed_connection_unless_no_check(
    server: Backend, partnercrmd_home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "books", "list")
    before = stored_books(partnercrmd_home)
    wrong = {**server.settings, SECRET_KEY: WRONG_PASSWORD}
    code, _, err = cli(capsys, "books", "add", server.kind, "--name", "Wrong", *sets(wrong))
    assert code != 0
    assert "refused the login" in err and "--no-check" in err
    assert_no_secret(err, WRONG_PASSWORD)
    assert stored_books(partnercrmd_home) == before

    code, out, _ = cli(capsys, "books", "add", server.kind, "--name", "Wrong", "--no-check", *sets(wrong))
    assert code == 0, out
    assert [b["name"] for b in stored_books(partnercrmd_home).values()].count("Wrong") == 1


def test_books_add_and_set_save_settings_that_connect(
    server: Backend, partnercrmd_home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "books", "add", server.kind, "--name", "Good", *sets(server.settings))
    assert code == 0, err
    assert "Added 'Good'" in out

    before = stored_books(partnercrmd_home)
    code, _, err = cli(capsys, "books", "set", "Good", "--set", f"{SECRET_KEY}={WRONG_PASSWORD}")
    assert code != 0 and "refused the login" in err
    assert stored_books(partnercrmd_home) == before  # the working password is kept


# --- the forms ---------------------------------------------------------------------------------------


def form_of(settings: dict[str, Any]) -> dict[str, str]:
    return {f"s.{key}": str(value) for key, value in settings.items()}


def settings_as_shown(page: str) -> dict[str, str]:
    """The settings inputs of a book's page as a browser would post them untouched (secrets blank)."""
    shown = {
        m[0]: html.unescape(m[1])
        for m in re.findall(
            r'<input type="(?:text|url|number|password)" id="[^"]+" name="(s\.\w+)" value="([^"]*)"', page
        )
    }
    for name, options in re.findall(r'<select id="[^"]+" name="(s\.\w+)"[^>]*>(.*?)</select>', page, re.S):
        selected = re.search(r'<option value="([^"]*)" selected>', options)
        shown[name] = html.unescape(selected.group(1)) if selected else ""
    for name in re.findall(r'<input type="checkbox" id="[^"]+" name="(s\.\w+)" value="1" checked', page):
        shown[name] = "1"
    return shown


async def test_the_add_form_shows_a_broken_rule_beside_its_field_and_saves_nothing(
    server: Backend, partnercrmd_client: Client, partnercrmd_app: web.Application, partnercrmd_home: Paths
) -> None:
    await log_in(partnercrmd_client)
    key, broken = BROKEN_RULE[server.kind]
    before = stored_books(partnercrmd_home)
    fields = {"o.name": "Refused", **form_of({**server.settings, **broken})}
    response = await post_form(partnercrmd_client, f"/ui/integrations/{server.kind}/add", fields)
    html = await response.text()
    assert response.status == 400
    beside = re.search(rf'<p id="field-s-{key}-error" class="error">([^<]+)</p>', html)
    assert beside is not None and f"&#39;{key}&#39;" in beside.group(1)
    assert 'id="save-anyway"' not in html  # saving anyway would not help: the book could never open
    assert stored_books(partnercrmd_home) == before
    assert_no_secret(html, server.settings[SECRET_KEY])


async def test_the_add_form_refuses_a_failed_connection_and_saves_anyway_on_request(
    server: Backend, partnercrmd_client: Client, partnercrmd_home: Paths
) -> None:
    await log_in(partnercrmd_client)
    before = stored_books(partnercrmd_home)
    fields = {"o.name": "Down", **form_of({**server.settings, SECRET_KEY: WRONG_PASSWORD})}
    response = await post_form(partnercrmd_client, f"/ui/integrations/{server.kind}/add", fields)
    html = await response.text()
    assert response.status == 400
    assert "refused the login" in html
    assert re.search(r'<p id="field-s-[a-z_]+-error" class="error">[^<]*refused the login', html)
    assert 'id="save-anyway"' in html
    assert_no_secret(html, WRONG_PASSWORD)
    assert stored_books(partnercrmd_home) == before

    response = await post_form(
        partnercrmd_client, f"/ui/integrations/{server.kind}/add", {**fields, "save_anyway": "1"}
    )
    assert response.status == 303, await response.text()
    assert [b["name"] for b in stored_books(partnercrmd_home).values()].count("Down") == 1


async def test_the_edit_form_refuses_a_failed_connection_and_keeps_the_stored_settings(
    server: Backend, partnercrmd_client: Client, partnercrmd_app: web.Application, partnercrmd_home: Paths
) -> None:
    book_id = await configure_book(partnercrmd_app, server.kind, **server.settings)
    await log_in(partnercrmd_client)
    before = stored_books(partnercrmd_home)[book_id]
    fields = {"o.name": "Edited", "o.enabled": "1", **form_of({**server.settings, SECRET_KEY: WRONG_PASSWORD})}
    response = await post_form(partnercrmd_client, f"/ui/books/{book_id}", fields, page=f"/ui/books/{book_id}")
    html = await response.text()
    assert response.status == 400
    assert "refused the login" in html and 'id="save-anyway"' in html
    assert_no_secret(html, WRONG_PASSWORD, server.settings[SECRET_KEY])
    assert stored_books(partnercrmd_home)[book_id] == before


async def test_the_edit_form_renames_a_book_whose_server_refuses_without_save_anyway(
    server: Backend, partnercrmd_client: Client, partnercrmd_app: web.Application, partnercrmd_home: Paths
) -> None:
    book_id = await configure_book(partnercrmd_app, server.kind, **{**server.settings, SECRET_KEY: WRONG_PASSWORD})
    await log_in(partnercrmd_client)
    shown = settings_as_shown(await page_text(partnercrmd_client, f"/ui/books/{book_id}"))  # the password blank: kept
    fields = {**shown, "o.name": "Renamed", "o.enabled": "1"}
    response = await post_form(partnercrmd_client, f"/ui/books/{book_id}", fields, page=f"/ui/books/{book_id}")
    assert response.status == 303, await response.text()  # no setting changed: nothing to check
    assert stored_books(partnercrmd_home)[book_id]["name"] == "Renamed"


# --- diagnostics -------------------------------------------------------------------------------------

CONNECTOR_KEYS = {"sql": {"server_version", "database", "index"}, "ldap": {"server", "server_info", "index"}}
"""What each add-in's `diagnostics()` reports (besides the host's part)."""


def assert_documented_diagnostics(found: dict[str, Any], server: Backend) -> None:
    assert list(found) == list(DIAGNOSTICS_KEYS)
    assert found["status"] == "Ready", found["error"]
    assert found["integration"]["id"] == server.kind
    assert found["integration"]["addin_version"]
    assert found["settings"][SECRET_KEY] == "(set)"
    assert CONNECTOR_KEYS[server.kind] <= set(found["connector"]), found["connector"]
    assert "diagnostics_error" not in found["connector"]


def test_books_diagnose_prints_the_books_diagnostics_without_its_secret(
    server: Backend, partnercrmd_home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "books", "add", server.kind, "--name", "Diagnosed", *sets(server.settings))
    assert code == 0, err
    code, out, err = cli(capsys, "books", "diagnose", "Diagnosed")
    assert code == 0, err
    assert_no_secret(out + err, server.settings[SECRET_KEY])
    found = json.loads(out)
    assert_documented_diagnostics(found, server)
    assert found["book"]["name"] == "Diagnosed"
    if server.kind == "sql":
        assert found["connector"]["server_version"].startswith("15")
    else:  # the number index's refresh state, as its coordinator reports it
        assert found["connector"]["index"]["state"] in {"empty", "refreshing", "ready", "failed"}


async def test_the_book_page_downloads_its_diagnostics_without_the_secret(
    server: Backend, partnercrmd_client: Client, partnercrmd_app: web.Application
) -> None:
    book_id = await configure_book(partnercrmd_app, server.kind, **server.settings)
    response = await partnercrmd_client.get(f"/ui/books/{book_id}/diagnostics", allow_redirects=False)
    assert response.status == 403  # the page session is needed
    await log_in(partnercrmd_client)
    assert f'href="/ui/books/{book_id}/diagnostics"' in await page_text(partnercrmd_client, f"/ui/books/{book_id}")
    response = await partnercrmd_client.get(f"/ui/books/{book_id}/diagnostics")
    text = await response.text()
    assert response.status == 200, text
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert_no_secret(text, server.settings[SECRET_KEY])
    assert_documented_diagnostics(json.loads(text), server)


# --- the host's part, with an add-in that gets everything wrong ---------------------------------------

CHATTY_KEY = "Chatty-Key-2718281828"


class ChattyBook(Connector):
    """Reports its API key in diagnostics as it is, in base64, percent-encoded and as a key: the host masks them."""

    def __init__(self, context: BookContext) -> None:
        self.key = str(context.settings["api_key"])

    async def diagnostics(self) -> Mapping[str, Any]:
        encoded = base64.b64encode(f"user:{self.key}".encode()).decode()
        return {
            "key": self.key,
            "basic": f"Basic {encoded}",
            "url": f"https://crm.example/?k={quote(self.key)}",
            self.key: 1,
        }


async def check_chatty(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """Async, as an aiohttp-based add-in's would be: the region must go with a country; a key saying 'bad' fails."""
    if settings.get("region") and not settings.get("country"):
        return SettingsCheck(errors={"country": "Give the country of the region."})
    if connect and "bad" in str(settings["api_key"]):
        raise AddinError(
            f"The CRM refused the key {settings['api_key']}; check the setting 'api_key'.", code="invalid_auth"
        )
    return SettingsCheck()


CHATTY = Integration(
    id="chatty",
    name="Chatty CRM",
    version="1.0",
    open=ChattyBook,
    capabilities=frozenset({Capability.SEARCH_NAME}),
    config=(
        ConfigField("api_key", "API key", FieldKind.SECRET, required=True),
        ConfigField("region", "Region"),
        ConfigField("country", "Country"),
    ),
    check_settings=check_chatty,
)


class ChattyAddin:
    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        return [CHATTY]


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("chatty", ChattyAddin())]


async def test_an_async_check_keys_its_errors_to_fields_and_masks_the_secret_it_names(
    partnercrmd_client: Client, partnercrmd_home: Paths
) -> None:
    await log_in(partnercrmd_client)
    before = stored_books(partnercrmd_home)
    fields = {"o.name": "Chatty", "s.api_key": CHATTY_KEY, "s.region": "North"}
    response = await post_form(partnercrmd_client, "/ui/integrations/chatty/add", fields)
    html = await response.text()
    assert response.status == 400
    assert '<p id="field-s-country-error" class="error">Give the country of the region.</p>' in html

    bad_key = "bad-" + CHATTY_KEY
    fields = {"o.name": "Chatty", "s.api_key": bad_key, "s.region": "North", "s.country": "GB"}
    response = await post_form(partnercrmd_client, "/ui/integrations/chatty/add", fields)
    html = await response.text()
    assert response.status == 400
    assert re.search(r'<p id="field-s-api_key-error" class="error">The CRM refused the key \*\*\*', html)
    assert_no_secret(html, bad_key)
    assert stored_books(partnercrmd_home) == before


async def test_diagnostics_mask_every_form_of_the_secret_an_add_in_returns(
    partnercrmd_client: Client, partnercrmd_app: web.Application
) -> None:
    book_id = await configure_book(partnercrmd_app, "chatty", api_key=CHATTY_KEY)
    await log_in(partnercrmd_client)
    response = await partnercrmd_client.get(f"/ui/books/{book_id}/diagnostics")
    text = await response.text()
    assert response.status == 200, text
    assert_no_secret(text, CHATTY_KEY)
    found = json.loads(text)
    assert found["connector"]["key"] == MASK
    assert found["connector"]["basic"].startswith("Basic ") and MASK in found["connector"]["basic"]
    assert found["connector"][MASK] == 1

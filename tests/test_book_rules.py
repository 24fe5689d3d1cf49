"""What an address book may hold and which integrations it may use, in every path that saves or opens one.

Issue #14, item 6: a user name or password inside an address setting is refused at save (CLI, configuration
UI), and one already in the vault (an older release, a hand edit) is shown masked. Item 11: an integration the
partner's branding does not ship, or a Controlled one still locked, is refused by `books add`, the UI's add form
(even posted directly) and `partnercrmd.testing`; a book of one found in the vault is never opened or searched
and says why (AddressBooks, pages, `books list`) until an unlock code opens it, without a restart.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.app import create_app
from partnercrmd.books import BookConfig, ensure_default_book, read_books
from partnercrmd.branding import load_branding_file
from partnercrmd.config import DaemonConfig
from partnercrmd.errors import ConfigError
from partnercrmd.partner_keys import generate_private_key, load_private_key
from partnercrmd.paths import Paths
from partnercrmd.testing import ApiSession, addin_site, configure_book, write_branding
from partnercrmd.unlock import issue_code
from partnercrmd.vault import Vault
from tests import book_rules_addin
from tests.book_rules_addin import CONTROLLED_ID, NUMBER, STANDARD_ID, calls
from tests.daemon_process import describe, error_line, run_cli
from tests.ui_support import UI_PAGES, Client, log_in, page_text, post_form

TESTS = Path(__file__).resolve().parent
PASSWORD = "Hunter2-in-the-url"
LEGACY_URL = f"http://bob:{PASSWORD}@127.0.0.1:9/dav/"
MASKED_URL = "http://bob:***@127.0.0.1:9/dav/"
CARDDAV_CREDENTIALS = "put them in 'username' (User name) and 'password' (Password)"
VIP_LOCKED = (
    "VIP CRM (vipcrm) is locked until you enter the unlock code your provider gave you: "
    "`partnercrmd unlock CODE`, or Unlock on the Integrations page."
)


# --- helpers ---------------------------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PARTNERCRMD_HOME whose vault this test process can open too (key file, never the keyring)."""
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")
    return tmp_path / "home"


@pytest.fixture
def controlled_site(tmp_path: Path) -> dict[str, str]:
    """PYTHONPATH under which `partnercrmd` finds tests/controlled_addin.py (VIP CRM) through an entry point."""
    return addin_site(
        tmp_path / "site", {"controlled": "controlled_addin"}, distribution="controlledaddin", also=[TESTS]
    )


@pytest.fixture
def partner_key() -> tuple[str, str]:
    """(private key PEM, public key text) of the partner."""
    return generate_private_key()


def vault_file(home: Path) -> bytes:
    return (home / "vault.bin").read_bytes()


def hand_edit_book(home: Path, config: BookConfig) -> None:
    """Write a book straight into the vault, as a hand edit (or an older release) leaves it."""
    Vault.open(home).update(lambda doc: doc.setdefault("books", {}).update({config.id: config.to_dict()}))


def cli_ok(home: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = run_cli(home, *args, extra_env=env)
    assert result.returncode == 0, describe(result)
    return result.stdout


def cli_refused(home: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """The error line of a command that must fail with the CLI's error exit (2) and change nothing."""
    before = vault_file(home)
    result = run_cli(home, *args, extra_env=env)
    assert result.returncode == 2, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    assert vault_file(home) == before, "a refused command must not change the vault"
    return error_line(result)


async def wait_for(predicate: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {within} s: {value!r}")
        await asyncio.sleep(0.05)


async def address_books(api: ApiSession) -> dict[str, dict[str, Any]]:
    return {b["AddinId"]: b for b in await api.call("GET", "AddressBooks")}


async def stored_books(app: web.Application) -> dict[str, BookConfig]:
    return {b.id: b for b in read_books(await asyncio.to_thread(app[appkeys.VAULT].read))}


def field_error(page: str, name: str) -> str:
    """The message shown beside the input `name` (e.g. s.url), or ""."""
    found = re.search(rf'<p id="field-{re.escape(name.replace(".", "-"))}-error" class="error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


# --- item 6: credentials inside addresses, CLI -------------------------------------------------------------------


def test_books_add_and_set_refuse_a_password_inside_an_address_and_save_nothing(home: Path) -> None:
    cli_ok(home, "books", "list")  # the first command creates the vault
    refused = cli_refused(home, "books", "add", "carddav", "--name", "Team", "--set", f"url={LEGACY_URL}")
    assert "Setting 'url' must not contain a user name or password" in refused, refused
    assert CARDDAV_CREDENTIALS in refused and PASSWORD not in refused, refused
    user_only = cli_refused(home, "books", "add", "carddav", "--set", "url=https://bob@cards.example/dav/")
    assert "Setting 'url' must not contain a user name or password" in user_only
    # The templates add-in's address parameters and text settings holding an address pass the same rule.
    template = cli_refused(
        home, "books", "add", "salesforce", "--set", f"instance_url=https://ann:{PASSWORD}@acme.my.salesforce.com"
    )
    assert "Setting 'instance_url' must not contain a user name or password" in template, template
    assert PASSWORD not in template
    dsn = cli_refused(
        home, "books", "add", "sql", "--set", "driver=postgresql", "--set", f"dsn=postgresql://crm:{PASSWORD}@db/crm"
    )
    assert "Setting 'dsn' must not contain a password inside an address" in dsn, dsn
    assert "put them in 'password' (Password)" in dsn and PASSWORD not in dsn

    # No server there: --no-check saves without the quick connection.
    cli_ok(home, "books", "add", "carddav", "--no-check", "--name", "Team", "--set", "url=http://127.0.0.1:9/dav/",
           "--set", "username=bob", "--set", f"password={PASSWORD}")  # fmt: skip
    changed = cli_refused(home, "books", "set", "Team", "--set", f"url={LEGACY_URL}")
    assert "Setting 'url' must not contain a user name or password" in changed and PASSWORD not in changed


def test_books_list_masks_a_password_already_inside_an_address(home: Path) -> None:
    cli_ok(home, "books", "list")
    settings = {"url": LEGACY_URL, "username": "", "calendar_url": f"https://ann:{PASSWORD}@cal.example/"}
    hand_edit_book(home, BookConfig(id="legacy", type="carddav", name="Legacy", settings=settings))
    listed = cli_ok(home, "books", "list")
    line = next(line for line in listed.splitlines() if "Legacy" in line)
    assert f"url={MASKED_URL}" in line and "calendar_url=https://ann:***@cal.example/" in line, line
    assert PASSWORD not in listed


# --- item 6: credentials inside addresses, configuration UI -------------------------------------------------------


async def test_the_add_form_refuses_a_password_inside_an_address_beside_the_field(partnercrmd_client: Client) -> None:
    app = partnercrmd_client.app
    before = await stored_books(app)
    await log_in(partnercrmd_client)
    fields = {"o.name": "Team", "s.url": LEGACY_URL, "s.username": "", "s.password": ""}
    refused = await post_form(partnercrmd_client, "/ui/integrations/carddav/add", fields)
    page = await refused.text()
    assert refused.status == 400
    beside = field_error(page, "s.url")
    assert "Setting 'url' must not contain a user name or password" in beside and CARDDAV_CREDENTIALS in beside
    url_input = re.search(r'<input type="url" id="field-s-url"[^>]*>', page)
    assert url_input and 'aria-invalid="true"' in url_input.group(0), page
    assert f'value="{MASKED_URL}"' in page  # what was typed comes back to be fixed, its password masked
    assert PASSWORD not in page
    assert await stored_books(app) == before


async def test_the_edit_form_masks_a_stored_password_inside_an_address_until_it_is_moved(
    partnercrmd_client: Client, api: ApiSession
) -> None:
    app = partnercrmd_client.app
    legacy = BookConfig(id="legacy", type="carddav", name="Legacy", settings={"url": LEGACY_URL, "username": ""})
    await asyncio.to_thread(
        app[appkeys.VAULT].update, lambda doc: doc["books"].update({legacy.id: legacy.to_dict()})
    )  # edited into the vault by hand while the daemon runs: it picks the book up
    await wait_for(lambda: _has_book(api, "legacy"))
    await log_in(partnercrmd_client)
    page = await page_text(partnercrmd_client, "/ui/books/legacy")
    assert f'value="{MASKED_URL}"' in page and PASSWORD not in page
    for path in UI_PAGES:
        assert PASSWORD not in await page_text(partnercrmd_client, path), path
    assert PASSWORD not in str(await api.call("GET", "AddressBooks"))

    # Saving the form as shown is refused until the credentials move to their own fields.
    form = {"o.name": "Legacy", "o.enabled": "1", "s.url": MASKED_URL, "s.username": ""}
    refused = await post_form(partnercrmd_client, "/ui/books/legacy", form)
    assert refused.status == 400
    assert "must not contain a user name or password" in field_error(await refused.text(), "s.url")
    assert (await stored_books(app))["legacy"].settings["url"] == LEGACY_URL
    fixed = {**form, "s.url": "http://127.0.0.1:9/dav/", "s.username": "bob", "s.password": PASSWORD}
    fixed["save_anyway"] = "1"  # no server there: saved without the quick connection
    saved = await post_form(partnercrmd_client, "/ui/books/legacy", fixed)
    assert saved.status == 303, await saved.text()
    settings = (await stored_books(app))["legacy"].settings
    assert (settings["url"], settings["username"], settings["password"]) == ("http://127.0.0.1:9/dav/", "bob", PASSWORD)


async def _has_book(api: ApiSession, book_id: str) -> bool:
    return book_id in await address_books(api)


# --- item 11: locked and unshipped integrations, CLI ----------------------------------------------------------------


def test_books_add_refuses_locked_and_unshipped_integrations_until_unlocked(
    home: Path, tmp_path: Path, controlled_site: dict[str, str], partner_key: tuple[str, str]
) -> None:
    branding = write_branding(tmp_path, public_key=partner_key[1], shipped=("local", "vipcrm"))
    env = {**controlled_site, "PARTNERCRMD_BRANDING": str(branding)}
    cli_ok(home, "books", "list", env=env)
    locked = cli_refused(home, "books", "add", "vipcrm", "--set", "api_token=t0ken", env=env)
    assert locked == f"Acme Connect: {VIP_LOCKED}", locked
    unshipped = cli_refused(home, "books", "add", "carddav", "--set", "url=http://127.0.0.1:9/", env=env)
    assert unshipped.endswith("(carddav) is not part of Acme Connect: Acme Telecom does not ship it."), unshipped
    # The branding file given on the command line (as to `serve --branding`) counts the same.
    named = cli_refused(home, "books", "add", "carddav", "--branding", str(branding), env=controlled_site)
    assert "(carddav) is not part of Acme Connect" in named, named
    types = cli_ok(home, "books", "types", env=env)
    assert [line.split()[0] for line in types.splitlines()[1:]] == ["local"], types

    code = issue_code(load_private_key(partner_key[0]), ["vipcrm"])
    cli_ok(home, "unlock", code, env=env)
    added = cli_ok(home, "books", "add", "vipcrm", "--name", "VIP", "--set", "api_token=t0ken", env=env)
    assert "Added 'VIP'" in added
    assert "vipcrm" in [line.split()[0] for line in cli_ok(home, "books", "types", env=env).splitlines()[1:]]
    assert "not part of Acme Connect" in cli_refused(home, "books", "add", "carddav", env=env)


def test_a_locked_book_in_the_vault_is_listed_with_the_reason_and_cannot_be_turned_on(
    home: Path, tmp_path: Path, controlled_site: dict[str, str], partner_key: tuple[str, str]
) -> None:
    env = {
        **controlled_site,
        "PARTNERCRMD_BRANDING": str(write_branding(tmp_path, public_key=partner_key[1], shipped=("local", "vipcrm"))),
    }
    cli_ok(home, "books", "list", env=env)
    vip = BookConfig(id="vip", type="vipcrm", name="VIP", enabled=False, settings={"api_token": "right-token"})
    hand_edit_book(home, vip)
    listed = cli_ok(home, "books", "list", env=env)
    row = next(line for line in listed.splitlines() if line.split()[1:2] == ["vip"])
    assert " locked " in row, listed
    assert f"vip is locked: {VIP_LOCKED}" in listed
    refused = cli_refused(home, "books", "set", "VIP", "--set", "enabled=true", env=env)
    assert refused == f"Acme Connect: 'VIP' cannot be enabled or reconfigured: {VIP_LOCKED}", refused
    assert "cannot be enabled" in cli_refused(home, "books", "set", "VIP", "--set", "api_token=other", env=env)
    cli_ok(home, "books", "set", "VIP", "--set", "name=VIP (old)", env=env)  # naming, ordering, removing stay open
    tested = run_cli(home, "books", "test", "vip", extra_env=env)
    assert tested.returncode == 1 and f"FAIL integration: {VIP_LOCKED}" in tested.stdout, describe(tested)


# --- item 11: a vault edited by hand, the daemon (app factory, HTTP API and pages) ---------------------------------


class TestVaultEditedByHand:
    """Books of a locked (Controlled) and an unshipped (Standard) integration written into the vault before start."""

    @pytest.fixture
    def partnercrmd_addins(self) -> list[tuple[str, object]]:
        return [("book_rules", book_rules_addin)]

    @pytest.fixture
    def partnercrmd_config(
        self, partnercrmd_config: DaemonConfig, partner_key: tuple[str, str], tmp_path: Path
    ) -> DaemonConfig:
        branding = write_branding(tmp_path, public_key=partner_key[1], shipped=("local", CONTROLLED_ID))
        partnercrmd_config.branding = load_branding_file(branding)
        return partnercrmd_config

    @pytest.fixture
    def partnercrmd_app(self, partnercrmd_config: DaemonConfig, partnercrmd_home: Paths) -> web.Application:
        partnercrmd_home.ensure()
        vault = Vault.open(partnercrmd_home.config_dir)
        ensure_default_book(vault)
        books = (
            BookConfig(id="vip", type=CONTROLLED_ID, name="VIP records", priority=20),
            BookConfig(id="std", type=STANDARD_ID, name="Directory records", priority=30),
        )
        vault.update(lambda doc: doc["books"].update({b.id: b.to_dict() for b in books}))
        return create_app(partnercrmd_config)

    async def test_its_books_are_never_queried_and_say_why(
        self, partnercrmd_client: Client, api: ApiSession, partnercrmd_home: Paths
    ) -> None:
        for query in ("Rita", NUMBER):
            collections = await api.call("POST", "Search", query=query)
            assert [c["AddinId"] for c in collections] == ["local"], collections
        ringing = {"CallId": "c1", "State": "Ringing", "Direction": "Inbound", "CallerNumber": NUMBER}
        await api.call("POST", "CallEvent", **ringing, CalledNumber="201")
        assert calls(partnercrmd_home.book_dir("vip")) == [] and calls(partnercrmd_home.book_dir("std")) == []

        books = await address_books(api)
        assert (books["vip"]["Enabled"], books["vip"]["Status"]) == (False, "Locked")
        assert "Recorded VIP (recordvip) is locked until you enter the unlock code" in books["vip"]["ExceptionText"]
        assert (books["std"]["Enabled"], books["std"]["Status"]) == (False, "NotShipped")
        assert books["std"]["ExceptionText"] == (
            "Recorded directory (recordstd) is not part of Acme Connect: Acme Telecom does not ship it."
        )

        await log_in(partnercrmd_client)
        listing = html.unescape(await page_text(partnercrmd_client, "/ui/integrations"))
        assert "Locked" in listing and "Recorded VIP (recordvip) is locked until" in listing
        assert "Not part of this product" in listing and "(recordstd) is not part of Acme Connect" in listing
        book_page = html.unescape(await page_text(partnercrmd_client, "/ui/books/vip"))
        assert "Status: Locked: Recorded VIP (recordvip) is locked until" in book_page
        assert 'name="s.url"' not in book_page  # no settings form for an integration the user may not use

    async def test_the_ui_neither_adds_nor_turns_on_a_withheld_integration(
        self, partnercrmd_client: Client, api: ApiSession
    ) -> None:
        app = partnercrmd_client.app
        await log_in(partnercrmd_client)
        before = await stored_books(app)
        for integration, reason in (
            (CONTROLLED_ID, "Recorded VIP (recordvip) is locked until you enter the unlock code"),
            (STANDARD_ID, "Recorded directory (recordstd) is not part of Acme Connect"),
        ):
            await page_text(partnercrmd_client, f"/ui/integrations/{integration}/add", status=404)  # not offered
            posted = await post_form(
                partnercrmd_client, f"/ui/integrations/{integration}/add", {"o.name": "Sneaky", "s.url": ""}
            )
            assert posted.status == 400 and reason in html.unescape(await posted.text())
        assert await stored_books(app) == before

        disabled = await post_form(partnercrmd_client, "/ui/books/std/enabled", {"enabled": "0"})
        assert disabled.status == 303  # turning it off (or renaming, removing) stays possible
        assert (await stored_books(app))["std"].enabled is False
        enabled = await post_form(partnercrmd_client, "/ui/books/std/enabled", {"enabled": "1"})
        text = html.unescape(await enabled.text())
        assert enabled.status == 400 and "'Directory records' cannot be enabled or reconfigured" in text
        assert (await stored_books(app))["std"].enabled is False
        with pytest.raises(ConfigError, match="is locked until you enter the unlock code"):
            await configure_book(app, CONTROLLED_ID, name="Through partnercrmd.testing")

    async def test_an_unlock_code_opens_its_book_at_once_and_locking_again_closes_it(
        self, partnercrmd_client: Client, api: ApiSession, partnercrmd_home: Paths, partner_key: tuple[str, str]
    ) -> None:
        vip_calls = partnercrmd_home.book_dir("vip")
        await log_in(partnercrmd_client)
        code = issue_code(load_private_key(partner_key[0]), [CONTROLLED_ID])
        unlocked = await post_form(partnercrmd_client, "/ui/unlock", {"code": code})
        assert unlocked.status == 303, await unlocked.text()
        books = await address_books(api)  # no restart, no waiting for the vault poll
        assert (books["vip"]["Enabled"], books["vip"]["Status"], books["vip"]["ExceptionText"]) == (True, "Ready", "")
        assert books["std"]["Status"] == "NotShipped"
        collections = {c["AddinId"]: c for c in await api.call("POST", "Search", query="Rita")}
        assert [r["DisplayText"] for r in collections["vip"]["Records"]] == ["Rita Recorded"]
        assert "std" not in collections
        assert calls(vip_calls) == ["open", "search Rita"]
        assert calls(partnercrmd_home.book_dir("std")) == []

        # Locked again (the unlock taken out of the vault by hand): the running daemon closes the book.
        vault = partnercrmd_client.app[appkeys.VAULT]
        await asyncio.to_thread(vault.update, lambda doc: doc["unlocked"].pop(CONTROLLED_ID))
        await wait_for(lambda: _status_is(api, "vip", "Locked"))
        await api.call("POST", "Search", query="Rita")
        assert calls(vip_calls) == ["open", "search Rita"]


async def _status_is(api: ApiSession, book_id: str, status: str) -> bool:
    return bool((await address_books(api))[book_id]["Status"] == status)

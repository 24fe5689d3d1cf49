"""The configuration UI over HTTP: sessions, anti-forgery tokens and Origins; every form; secrets never shown."""

from __future__ import annotations

import asyncio
import html as html_lib
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from partnercrmd import appkeys
from partnercrmd.books import read_books
from partnercrmd.client_apps import AppStatus
from partnercrmd.partner_keys import generate_private_key, load_private_key
from partnercrmd.paths import Paths
from partnercrmd.testing import ApiSession, configure_book, write_branding
from partnercrmd.unlock import issue_code
from tests import controlled_addin
from tests.ui_support import UI_PAGES, Client, csrf_of, log_in, page_text, post_form

SECRET = "Sup3r-Secret-Pa55word"
REQUEST_URL = "https://acme.example/request-integration"
POST_ROUTES = (
    "/ui/integrations/local/add",
    "/ui/unlock",
    "/ui/books/local",
    "/ui/books/local/test",
    "/ui/books/local/move",
    "/ui/books/local/enabled",
    "/ui/books/local/remove",
    "/ui/dialling/settings",
    "/ui/dialling/handlers",
    "/ui/dialling/pair",
    "/ui/dialling/pause",
    "/ui/applications",
)


@pytest.fixture
def partner_key(tmp_path: Path) -> tuple[str, str]:
    """(private key PEM, public key text) of the partner."""
    return generate_private_key()


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("controlled", controlled_addin)]


@pytest.fixture
def partnercrmd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """The partner's installer names the home after its product (PARTNERCRMD_HOME), as a branded build does."""
    monkeypatch.setenv("PARTNERCRMD_HOME", str(tmp_path / "acme-home"))
    monkeypatch.setenv("PARTNERCRMD_KEYRING", "0")
    return Paths.from_env()


@pytest.fixture
def partnercrmd_config(partnercrmd_config: Any, partner_key: tuple[str, str], tmp_path: Path) -> Any:
    """Branded with the partner's public key, so unlock codes can be checked."""
    from partnercrmd.branding import load_branding_file

    branding_file = write_branding(tmp_path, public_key=partner_key[1], request_integration_url=REQUEST_URL)
    partnercrmd_config.branding = load_branding_file(branding_file)
    return partnercrmd_config


async def vault_doc(app: web.Application) -> dict[str, Any]:
    return await asyncio.to_thread(app[appkeys.VAULT].read)


# --- sessions, tokens, origins ---------------------------------------------------------------------


async def test_pages_need_the_one_time_login(partnercrmd_client: Client) -> None:
    for path in UI_PAGES:
        response = await partnercrmd_client.get(path)
        assert response.status == 403, path
        body = await response.text()
        assert "open this window from your phone client" in body
        assert "Local address book" not in body


async def test_login_sets_a_strict_httponly_cookie_and_pages_send_security_headers(partnercrmd_client: Client) -> None:
    url = partnercrmd_client.app[appkeys.UI].new_login()
    response = await partnercrmd_client.get(f"/ui/login/{url}?window=dialling", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/ui/dialling"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui" in cookie
    for path in UI_PAGES:
        page = await partnercrmd_client.get(path)
        assert page.status == 200, path
        assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Cache-Control"] == "no-store"


async def test_every_form_refuses_a_missing_or_wrong_token_and_changes_nothing(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    before = await vault_doc(partnercrmd_client.app)
    fields = {"direction": "down", "enabled": "0", "confirm": "1", "decision": "approve", "code": "x", "o.name": "X"}
    for path in POST_ROUTES:
        for extra in ({}, {"csrf": "not-the-token"}):
            response = await partnercrmd_client.post(path, data={**fields, **extra}, allow_redirects=False)
            assert response.status == 403, f"{path} {extra}: {response.status}"
            assert "This form has expired" in await response.text()
    after = await vault_doc(partnercrmd_client.app)
    assert read_books(after) == read_books(before)
    assert after.get("settings") == before.get("settings")


async def test_forms_without_a_session_are_refused(partnercrmd_client: Client, aiohttp_client: Any) -> None:
    await log_in(partnercrmd_client)
    token = csrf_of(await page_text(partnercrmd_client, "/ui/integrations"))
    partnercrmd_client.session.cookie_jar.clear()  # the token alone, as a forged cross-site form would hold it
    for path in POST_ROUTES:
        response = await partnercrmd_client.post(path, data={"csrf": token, "direction": "down"}, allow_redirects=False)
        assert response.status == 403, path
    assert [b.id for b in read_books(await vault_doc(partnercrmd_client.app))] == ["local"]


async def test_foreign_origins_are_refused_even_with_session_and_token(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    token = csrf_of(await page_text(partnercrmd_client, "/ui/integrations"))
    for origin in ("https://evil.example", "null", "http://127.0.0.1:1"):
        response = await partnercrmd_client.post(
            "/ui/books/local/enabled", data={"csrf": token, "enabled": "0"}, headers={"Origin": origin}
        )
        assert response.status == 403, origin
        page = await partnercrmd_client.get("/ui/integrations", headers={"Origin": origin})
        assert page.status == 403
    assert read_books(await vault_doc(partnercrmd_client.app))[0].enabled
    own = f"http://127.0.0.1:{partnercrmd_client.port}"
    response = await post_form(partnercrmd_client, "/ui/books/local/enabled", {"enabled": "0"})
    assert response.status == 303, own
    assert not read_books(await vault_doc(partnercrmd_client.app))[0].enabled


async def test_a_token_of_another_session_is_refused(partnercrmd_client: Client, aiohttp_client: Any) -> None:
    other = await aiohttp_client(partnercrmd_client.server)
    await log_in(other)
    foreign_token = csrf_of(await page_text(other, "/ui/integrations"))
    await log_in(partnercrmd_client)
    response = await partnercrmd_client.post(
        "/ui/books/local/enabled", data={"csrf": foreign_token, "enabled": "0"}, allow_redirects=False
    )
    assert response.status == 403


# --- secrets ---------------------------------------------------------------------------------------


async def test_secrets_never_appear_in_any_page(partnercrmd_client: Client) -> None:
    app = partnercrmd_client.app
    book_id = await configure_book(
        app, "carddav", url="http://127.0.0.1:9/dav/", username="alice", password=SECRET, name="Team contacts"
    )
    await log_in(partnercrmd_client)
    pages = [*UI_PAGES, f"/ui/books/{book_id}", "/ui/integrations/carddav/add"]
    for path in pages:
        text = await page_text(partnercrmd_client, path)
        assert SECRET not in text, path
    book_page = await page_text(partnercrmd_client, f"/ui/books/{book_id}")
    assert "Set: leave blank to keep it." in book_page
    tested = await post_form(partnercrmd_client, f"/ui/books/{book_id}/test", {})
    assert tested.status == 200
    assert SECRET not in await tested.text()
    # A refused form is shown again with what was typed, but never the password.
    refused = await post_form(
        partnercrmd_client,
        "/ui/integrations/carddav/add",
        {"o.name": "Another", "s.url": "ftp://nope", "s.password": SECRET, "s.username": "bob"},
    )
    text = await refused.text()
    assert refused.status == 400
    assert "must be an http:// or https:// address" in text
    assert 'value="ftp://nope"' in text and 'value="bob"' in text and 'value="Another"' in text
    assert SECRET not in text and "type them once more" in text


async def test_a_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it(partnercrmd_client: Client) -> None:
    app = partnercrmd_client.app
    book_id = await configure_book(app, "carddav", url="http://127.0.0.1:9/", password=SECRET, name="Shared")
    await log_in(partnercrmd_client)
    fields = {
        "o.name": "Shared book",
        "o.priority": "5",
        "o.enabled": "1",
        "s.url": "http://127.0.0.1:9/",
        "s.password": "",
        "save_anyway": "1",  # no server there: saved without the quick connection
    }
    response = await post_form(partnercrmd_client, f"/ui/books/{book_id}", fields)
    assert response.status == 303, await response.text()
    (book,) = [b for b in read_books(await vault_doc(app)) if b.id == book_id]
    assert book.settings["password"] == SECRET and book.name == "Shared book" and book.priority == 5
    response = await post_form(partnercrmd_client, f"/ui/books/{book_id}", {**fields, "s.password": "new-one"})
    assert response.status == 303
    (book,) = [b for b in read_books(await vault_doc(app)) if b.id == book_id]
    assert book.settings["password"] == "new-one"


# --- integrations and books -----------------------------------------------------------------------


async def test_add_a_book_through_the_form_and_get_a_clear_error_for_bad_input(
    partnercrmd_client: Client, api: ApiSession
) -> None:
    await log_in(partnercrmd_client)
    add_page = await page_text(partnercrmd_client, "/ui/integrations/local/add")
    assert 'for="field-s-seed_samples"' in add_page and "Add sample contacts" in add_page
    refused = await post_form(
        partnercrmd_client, "/ui/integrations/local/add", {"o.name": "Sales", "o.priority": "soon"}
    )
    assert refused.status == 400
    text = await refused.text()
    assert "must be a whole number" in text and 'value="Sales"' in text
    added = await post_form(
        partnercrmd_client, "/ui/integrations/local/add", {"o.name": "Sales", "s.seed_samples": ["0", "1"]}
    )
    assert added.status == 303
    book_id = added.headers["Location"].split("/")[3].split("?")[0]
    books = {b.id: b for b in read_books(await vault_doc(partnercrmd_client.app))}
    assert books[book_id].name == "Sales" and books[book_id].settings["seed_samples"] is True
    names = [c["AddinName"] for c in await api.call("POST", "Search", query="Huffman")]
    assert names == ["Local address book", "Sales"]
    test = await post_form(partnercrmd_client, f"/ui/books/{book_id}/test", {})
    assert "Every check passed." in await test.text()


async def test_move_changes_the_order_of_search_results(partnercrmd_client: Client, api: ApiSession) -> None:
    app = partnercrmd_client.app
    await configure_book(app, "local", name="Second", seed_samples=True)
    await log_in(partnercrmd_client)

    async def order() -> list[str]:
        return [c["AddinName"] for c in await api.call("POST", "Search", query="Huffman")]

    assert await order() == ["Local address book", "Second"]
    response = await post_form(partnercrmd_client, "/ui/books/local/move", {"direction": "down"})
    assert response.status == 303
    assert await order() == ["Second", "Local address book"]
    page = await page_text(partnercrmd_client, "/ui/integrations")
    assert page.index("Second") < page.index("Local address book")
    # Moving the first one up changes nothing.
    second = next(b.id for b in read_books(await vault_doc(app)) if b.name == "Second")
    await post_form(partnercrmd_client, f"/ui/books/{second}/move", {"direction": "up"})
    assert await order() == ["Second", "Local address book"]


async def test_disable_enable_and_remove_a_book(partnercrmd_client: Client, api: ApiSession) -> None:
    app = partnercrmd_client.app
    book_id = await configure_book(app, "local", name="Temporary", seed_samples=True)
    await log_in(partnercrmd_client)
    await post_form(partnercrmd_client, f"/ui/books/{book_id}/enabled", {"enabled": "0"})
    assert [c["AddinName"] for c in await api.call("POST", "Search", query="Huffman")] == ["Local address book"]
    tested = html_lib.unescape(await (await post_form(partnercrmd_client, f"/ui/books/{book_id}/test", {})).text())
    assert "This address book is disabled." in tested and "Enable the address book" in tested
    await post_form(partnercrmd_client, f"/ui/books/{book_id}/enabled", {"enabled": "1"})
    assert len(await api.call("POST", "Search", query="Huffman")) == 2
    unconfirmed = await post_form(partnercrmd_client, f"/ui/books/{book_id}/remove", {})
    assert unconfirmed.status == 400 and "Tick the box" in await unconfirmed.text()
    removed = await post_form(partnercrmd_client, f"/ui/books/{book_id}/remove", {"confirm": "1"})
    assert removed.status == 303
    assert [b.id for b in read_books(await vault_doc(app))] == ["local"]
    assert (await partnercrmd_client.get(f"/ui/books/{book_id}")).status == 404


async def test_a_failed_test_says_what_to_do(partnercrmd_client: Client) -> None:
    book_id = await configure_book(partnercrmd_client.app, "carddav", url="http://127.0.0.1:9/", name="Nowhere")
    await log_in(partnercrmd_client)
    response = await post_form(partnercrmd_client, f"/ui/books/{book_id}/test", {})
    text = html_lib.unescape(await response.text())
    assert "A check failed" in text and "Failed" in text
    assert "Check the server address, and that the server is running" in text


# --- controlled integrations ------------------------------------------------------------------------


async def test_a_controlled_integration_appears_only_after_a_valid_code(
    partnercrmd_client: Client, partner_key: tuple[str, str]
) -> None:
    await log_in(partnercrmd_client)
    assert controlled_addin.NAME not in await page_text(partnercrmd_client, "/ui/integrations")
    assert controlled_addin.NAME not in await page_text(partnercrmd_client, "/ui/viewer")
    await page_text(partnercrmd_client, "/ui/integrations/vipcrm/add", status=404)
    key = load_private_key(partner_key[0])

    async def enter(code: str) -> tuple[int, str]:
        response = await post_form(partnercrmd_client, "/ui/unlock", {"code": code}, page="/ui/integrations")
        return response.status, html_lib.unescape(await response.text())

    status, text = await enter("unlock.garbage")
    assert status == 400 and "This is not a valid unlock code" in text
    other_key = load_private_key(generate_private_key()[0])
    status, text = await enter(issue_code(other_key, ["vipcrm"]))
    assert status == 400 and "not issued for this product or has been altered" in text
    status, text = await enter(issue_code(key, ["othercrm"]))
    assert status == 400 and "unlocks othercrm, which this installation does not have" in text
    # A genuine code for another integration cannot be edited to name this one.
    kind, _, signature = issue_code(key, ["othercrm"]).split(".")
    forged = issue_code(key, ["vipcrm"]).split(".")[1]
    status, text = await enter(f"{kind}.{forged}.{signature}")
    assert status == 400 and "altered" in text
    assert controlled_addin.NAME not in await page_text(partnercrmd_client, "/ui/integrations")

    response = await post_form(partnercrmd_client, "/ui/unlock", {"code": issue_code(key, ["vipcrm"])})
    assert response.status == 303
    page = await page_text(partnercrmd_client, response.headers["Location"].split("#")[0])
    assert controlled_addin.NAME in page and "Unlocked" in page
    assert controlled_addin.NAME in await page_text(partnercrmd_client, "/ui/viewer")
    assert "vipcrm" in (await vault_doc(partnercrmd_client.app))["unlocked"]
    add_page = await page_text(partnercrmd_client, "/ui/integrations/vipcrm/add")
    assert 'type="password"' in add_page and "API token" in add_page


# --- dialling ----------------------------------------------------------------------------------------


async def test_dialling_preview_works_without_script_and_as_json(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client, "dialling")
    page = await page_text(partnercrmd_client, "/ui/dialling?number=020+7946+0958")
    assert re.search(r'id="preview-destination">\+442079460958<', page)
    assert (await (await partnercrmd_client.get("/ui/dialling/preview?number=2001")).json())["Destination"] == "2001"
    bad = await (await partnercrmd_client.get("/ui/dialling/preview?number=hello")).json()
    assert "not one phone number" in bad["Error"]
    fields = {
        "clipboard_dialling": ["0", "1"],
        "screen_read_dialling": "0",
        "selection_dialling": "0",
        "default_region": "GB",
        "dial_format": "national",
        "dial_outside_prefix": "9",
        "dial_extension_lengths": "3,4",
    }
    saved = await post_form(partnercrmd_client, "/ui/dialling/settings", fields, page="/ui/dialling")
    assert saved.status == 303
    config = partnercrmd_client.app[appkeys.CONFIG]
    assert config.clipboard_dialling and config.dial_outside_prefix == "9"
    page = await page_text(partnercrmd_client, "/ui/dialling?number=%2B33+1+42+68+53+00")
    assert 'id="preview-destination">900331426853' in page  # outside line, then the access code abroad
    refused = await post_form(
        partnercrmd_client,
        "/ui/dialling/settings",
        {**fields, "dial_outside_prefix": "99999"},
        page="/ui/dialling",
    )
    text = await refused.text()
    assert refused.status == 400 and "up to four digits" in text and 'value="99999"' in text
    assert config.dial_outside_prefix == "9"


async def test_dialling_page_shows_the_helpers(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client, "dialling")
    page = await page_text(partnercrmd_client, "/ui/dialling")
    assert 'href="/extension/"' in page and "TAPI is Windows-only" in page
    paired = await post_form(partnercrmd_client, "/ui/dialling/pair", {}, page="/ui/dialling")
    assert paired.status == 200
    assert re.search(r'id="pairing-code">[A-Z2-9-]{8,9}<', await paired.text())


# --- applications, about, viewer ---------------------------------------------------------------------


async def test_approve_a_pending_register_in_the_applications_page(partnercrmd_client: Client) -> None:
    partnercrmd_client.app[appkeys.CONFIG].registration_wait = 20.0
    register = asyncio.create_task(
        partnercrmd_client.post("/api/v1/Register", data={"Name": "Softphone X", "Id": "softphone-x"})
    )
    await log_in(partnercrmd_client)
    for _ in range(100):
        if "Softphone X" in await page_text(partnercrmd_client, "/ui/applications"):
            break
        await asyncio.sleep(0.05)
    notice = await page_text(partnercrmd_client, "/ui/configuration")  # where ShowWindow and Register point
    assert "<strong>Softphone X</strong> wants to use" in notice and 'aria-label="Allow Softphone X"' in notice
    page = await page_text(partnercrmd_client, "/ui/applications")
    assert 'aria-label="Approve Softphone X"' in page
    response = await post_form(
        partnercrmd_client,
        "/ui/applications",
        {"app_id": "softphone-x", "decision": "approve"},
        page="/ui/applications",
    )
    assert response.status == 303
    assert (await register).status == 204
    assert partnercrmd_client.app[appkeys.APPS].apps["softphone-x"].status is AppStatus.APPROVED
    await post_form(
        partnercrmd_client,
        "/ui/applications",
        {"app_id": "softphone-x", "decision": "revoke"},
        page="/ui/applications",
    )
    assert partnercrmd_client.app[appkeys.APPS].apps["softphone-x"].status is AppStatus.REVOKED


async def test_about_shows_versions_notes_licence_and_key(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client, "about")
    page = html_lib.unescape(await page_text(partnercrmd_client, "/ui/about"))
    assert "Acme Connect 0.1.0" in page
    assert "First release: search, pop, activities, import." in page  # the local book's release notes
    assert "Licence" in page and "key file" in page.lower()
    assert f'href="{REQUEST_URL}"' in page and "Request a new integration" in page


async def test_viewer_search_without_script(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client, "viewer")
    everything = await page_text(partnercrmd_client, "/ui/viewer")
    assert "CardDAV" in everything and "Local address book" in everything
    found = await page_text(partnercrmd_client, "/ui/viewer?q=carddav")
    assert 'data-integration="carddav"' in found and 'data-integration="local"' not in found


async def test_branded_pages_show_the_partner_name_only(partnercrmd_client: Client) -> None:
    await configure_book(partnercrmd_client.app, "carddav", url="http://127.0.0.1:9/", name="Team")
    await log_in(partnercrmd_client)
    for path in [*UI_PAGES, "/ui/books/local", "/ui/books/team", "/ui/integrations/local/add", "/ui/callhistory"]:
        text = await page_text(partnercrmd_client, path)
        assert "Acme Connect" in text, path
        assert_no_default_name(path, text)


def assert_no_default_name(where: str, text: str) -> None:
    """No 'partnercrmd' in a page, its links included. Environment variable names (PARTNERCRMD_KEYRING=0 in the
    vault-key line, set by whoever runs the daemon) and the command in `partnercrmd …` hints keep their names."""
    scanned = re.sub(r"PARTNERCRMD_[A-Z_]+|`partnercrmd [a-z][^`]{0,80}`", "", text).lower()
    assert "partnercrmd" not in scanned, f"{where}: …{scanned[max(0, scanned.find('partnercrmd') - 100) :][:220]}…"


async def test_deny_a_pending_register(partnercrmd_client: Client) -> None:
    partnercrmd_client.app[appkeys.CONFIG].registration_wait = 20.0
    register = asyncio.create_task(
        partnercrmd_client.post("/api/v1/Register", data={"Name": "Unknown tool", "Id": "unknown-tool"})
    )
    await log_in(partnercrmd_client)
    for _ in range(100):
        if "unknown-tool" in partnercrmd_client.app[appkeys.APPS].apps:
            break
        await asyncio.sleep(0.05)
    response = await post_form(
        partnercrmd_client, "/ui/applications", {"app_id": "unknown-tool", "decision": "deny"}, page="/ui/applications"
    )
    assert response.status == 303
    answer = await register
    assert answer.status == 403 and (await answer.json())["Code"] == "approval_denied"
    page = await page_text(partnercrmd_client, "/ui/applications")
    assert 'id="revoked"' in page and 'aria-label="Approve Unknown tool"' in page
    unknown = await post_form(
        partnercrmd_client, "/ui/applications", {"app_id": "nobody", "decision": "approve"}, page="/ui/applications"
    )
    assert unknown.status == 404 and "No application 'nobody'" in html_lib.unescape(await unknown.text())


async def test_tel_links_are_taken_over_and_given_back_from_the_dialling_page(
    partnercrmd_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "user"
    (home / ".config").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for name in ("WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP", "DESKTOP_SESSION", "KDE_FULL_SESSION", "BROWSER"):
        monkeypatch.setenv(name, "")  # xdg-utils treat empty as unset: the generic (freedesktop) code path
    await log_in(partnercrmd_client, "dialling")
    before = await page_text(partnercrmd_client, "/ui/dialling")
    assert "tel: links open another program" in before and "Handle these links with Acme Connect" in before
    enabled = await post_form(partnercrmd_client, "/ui/dialling/handlers", {"action": "enable"}, page="/ui/dialling")
    assert enabled.status == 303
    page = await page_text(partnercrmd_client, "/ui/dialling")
    for scheme in ("tel", "callto", "sip"):
        assert f"{scheme}: links open Acme Connect" in page
    assert "Stop handling these links" in page
    assert (home / ".local" / "share" / "applications" / "partnercrmd-url-handler.desktop").is_file()
    disabled = await post_form(partnercrmd_client, "/ui/dialling/handlers", {"action": "disable"}, page="/ui/dialling")
    assert disabled.status == 303
    assert "tel: links open another program" in await page_text(partnercrmd_client, "/ui/dialling")

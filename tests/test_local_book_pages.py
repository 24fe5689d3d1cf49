"""The local address book in the configuration pages: browse (paged), search, add, edit and delete contacts with
several numbers and e-mails, import a vCard or CSV file, export vCard; what the pages change, `Search` finds."""

from __future__ import annotations

import asyncio
import html as html_lib
import io
import re
from typing import Any

import aiohttp

from partnercrmd import appkeys
from partnercrmd.books import DEFAULT_BOOK_ID
from partnercrmd.importers import read_contacts_bytes_with_warnings
from partnercrmd.integration import ThreadedConnector
from partnercrmd.local_book.addin import LocalBook
from partnercrmd.local_book.store import LocalStore
from partnercrmd.testing import ApiSession, configure_book, names, search
from tests.ui_support import Client, csrf_of, log_in, page_text

BOOK = f"/ui/contacts/{DEFAULT_BOOK_ID}"
NEW = f"{BOOK}/new"


def store_of(client: Client, book_id: str = DEFAULT_BOOK_ID) -> LocalStore:
    connector = client.app[appkeys.BOOKS].get(book_id).connector
    assert isinstance(connector, ThreadedConnector) and isinstance(connector.blocking, LocalBook)
    return connector.blocking.store


def listed(page: str) -> list[str]:
    """The names in the page's contact list, in order."""
    rows = re.findall(r'<tr data-contact="[^"]+">\s*<td><a href="[^"]+">([^<]*)</a>', page)
    return [html_lib.unescape(name) for name in rows]


def contact_path(page: str, name: str) -> str:
    """The edit page of the listed contact called `name`."""
    match = re.search(r'<td><a href="(/ui/contacts/[^"]+/contact/[^"]+)">' + re.escape(name) + "</a>", page)
    assert match, f"{name} is not listed"
    return match.group(1)


def vcard(uid: str, name: str, number: str, email: str = "") -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{name}", f"TEL;TYPE=WORK:{number}"]
    if email:
        lines.append(f"EMAIL:{email}")
    return "\r\n".join([*lines, "END:VCARD"]) + "\r\n"


async def post(client: Client, path: str, fields: list[tuple[str, str]] | dict[str, str], *, page: str = BOOK) -> Any:
    """POST a form as the browser would, with the anti-forgery token of `page`."""
    token = csrf_of(await page_text(client, page))
    items = list(fields.items()) if isinstance(fields, dict) else list(fields)
    return await client.post(path, data=[("csrf", token), *items], allow_redirects=False)


async def upload(client: Client, content: bytes, filename: str, *, token: str | None = None) -> Any:
    """The import form's multipart POST of a file."""
    form = aiohttp.FormData()
    form.add_field("csrf", token if token is not None else csrf_of(await page_text(client, BOOK)))
    form.add_field("file", io.BytesIO(content), filename=filename, content_type="text/vcard")  # streamed, any size
    return await client.post(f"{BOOK}/import", data=form, allow_redirects=False)


def contact_fields(**overrides: Any) -> list[tuple[str, str]]:
    """An add/edit form's fields: the text fields, then each number (kind, number) and each e-mail."""
    text = {"display_name": "", "first_name": "", "last_name": "", "company": "", "job_title": ""}
    text |= {"address": "", "url": "", "notes": ""}
    phones = overrides.pop("phones", [])
    emails = overrides.pop("emails", [])
    text |= overrides
    fields = list(text.items())
    for kind, number in [*phones, ("BusinessPhone", ""), ("MobilePhone", "")]:  # the two blank rows the form has
        fields += [("phone_kind", kind), ("phone_number", number)]
    for email in [*emails, "", ""]:
        fields.append(("email", email))
    return fields


async def test_contacts_are_browsed_in_pages_of_25(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    cards = "".join(vcard(f"uid-{n:03d}", f"Zed Person {n:03d}", f"+44 20 7946 {n:04d}") for n in range(60))
    imported = await upload(partnercrmd_client, cards.encode(), "sixty.vcf")
    assert imported.status == 200, await imported.text()
    total = await asyncio.to_thread(store_of(partnercrmd_client).count)
    assert total >= 60
    home = await partnercrmd_client.get("/ui/contacts", allow_redirects=False)
    assert home.status == 303 and home.headers["Location"] == BOOK  # the one local book
    first = await page_text(partnercrmd_client, BOOK)
    assert len(listed(first)) == 25
    pages = -(-total // 25)
    assert f"Page 1 of {pages}" in first and f'href="{BOOK}?page=2" rel="next"' in first
    assert f'All contacts <span class="muted">({total})</span>' in first
    last = await page_text(partnercrmd_client, f"{BOOK}?page={pages}")
    assert len(listed(last)) == total - 25 * (pages - 1)
    assert 'rel="next"' not in last and 'rel="prev"' in last
    everything = []
    for number in range(1, pages + 1):
        everything += listed(await page_text(partnercrmd_client, f"{BOOK}?page={number}"))
    assert everything == sorted(everything, key=str.lower) and len(set(everything)) == total
    assert [n for n in everything if n.startswith("Zed Person")] == [f"Zed Person {n:03d}" for n in range(60)]


async def test_the_search_is_the_books_own_by_name_and_by_number(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    cards = vcard("a", "Ada Lovelace", "+44 20 7946 0001") + vcard("b", "Charles Babbage", "020 7946 0002")
    assert (await upload(partnercrmd_client, cards.encode(), "two.vcf")).status == 200
    assert listed(await page_text(partnercrmd_client, f"{BOOK}?q=lovelace")) == ["Ada Lovelace"]
    # A number in another format than stored, as a caller's number comes.
    assert listed(await page_text(partnercrmd_client, f"{BOOK}?q=%2B442079460002")) == ["Charles Babbage"]
    nothing = await page_text(partnercrmd_client, f"{BOOK}?q=nobody+here")
    assert listed(nothing) == [] and "No contact matches" in html_lib.unescape(nothing)


async def test_add_edit_and_delete_a_contact_and_search_finds_it_then_not(
    partnercrmd_client: Client, api: ApiSession
) -> None:
    await log_in(partnercrmd_client)
    form = await page_text(partnercrmd_client, NEW)
    assert form.count('name="phone_number"') == 2 and form.count('name="email"') == 2
    fields = contact_fields(
        first_name="Grace",
        last_name="Hopper",
        company="Navy Labs",
        phones=[("BusinessPhone", "+44 20 7946 0555"), ("MobilePhone", "07700 900555")],
        emails=["grace@navy.example", "g.hopper@example.org"],
        notes="Line one\r\nLine two",
    )
    added = await post(partnercrmd_client, NEW, fields)
    assert added.status == 303 and added.headers["Location"] == f"{BOOK}?added=1"
    found = await search(api, "07700 900555")
    assert names(found[DEFAULT_BOOK_ID]) == ["Grace Hopper"]
    record = found[DEFAULT_BOOK_ID]["Records"][0]
    assert {f["Value"] for f in record["Fields"] if f["Type"] in ("Phone", "Email")} == {
        "+44 20 7946 0555",
        "07700 900555",
        "grace@navy.example",
        "g.hopper@example.org",
    }

    # Edit: rename, drop the mobile number, add a home number and a third e-mail.
    listing = await page_text(partnercrmd_client, f"{BOOK}?q=hopper")
    path = contact_path(listing, "Grace Hopper")
    edit = await page_text(partnercrmd_client, path)
    assert 'value="07700 900555"' in edit and 'value="g.hopper@example.org"' in edit
    assert "Line one\nLine two" in edit
    fields = contact_fields(
        display_name="Rear Admiral Hopper",
        first_name="Grace",
        last_name="Hopper",
        company="Navy Labs",
        phones=[("BusinessPhone", "+44 20 7946 0555"), ("HomePhone", "0161 496 0777")],
        emails=["grace@navy.example", "g.hopper@example.org", "amazing@example.net"],
        notes="Line one\r\nLine two",
    )
    saved = await post(partnercrmd_client, path, fields, page=path)
    assert saved.status == 303 and saved.headers["Location"] == f"{path}?saved=1"
    assert names((await search(api, "0161 496 0777"))[DEFAULT_BOOK_ID]) == ["Rear Admiral Hopper"]
    assert names((await search(api, "07700 900555"))[DEFAULT_BOOK_ID]) == []
    stored = await asyncio.to_thread(store_of(partnercrmd_client).get, path.rsplit("/", 1)[1])
    assert stored is not None
    assert stored.emails == ["grace@navy.example", "g.hopper@example.org", "amazing@example.net"]
    assert [(str(p.kind), p.number) for p in stored.phones] == [
        ("BusinessPhone", "+44 20 7946 0555"),
        ("HomePhone", "0161 496 0777"),
    ]
    assert stored.notes == "Line one\nLine two"

    # Delete, with confirmation: without the box ticked nothing happens.
    confirm = await page_text(partnercrmd_client, f"{path}/delete")
    assert "Delete Rear Admiral Hopper?" in confirm
    refused = await post(partnercrmd_client, f"{path}/delete", {}, page=f"{path}/delete")
    assert refused.status == 400 and "Tick the box" in await refused.text()
    assert names((await search(api, "0161 496 0777"))[DEFAULT_BOOK_ID]) == ["Rear Admiral Hopper"]
    deleted = await post(partnercrmd_client, f"{path}/delete", {"confirm": "1"}, page=f"{path}/delete")
    assert deleted.status == 303 and deleted.headers["Location"] == f"{BOOK}?deleted=1"
    assert names((await search(api, "0161 496 0777"))[DEFAULT_BOOK_ID]) == []
    assert (await partnercrmd_client.get(path)).status == 404


async def test_a_wrong_form_keeps_what_was_typed_shows_errors_beside_fields_and_stores_nothing(
    partnercrmd_client: Client,
) -> None:
    await log_in(partnercrmd_client)
    before = await asyncio.to_thread(store_of(partnercrmd_client).count)
    fields = contact_fields(
        job_title="Mystery",
        url="example.com",
        phones=[("MobilePhone", "call me"), ("BusinessPhone", "+44 20 7946 0999")],
        emails=["not-an-address", "ok@example.com"],
    )
    response = await post(partnercrmd_client, NEW, fields)
    assert response.status == 400
    page = html_lib.unescape(await response.text())
    assert "Give a name, a first or last name, or a company." in page
    assert '<p id="phone-0-error" class="error">A phone number needs digits' in page
    assert '<p id="email-0-error" class="error">An e-mail address looks like' in page
    assert '<p id="contact-url-error" class="error">A web address starts with https://' in page
    for typed in ('value="Mystery"', 'value="call me"', 'value="+44 20 7946 0999"', 'value="not-an-address"'):
        assert typed in page, typed
    assert 'id="phone-0" name="phone_number" type="tel" value="call me" aria-invalid="true"' in page
    assert await asyncio.to_thread(store_of(partnercrmd_client).count) == before


async def test_import_reports_added_updated_and_unchanged(partnercrmd_client: Client, api: ApiSession) -> None:
    await log_in(partnercrmd_client)
    cards = vcard("imp-1", "Ida Import", "+44 20 7946 0301") + vcard("imp-2", "Ivan Import", "+44 20 7946 0302")
    first = await upload(partnercrmd_client, cards.encode(), "people.vcf")
    assert first.status == 200
    assert "Imported people.vcf: 2 added, 0 updated, 0 unchanged." in html_lib.unescape(await first.text())
    changed = vcard("imp-1", "Ida Import", "+44 20 7946 0399") + vcard("imp-2", "Ivan Import", "+44 20 7946 0302")
    again = await upload(partnercrmd_client, changed.encode(), "people.vcf")
    assert "Imported people.vcf: 0 added, 1 updated, 1 unchanged." in html_lib.unescape(await again.text())
    assert names((await search(api, "020 7946 0399"))[DEFAULT_BOOK_ID]) == ["Ida Import"]
    csv = "First Name,Last Name,Mobile Phone,E-mail Address\r\nCora,Csv,07700 900301,cora@example.com\r\n"
    from_csv = await upload(partnercrmd_client, csv.encode(), "outlook.csv")
    assert "Imported outlook.csv: 1 added" in html_lib.unescape(await from_csv.text())
    assert names((await search(api, "07700900301"))[DEFAULT_BOOK_ID]) == ["Cora Csv"]


async def test_a_file_that_is_no_contacts_file_imports_nothing_and_says_why(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    before = await asyncio.to_thread(store_of(partnercrmd_client).count)
    response = await upload(partnercrmd_client, b"\x89PNG\r\n\x1a\n not contacts at all", "photo.png")
    assert response.status == 400
    assert "Nothing was imported" in html_lib.unescape(await response.text())
    empty = await upload(partnercrmd_client, b"", "empty.vcf")
    assert empty.status == 400
    assert await asyncio.to_thread(store_of(partnercrmd_client).count) == before


async def test_export_writes_vcards_that_import_back_unchanged(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    fields = contact_fields(
        first_name="Vera",
        last_name="Export; Jr",
        company="Commas, Inc",
        phones=[("MobilePhone", "07700 900777"), ("Fax", "+44 20 7946 0778")],
        emails=["vera@example.com"],
        notes="Two\r\nlines",
    )
    assert (await post(partnercrmd_client, NEW, fields)).status == 303
    response = await partnercrmd_client.get(f"{BOOK}/export")
    assert response.status == 200
    assert response.content_type == "text/vcard"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    data = await response.read()
    stored = await asyncio.to_thread(store_of(partnercrmd_client).all_contacts)
    contacts, warnings = read_contacts_bytes_with_warnings(data, "export.vcf")
    assert warnings == [] and len(contacts) == len(stored)
    vera = next(c for c in contacts if c.first_name == "Vera")
    assert (vera.last_name, vera.company, vera.emails, vera.notes) == (
        "Export; Jr",
        "Commas, Inc",
        ["vera@example.com"],
        "Two\nlines",
    )
    assert [(str(p.kind), p.number) for p in vera.phones] == [
        ("MobilePhone", "07700 900777"),
        ("Fax", "+44 20 7946 0778"),
    ]
    # The whole export imported into the book it came from changes nothing.
    back = await upload(partnercrmd_client, data, "export.vcf")
    assert f"0 added, 0 updated, {len(stored)} unchanged" in html_lib.unescape(await back.text())
    # One contact's card.
    path = contact_path(await page_text(partnercrmd_client, f"{BOOK}?q=vera"), "Vera Export; Jr")
    one = await partnercrmd_client.get(f"{path}/export")
    assert one.status == 200 and (await one.text()).count("BEGIN:VCARD") == 1
    assert 'filename="Vera-Export-Jr.vcf"' in one.headers["Content-Disposition"]


async def test_every_form_needs_the_session_and_its_token(partnercrmd_client: Client) -> None:
    await log_in(partnercrmd_client)
    listing = await page_text(partnercrmd_client, BOOK)
    path = contact_path(listing, listed(listing)[0])
    before = await asyncio.to_thread(store_of(partnercrmd_client).all_contacts)
    routes = (NEW, path, f"{path}/delete")
    for route in routes:
        for token in ({}, {"csrf": "not-the-token"}):
            response = await partnercrmd_client.post(
                route, data={**token, "confirm": "1", "display_name": "Forged"}, allow_redirects=False
            )
            assert response.status == 403, route
            assert "This form has expired" in await response.text()
    forged = await upload(partnercrmd_client, vcard("f", "Forged", "+44 20 7946 0666").encode(), "f.vcf", token="x")
    assert forged.status == 403
    partnercrmd_client.session.cookie_jar.clear()  # no session: the pages and the downloads are refused too
    for route in (BOOK, NEW, path, f"{BOOK}/export", f"{path}/export"):
        assert (await partnercrmd_client.get(route)).status == 403, route
    assert await asyncio.to_thread(store_of(partnercrmd_client).all_contacts) == before


async def test_books_that_are_no_local_book_have_no_contacts_pages(partnercrmd_client: Client) -> None:
    book_id = await configure_book(partnercrmd_client.app, "carddav", url="http://127.0.0.1:9/", name="Team")
    second = await configure_book(partnercrmd_client.app, "local", name="Second book")
    await log_in(partnercrmd_client)
    assert (await partnercrmd_client.get(f"/ui/contacts/{book_id}")).status == 404
    assert (await partnercrmd_client.get("/ui/contacts/no-such-book")).status == 404
    chooser = await page_text(partnercrmd_client, "/ui/contacts")  # two local books: choose one
    assert f'href="/ui/contacts/{second}"' in chooser and f'href="{BOOK}"' in chooser
    assert "Team" not in chooser
    integrations = await page_text(partnercrmd_client, "/ui/integrations")  # each local book's row links to them
    assert f'href="/ui/contacts/{second}" aria-label="Contacts of Second book"' in integrations
    assert f'href="/ui/contacts/{book_id}"' not in integrations


async def test_a_file_larger_than_a_form_imports_and_one_beyond_the_limit_is_refused(
    partnercrmd_client: Client,
) -> None:
    await log_in(partnercrmd_client)
    big = "".join(vcard(f"big-{n:04d}", f"Bulk Person {n:04d}", f"+44 161 496 {n:04d}") for n in range(1500))
    assert len(big) > 64 * 1024  # more than any other form of the pages may send
    imported = await upload(partnercrmd_client, big.encode(), "big.vcf")
    assert imported.status == 200
    assert "Imported big.vcf: 1500 added" in html_lib.unescape(await imported.text())
    before = await asyncio.to_thread(store_of(partnercrmd_client).count)
    too_big = vcard("huge", "Huge Person", "+44 161 496 9999").encode() + b"NOTE:" + b"x" * (20 * 1024 * 1024)
    refused = await upload(partnercrmd_client, too_big, "huge.vcf")
    assert refused.status == 413
    assert "larger than" in await refused.text()
    assert await asyncio.to_thread(store_of(partnercrmd_client).count) == before

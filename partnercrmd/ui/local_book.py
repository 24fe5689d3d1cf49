"""The Contacts pages: browse, search, add, edit and delete the contacts of a local address book,
import a vCard or CSV file into it and export it as vCard.

Every write goes through the book's own `LocalStore` in a worker thread (SQLite never runs on the loop), then
drops the book's cached search answers, so `Search` finds what the page just saved. A form that is refused
comes back with what was typed and the reason beside each field; nothing is stored until all of it is right.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from .. import appkeys, phone
from ..api.body import read_upload
from ..books import OpenBook
from ..errors import BadRequest, ConfigError, Forbidden, NotFound
from ..importers import read_contacts_bytes_with_warnings
from ..integration import ThreadedConnector
from ..local_book.addin import INTEGRATION_ID, LocalBook
from ..local_book.store import LocalStore
from ..local_book.vcard_export import VCARD_MIME, vcards
from ..model import Contact, Phone, PhoneKind
from ..search import SearchRequest
from .common import checked_form, page, render, secure, see_other, session_csrf

PAGE_SIZE = 25
"""Contacts per page when browsing or searching."""
MAX_IMPORT_BYTES = 20 * 1024 * 1024
"""The largest file the import form takes (a 20,000-contact vCard export with small photos)."""
MAX_ROWS = 20
"""Phone numbers, and e-mail addresses, one contact may have in the form."""
BLANK_ROWS = 2
"""Empty number and e-mail rows the form offers beyond those filled in (saving offers two more)."""
TEXT_LIMITS = {
    "display_name": 200,
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "job_title": 200,
    "address": 500,
    "url": 500,
    "notes": 4000,
}
"""The contact's text fields in the form, with the most characters each may have."""
NUMBER_LIMIT = 64
EMAIL_LIMIT = 254
MAX_WARNINGS = 10
"""Import warnings (skipped cards or rows) shown on the page; the rest are counted."""
KIND_LABELS = {
    PhoneKind.BUSINESS: "Work",
    PhoneKind.MOBILE: "Mobile",
    PhoneKind.HOME: "Home",
    PhoneKind.FAX: "Fax",
    PhoneKind.OTHER: "Other",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- which book ------------------------------------------------------------------------------------------


def local_books(request: web.Request) -> list[OpenBook]:
    """The configured local address books, in priority order."""
    return [b for b in request.app[appkeys.BOOKS].books() if b.config.type == INTEGRATION_ID]


def store_of(book: OpenBook) -> LocalStore:
    """The book's open store; NotFound when the book is no local one or not open (disabled, failed)."""
    connector = book.connector
    if isinstance(connector, ThreadedConnector) and isinstance(connector.blocking, LocalBook):
        return connector.blocking.store
    if book.config.type != INTEGRATION_ID:
        raise NotFound(f"'{book.name}' is not a local address book.", code="not_local")
    if not book.config.enabled:
        raise ConfigError(f"'{book.name}' is disabled: enable it on the Integrations page to see its contacts.")
    raise ConfigError(book.error or f"'{book.name}' could not be opened.", code="unavailable")


def _local_book(request: web.Request) -> tuple[OpenBook, LocalStore]:
    book = request.app[appkeys.BOOKS].get(request.match_info["book"][:128])
    return book, store_of(book)


async def _contact(request: web.Request, store: LocalStore) -> Contact:
    contact = await asyncio.to_thread(store.get, request.match_info["contact"][:128])
    if contact is None:
        raise NotFound("This contact no longer exists.", code="unknown_record")
    return contact


def _changed(request: web.Request, book: OpenBook) -> None:
    """After a write: searches must not answer from before it."""
    request.app[appkeys.SEARCH].cache.invalidate(book.id)


# --- the form --------------------------------------------------------------------------------------------


@dataclass
class ContactForm:
    """A contact as the add and edit forms show it, and what is wrong with it (by input id)."""

    text: dict[str, str] = field(default_factory=lambda: dict.fromkeys(TEXT_LIMITS, ""))
    phones: list[tuple[str, str]] = field(default_factory=list)
    """(kind, number) rows, blank ones included."""
    emails: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, contact: Contact) -> ContactForm:
        form = cls()
        form.text = {name: str(getattr(contact, name)) for name in TEXT_LIMITS}
        form.phones = [(str(p.kind), p.number) for p in contact.phones]
        form.emails = list(contact.emails)
        return form

    @classmethod
    def posted(cls, fields: MultiDictProxy[str]) -> ContactForm:
        """What the user typed (CRLF as LF, surrounding blanks trimmed); nothing dropped, however wrong."""
        form = cls()
        form.text = {name: str(fields.get(name, "")).replace("\r\n", "\n").strip() for name in TEXT_LIMITS}
        kinds = fields.getall("phone_kind", [])
        numbers = fields.getall("phone_number", [])
        form.phones = [(kinds[i] if i < len(kinds) else "", number.strip()) for i, number in enumerate(numbers)]
        form.emails = [email.strip() for email in fields.getall("email", [])]
        return form

    def check(self) -> None:
        """Fill `errors`: the reason beside each field that cannot be stored as typed."""
        for name, limit in TEXT_LIMITS.items():
            if len(self.text[name]) > limit:
                self.errors[name] = f"At most {limit} characters (this has {len(self.text[name])})."
        url = self.text["url"]
        if url and not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
            self.errors["url"] = "A web address starts with https:// (or http://), e.g. https://example.com."
        filled = [(i, kind, number) for i, (kind, number) in enumerate(self.phones) if number]
        if len(filled) > MAX_ROWS:
            self.errors["phone-0"] = f"A contact can have at most {MAX_ROWS} numbers."
        for i, kind, number in filled:
            if kind not in {str(k) for k in PhoneKind}:
                self.errors[f"phone-{i}"] = "Choose what the number is for."
            elif len(number) > NUMBER_LIMIT:
                self.errors[f"phone-{i}"] = f"At most {NUMBER_LIMIT} characters."
            elif not phone.phone_key(number, None).digits:
                self.errors[f"phone-{i}"] = "A phone number needs digits, e.g. +44 20 7946 0958."
        addresses = [(i, email) for i, email in enumerate(self.emails) if email]
        if len(addresses) > MAX_ROWS:
            self.errors["email-0"] = f"A contact can have at most {MAX_ROWS} e-mail addresses."
        for i, email in addresses:
            if len(email) > EMAIL_LIMIT or not _EMAIL.match(email):
                self.errors[f"email-{i}"] = "An e-mail address looks like name@example.com."
        names = ("display_name", "first_name", "last_name", "company")
        if not any(self.text[name] for name in names):
            self.errors["display_name"] = "Give a name, a first or last name, or a company."

    def contact(self, base: Contact | None = None) -> Contact:
        """The contact to store: `base` (the stored one: its id, photo and other fields stay) with the form's fields."""
        t = self.text
        return dataclasses.replace(
            base or Contact(),
            display_name=t["display_name"],
            first_name=t["first_name"],
            last_name=t["last_name"],
            company=t["company"],
            job_title=t["job_title"],
            address=t["address"],
            url=t["url"],
            notes=t["notes"],
            phones=[Phone(number, PhoneKind(kind)) for kind, number in self.phones if number],
            emails=[email for email in self.emails if email],
        )

    def rows(self, extra: int = BLANK_ROWS) -> dict[str, Any]:
        """What the template shows: the rows filled in plus `extra` blank ones, each with its error."""
        if self.errors:  # the rows as posted, blanks too: the errors are keyed to their positions
            phones, emails = list(self.phones), list(self.emails)
        else:
            phones = [(kind, number) for kind, number in self.phones if number]
            emails = [email for email in self.emails if email]
        for _ in range(max(0, min(extra, MAX_ROWS - len(phones)))):  # a first number is most often work's
            phones.append((str(PhoneKind.MOBILE if phones else PhoneKind.BUSINESS), ""))
        emails += [""] * max(0, min(extra, MAX_ROWS - len(emails)))
        return {
            "text": self.text,
            "phones": [
                {"id": f"phone-{i}", "kind": kind, "number": number, "error": self.errors.get(f"phone-{i}", "")}
                for i, (kind, number) in enumerate(phones)
            ],
            "emails": [
                {"id": f"email-{i}", "value": email, "error": self.errors.get(f"email-{i}", "")}
                for i, email in enumerate(emails)
            ],
            "errors": self.errors,
            "kinds": [(str(kind), label) for kind, label in KIND_LABELS.items()],
        }


async def _form_page(
    request: web.Request,
    book: OpenBook,
    form: ContactForm,
    *,
    contact: Contact | None = None,
    extra: int = BLANK_ROWS,
    status: int = 200,
    message: str = "",
) -> web.StreamResponse:
    context = {
        "book": book,
        "contact": contact,
        "form": form.rows(extra),
        "error": "Some fields need a change: see below." if form.errors else "",
        "message": message,
    }
    return render(request, "ui_contact_form.html", context, current="contacts", status=status)


# --- pages -----------------------------------------------------------------------------------------------


@page
async def contacts_home(request: web.Request) -> web.StreamResponse:
    """The navigation's Contacts: the one local book's contacts, or the list of local books to choose from."""
    books = local_books(request)
    if len(books) == 1:
        raise see_other(f"/ui/contacts/{books[0].id}")
    return render(request, "ui_contacts_books.html", {"books": books}, current="contacts")


def _page_number(query: Mapping[str, str]) -> int:
    try:
        return max(1, min(int(query.get("page", "1")), 100_000))
    except ValueError:
        return 1


@page
async def contacts_page(request: web.Request) -> web.StreamResponse:
    book, store = _local_book(request)
    return await _contacts_page(request, book, store)


async def _contacts_page(
    request: web.Request,
    book: OpenBook,
    store: LocalStore,
    *,
    message: str = "",
    error: str = "",
    warnings: Sequence[str] = (),
    status: int = 200,
) -> web.StreamResponse:
    query = request.query.get("q", "").strip()[:200]
    number = _page_number(request.query)
    offset = (number - 1) * PAGE_SIZE
    search_error = ""
    if query:
        # The book's own search, as `Search` runs it (numbers in any format, words of names and companies).
        engine = request.app[appkeys.SEARCH]
        (result,) = await engine.search(SearchRequest(query, count=PAGE_SIZE + 1, offset=offset), books=[book])
        contacts, search_error = result.contacts, result.error
        more = len(contacts) > PAGE_SIZE
        contacts = contacts[:PAGE_SIZE]
        total = None
    else:
        contacts, count = await asyncio.to_thread(store.page, offset, PAGE_SIZE)
        more = offset + PAGE_SIZE < count
        total = count
    pages = math.ceil(total / PAGE_SIZE) if total else None

    def link(to: int) -> str:
        return f"/ui/contacts/{book.id}?" + urlencode({k: v for k, v in (("q", query), ("page", str(to))) if v})

    context = {
        "book": book,
        "query": query,
        "contacts": contacts,
        "total": total,
        "page": number,
        "pages": pages,
        "previous": link(number - 1) if number > 1 else "",
        "next": link(number + 1) if more else "",
        "kind_labels": {str(k): v for k, v in KIND_LABELS.items()},
        "message": message or _notice(request.query),
        "error": error or search_error,
        "warnings": warnings[:MAX_WARNINGS],
        "more_warnings": max(0, len(warnings) - MAX_WARNINGS),
        "max_import_mib": MAX_IMPORT_BYTES // (1024 * 1024),
    }
    return render(request, "ui_contacts.html", context, current="contacts", status=status)


def _notice(query: Mapping[str, str]) -> str:
    notices = {
        "added": "The contact was added.",
        "saved": "Saved.",
        "deleted": "The contact was deleted.",
    }
    return next((text for key, text in notices.items() if key in query), "")


@page
async def new_contact_form(request: web.Request) -> web.StreamResponse:
    book, _ = _local_book(request)
    return await _form_page(request, book, ContactForm())


@page
async def new_contact_submit(request: web.Request) -> web.StreamResponse:
    fields = await checked_form(request)
    book, store = _local_book(request)
    form = ContactForm.posted(fields)
    form.check()
    if form.errors:
        return await _form_page(request, book, form, status=400, extra=0)
    await asyncio.to_thread(store.add, form.contact())
    _changed(request, book)
    raise see_other(f"/ui/contacts/{book.id}?added=1")


@page
async def edit_contact_form(request: web.Request) -> web.StreamResponse:
    book, store = _local_book(request)
    contact = await _contact(request, store)
    message = "Saved." if "saved" in request.query else ""
    return await _form_page(request, book, ContactForm.of(contact), contact=contact, message=message)


@page
async def edit_contact_submit(request: web.Request) -> web.StreamResponse:
    fields = await checked_form(request)
    book, store = _local_book(request)
    stored = await _contact(request, store)
    form = ContactForm.posted(fields)
    form.check()
    if form.errors:
        return await _form_page(request, book, form, contact=stored, status=400, extra=0)
    saved = await asyncio.to_thread(store.replace, form.contact(stored))
    if saved is None:
        raise NotFound("This contact no longer exists.", code="unknown_record")
    _changed(request, book)
    raise see_other(f"/ui/contacts/{book.id}/contact/{saved.id}?saved=1")


@page
async def delete_contact_confirm(request: web.Request) -> web.StreamResponse:
    book, store = _local_book(request)
    contact = await _contact(request, store)
    return render(request, "ui_contact_delete.html", {"book": book, "contact": contact}, current="contacts")


@page
async def delete_contact_submit(request: web.Request) -> web.StreamResponse:
    fields = await checked_form(request)
    book, store = _local_book(request)
    contact = await _contact(request, store)
    if fields.get("confirm") != "1":
        context = {"book": book, "contact": contact, "error": "Tick the box to confirm the deletion."}
        return render(request, "ui_contact_delete.html", context, current="contacts", status=400)
    await asyncio.to_thread(store.delete, contact.id)
    _changed(request, book)
    raise see_other(f"/ui/contacts/{book.id}?deleted=1")


@page
async def import_submit(request: web.Request) -> web.StreamResponse:
    expected = session_csrf(request)  # Forbidden without a session, before the upload is read
    book, store = _local_book(request)
    try:
        fields, upload = await read_upload(request, "file", MAX_IMPORT_BYTES)
    except BadRequest as exc:
        return await _contacts_page(request, book, store, error=exc.message, status=exc.status)
    if not hmac.compare_digest(str(fields.get("csrf", "")), expected):
        raise Forbidden("This form has expired; reload the page and try again.", code="bad_csrf")
    name = upload.filename or "the file"
    try:
        contacts, warnings = await asyncio.to_thread(read_contacts_bytes_with_warnings, upload.data, name)
    except BadRequest as exc:
        return await _contacts_page(request, book, store, error=f"Nothing was imported: {exc.message}", status=400)
    if not contacts:
        error = f"Nothing was imported: {name} holds no contact this book can read."
        return await _contacts_page(request, book, store, error=error, warnings=warnings, status=400)
    report = await asyncio.to_thread(store.import_contacts, contacts)  # one transaction: all of it or nothing
    _changed(request, book)
    message = (
        f"Imported {name}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged"
        + (f", {report.skipped_duplicates} skipped as duplicates" if report.skipped_duplicates else "")
        + "."
    )
    return await _contacts_page(request, book, store, message=message, warnings=warnings)


def _vcard_download(text: str, filename: str) -> web.StreamResponse:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "contacts"
    response = web.Response(
        body=text.encode("utf-8"),
        content_type=VCARD_MIME,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}.vcf"'},
    )
    return secure(response)


@page
async def export_book(request: web.Request) -> web.StreamResponse:
    session_csrf(request)  # a download carries no form token: the page session is what is checked
    book, store = _local_book(request)
    contacts = await asyncio.to_thread(store.all_contacts)
    return _vcard_download(await asyncio.to_thread(vcards, contacts), book.name)


@page
async def export_contact(request: web.Request) -> web.StreamResponse:
    session_csrf(request)
    _, store = _local_book(request)
    contact = await _contact(request, store)
    return _vcard_download(vcards([contact]), contact.name)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui/contacts", contacts_home)
    app.router.add_get("/ui/contacts/{book}", contacts_page)
    app.router.add_get("/ui/contacts/{book}/new", new_contact_form)
    app.router.add_post("/ui/contacts/{book}/new", new_contact_submit)
    app.router.add_post("/ui/contacts/{book}/import", import_submit)
    app.router.add_get("/ui/contacts/{book}/export", export_book)
    app.router.add_get("/ui/contacts/{book}/contact/{contact}", edit_contact_form)
    app.router.add_post("/ui/contacts/{book}/contact/{contact}", edit_contact_submit)
    app.router.add_get("/ui/contacts/{book}/contact/{contact}/delete", delete_contact_confirm)
    app.router.add_post("/ui/contacts/{book}/contact/{contact}/delete", delete_contact_submit)
    app.router.add_get("/ui/contacts/{book}/contact/{contact}/export", export_contact)

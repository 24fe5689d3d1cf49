"""Test connection: reach, sign-in, the address book, searching, writing; each with what to do when it fails.

Checks run in order and stop at the first failure whose fix the later ones
depend on (no point searching a server that cannot be reached).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from partnercrmd.sdk import AddinError, CheckResult, SettingsCheck, display_address

from . import dav_xml
from .addressbook import NAME_PROPERTIES, AddressBook
from .client import DavClient, display_url, failure
from .discovery import find_addressbook
from .journal_calendar import JournalCalendar, refuses_journals
from .settings import CardDavSettings, parse_settings
from .sync import IndexSync


class CheckedBook(Protocol):
    """What the checks use of a book: the connector passes itself (checks never import it: no import circle)."""

    settings: CardDavSettings
    client: DavClient
    sync: IndexSync
    calendar: JournalCalendar | None

    @property
    def journal(self) -> bool: ...

    async def addressbook(self) -> AddressBook: ...


INDEX_WAIT = 60.0


def _failed(check: str, exc: AddinError, fix: str = "") -> CheckResult:
    return CheckResult(check, False, f"{exc.message} {fix}".strip(), exc.code)


async def _reach(book: CheckedBook) -> CheckResult:
    url = book.settings.url
    try:
        reply = await book.client.request("OPTIONS", url)
    except AddinError as exc:
        if exc.code == "invalid_auth":
            return CheckResult("reach", True, f"The server {display_address(url)} answers.")
        return _failed("reach", exc)
    return CheckResult("reach", True, f"The server {display_address(url)} answers (HTTP {reply.status}).")


async def _authenticate(book: CheckedBook) -> CheckResult:
    url = book.settings.url
    try:
        body = dav_xml.propfind((dav_xml.CURRENT_USER_PRINCIPAL,))
        reply = await book.client.request("PROPFIND", url, body=body, depth="0")
    except AddinError as exc:
        return _failed("authenticate", exc)
    if reply.status == 403:
        return _failed(
            "authenticate", failure(reply, "reading"), "Check the user name, or give the address book's own address."
        )
    if not book.settings.username:
        return CheckResult("authenticate", True, "The server lets this address book be read without signing in.")
    return CheckResult("authenticate", True, f"Signed in as {book.settings.username!r}.")


async def _addressbook(book: CheckedBook) -> tuple[CheckResult, AddressBook | None]:
    try:
        found = await book.addressbook()
    except AddinError as exc:
        return _failed("addressbook", exc), None
    message = f"Using the address book {found.name!r} at {display_url(found.url)}."
    return CheckResult("addressbook", True, message), found


async def _search(book: CheckedBook, found: AddressBook) -> CheckResult:
    try:
        await book.sync.wait(book.sync.start(), INDEX_WAIT)
        await found.query(NAME_PROPERTIES, [uuid.uuid4().hex])  # a sample name search, matching no one
    except AddinError as exc:
        return _failed("search", exc)
    if not book.sync.filled:
        return CheckResult(
            "search", False, f"Listing the address book took over {INDEX_WAIT:g} s; try again later.", "timeout"
        )
    contacts, numbers = await book.sync.counts()
    return CheckResult(
        "search", True, f"{contacts} contacts with {numbers} phone numbers indexed; searching by name works."
    )


async def _write_notes(found: AddressBook) -> CheckResult:
    try:
        privileges = await found.privileges()
    except AddinError as exc:
        return _failed("write", exc)
    if privileges is None:
        return CheckResult(
            "write", True, "The server does not say whether this user may change contacts; logging a call will tell."
        )
    if not privileges & dav_xml.WRITE_PRIVILEGES:
        return CheckResult(
            "write",
            False,
            "This user may only read the address book, so calls cannot be noted on contacts and contacts cannot be "
            "created: give the user write access on the server, or log calls as 'journal' in a calendar.",
            "invalid_auth",
        )
    return CheckResult("write", True, "This user may change contacts: calls are logged in their notes.")


async def _write_journal(calendar: JournalCalendar) -> CheckResult:
    where = display_url(calendar.url)
    try:
        info = await calendar.info()
    except AddinError as exc:
        fix = "Create a calendar for journal entries (tasks and journals) on the server, or correct 'calendar_url'."
        return _failed("write", exc, fix if exc.code == "not_found" else "")
    if not info.is_calendar:
        return CheckResult(
            "write", False, f"{where} is not a calendar: correct the setting 'calendar_url'.", "not_found"
        )
    if not info.takes_journals:
        return _failed("write", refuses_journals(calendar.url))
    if info.privileges is not None and not info.privileges & dav_xml.WRITE_PRIVILEGES:
        return CheckResult(
            "write", False, f"This user may only read the calendar {where}: give the user write access.", "invalid_auth"
        )
    return CheckResult("write", True, f"Calls are logged as journal entries in {where}.")


def _web_page(book: CheckedBook) -> CheckResult:
    template = book.settings.web_url_template
    example = template.replace("{uid}", "0b5e7f3c-example").replace("{id}", "0b5e7f3c-example.vcf")
    return CheckResult("web_page", True, f"Open shows contacts at addresses such as {example}.")


async def run_checks(book: CheckedBook) -> list[CheckResult]:
    results = [await _reach(book)]
    if not results[-1].ok:
        return results
    results.append(await _authenticate(book))
    if not results[-1].ok:
        return results
    result, found = await _addressbook(book)
    results.append(result)
    if found is None:
        return results
    results.append(await _search(book, found))
    if book.journal and book.calendar is not None:
        results.append(await _write_journal(book.calendar))
    else:
        results.append(await _write_notes(found))
    if book.settings.web_url_template:
        results.append(_web_page(book))
    return results


async def check_settings(settings: Mapping[str, Any], connect: bool, *, user_agent: str) -> SettingsCheck:
    """Before a book's settings are saved: every rule `parse_settings` applies (ConfigError names the setting),
    and with `connect` the server reached, the user signed in and the address book found (AddinError otherwise)."""
    parsed = parse_settings(settings)
    if not connect:
        return SettingsCheck()
    client = DavClient(parsed.username, parsed.password, parsed.ssl_context(), user_agent)
    try:
        body = dav_xml.propfind((dav_xml.CURRENT_USER_PRINCIPAL,))
        reply = await client.request("PROPFIND", parsed.url, body=body, depth="0")
        if reply.status == 403:
            raise failure(reply, "reading")
        await find_addressbook(client, parsed.url, parsed.addressbook)
    finally:
        await client.close()
    return SettingsCheck()

""" "Test connection" (`partnercrmd books test`): reach, sign in, the table, searching, and write permission.

Writes are checked for real but never kept: the test row is inserted inside a transaction
that is rolled back, so a missing permission, column or constraint shows up without a trace
left in the user's database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from partnercrmd.sdk import (
    Activity,
    AddinError,
    CallDirection,
    CheckResult,
    Contact,
    PartnerError,
    Phone,
    PhoneKind,
    SearchQuery,
    SettingsCheck,
)

from .client import ConnectionPool, Driver, Params, ResultRow
from .settings import SqlSettings, parse_settings
from .sqltext import Statement
from .statements import ActivityStatements, ContactStatements


class CheckedBook(Protocol):
    """What the checks use of a book: the connector passes itself (checks never import it: no import circle)."""

    settings: SqlSettings
    driver: Driver
    pool: ConnectionPool
    contacts: ContactStatements | None
    calls: ActivityStatements | None

    def fetch(self, statement: Statement, params: Params, limit: int) -> list[ResultRow]: ...
    def search(self, query: SearchQuery) -> Sequence[Contact]: ...
    def record_url(self, contact_id: str, edit: bool) -> str | None: ...
    def activity_statement(self) -> Statement: ...
    def activity_params(self, contact_id: str, activity: Activity) -> dict[str, object]: ...
    def contact_params(self, contact: Contact) -> dict[str, object]: ...
    def insert_statement(self, params: Params) -> Statement: ...


SAMPLE_NUMBER = "+12127365000"
SAMPLE_NAME = "a"


def _step(check: str, work: Callable[[], str]) -> CheckResult:
    """Run one check: its success message, or the failure's message and key."""
    try:
        return CheckResult(check, True, work())
    except PartnerError as exc:
        return CheckResult(check, False, exc.message, exc.code)


def _reach(book: CheckedBook) -> list[CheckResult]:
    where = book.driver.where()
    where = where[:1].upper() + where[1:]
    try:
        book.pool.run(lambda database: database.ping())
    except AddinError as exc:
        if exc.code != "invalid_auth":
            return [CheckResult("reach", False, exc.message, exc.code)]
        return [
            CheckResult("reach", True, f"{where} can be reached."),
            CheckResult("authenticate", False, exc.message, exc.code),
        ]
    login = book.driver.login()
    signed_in = f"Signed in as {login}." if login else "Signed in."
    if book.settings.path is not None:
        signed_in = "SQLite files have no login; the file's permissions decide who may read and write it."
    return [CheckResult("reach", True, f"{where} can be reached."), CheckResult("authenticate", True, signed_in)]


def _table(book: CheckedBook) -> str:
    assert book.contacts is not None
    book.fetch(book.contacts.probe(), {}, 1)
    columns = ", ".join(book.settings.columns.selected(True))
    return f"The table {book.settings.table} has every mapped column ({columns})."


def _search(book: CheckedBook) -> str:
    done = []
    if "search_number_query" in book.settings.queries or book.settings.columns.phones:
        book.search(SearchQuery(SAMPLE_NUMBER, limit=1, number=SAMPLE_NUMBER))
        done.append("by number")
    if "search_name_query" in book.settings.queries or book.settings.columns.text_columns():
        found = book.search(SearchQuery(SAMPLE_NAME, limit=5))
        done.append(f"by name ({len(found)} of the first 5 contacts with '{SAMPLE_NAME}' in their name)")
    if not done:
        raise AddinError("Nothing to search in: map phone and name columns, or give your own queries.", code="unknown")
    return f"Searching works {' and '.join(done)}."


def _sample_contact_id(book: CheckedBook) -> str:
    """An existing contact's id, so a call log with a foreign key accepts the test row."""
    if book.contacts is not None:
        rows = book.fetch(book.contacts.first_id(), {}, 1)
        if rows:
            return str(next(iter(rows[0].values())))
    found = book.search(SearchQuery(SAMPLE_NAME, limit=1)) if book.settings.columns.text_columns() else []
    return found[0].id if found else "0"


def _log_activity(book: CheckedBook) -> str:
    statement = book.activity_statement()
    activity = Activity("partnercrmd connection test", "", CallDirection.INBOUND, datetime.now(UTC))
    params = book.activity_params(_sample_contact_id(book), activity)
    book.pool.run(lambda database: database.write_and_roll_back(statement, params), write=True)
    target = f"the table {book.settings.activity_table}" if book.calls else "'insert_activity_query'"
    return f"Calls can be logged with {target} (checked with a test row that was rolled back)."


def _create_contact(book: CheckedBook) -> str:
    sample = Contact(
        first_name="partnercrmd",
        last_name="connection test",
        company="partnercrmd",
        phones=[Phone("+44 20 7946 0000", PhoneKind.BUSINESS)],
        emails=["connection.test@example.invalid"],
    )
    params = book.contact_params(sample)
    statement = book.insert_statement(params)
    book.pool.run(lambda database: database.write_and_roll_back(statement, params), write=True)
    return "Contacts can be created (checked with a test row that was rolled back)."


def run_checks(book: CheckedBook) -> list[CheckResult]:
    """Every check that applies to this book's settings; after a failure to reach or sign in, nothing more."""
    results = _reach(book)
    if not all(result.ok for result in results):
        return results
    if book.contacts is not None:
        results.append(_step("table", lambda: _table(book)))
    results.append(_step("search", lambda: _search(book)))
    if book.settings.logs_calls:
        results.append(_step("log_activity", lambda: _log_activity(book)))
    if book.settings.creates_contacts:
        results.append(_step("create_contact", lambda: _create_contact(book)))
    if book.settings.url_template:
        example = book.record_url("42", edit=False)
        results.append(CheckResult("url_template", True, f"Contacts open at addresses such as {example}."))
    return results


def check_settings(
    settings: Mapping[str, Any], connect: bool, *, make_driver: Callable[[SqlSettings], Driver]
) -> SettingsCheck:
    """Before a book's settings are saved: every rule `parse_settings` applies (ConfigError names the setting),
    and with `connect` a connection made and signed in (the database answers a ping); AddinError when it fails."""
    parsed = parse_settings(settings)
    if connect:
        pool = ConnectionPool(make_driver(parsed), size=1)
        try:
            pool.run(lambda database: database.ping())
        finally:
            pool.close()
    return SettingsCheck()

"""One configured SQL address book: searches, reads and writes through a small pool of connections.

A `BlockingConnector`: sqlite3, psycopg and PyMySQL are synchronous, so the host runs every method
in the book's own worker threads, several at once; each call borrows a connection of the pool.

Number matching happens in SQL: the database reduces each phone column to its digits
(`digits()` in SQLite, `regexp_replace` in PostgreSQL, MariaDB and MySQL) and looks for the last seven digits
of the caller's number in them, so "+44 (0)20 7946-0958", "020 7946 0958" and
"442079460958" all come back for any way of typing the number. The candidates are then
checked with `partnercrmd.phone.numbers_match` before they are returned (the host checks
again). No local copy of the numbers is kept: the database answers itself, always current.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from partnercrmd.sdk import (
    Activity,
    AddinError,
    BlockingConnector,
    Capability,
    CheckResult,
    Contact,
    ContactPatch,
    PhoneKey,
    SearchQuery,
    Unsupported,
    index_tail,
    numbers_match,
    phone_key,
)

from .checks import run_checks
from .client import ConnectionPool, Driver, Params, ResultRow
from .mapping import contact_values, row_to_activity, row_to_contact
from .settings import ID_PLACEHOLDER, NEW_ID_UUID, SqlSettings
from .sqltext import Statement, like_escape
from .statements import MAX_WORDS, ActivityStatements, ContactStatements

CANDIDATES = 200
"""Rows a number search reads at most; the numbers that do not really match are dropped afterwards."""


class SqlBook(BlockingConnector):
    def __init__(self, settings: SqlSettings, driver: Driver, region: str | None, returning: bool) -> None:
        self.settings = settings
        self.driver = driver
        self.region = region
        self.pool = ConnectionPool(driver)
        self.contacts = (
            ContactStatements(settings.table, settings.columns, driver, returning) if settings.table else None
        )
        self.calls = (
            ActivityStatements(settings.activity_table, settings.activity, driver, returning)
            if settings.activity_table
            else None
        )

    def capabilities(self) -> frozenset[Capability] | None:
        """Without a call-log table (or query) the book cannot log or show calls; likewise for contacts."""
        queries = self.settings.queries
        missing: set[Capability] = set()
        if self.calls is None:
            missing.add(Capability.SHOW_ACTIVITIES)
            if "insert_activity_query" not in queries:
                missing.add(Capability.LOG_ACTIVITY)
        if self.contacts is None:
            missing.add(Capability.UPDATE_CONTACT)
            if "insert_contact_query" not in queries:
                missing.add(Capability.CREATE_CONTACT)
        return frozenset(Capability) - missing

    # --- helpers ----------------------------------------------------------------------------------------

    def fetch(self, statement: Statement, params: Params, limit: int) -> list[ResultRow]:
        return self.pool.run(lambda database: database.fetch(statement, params, limit))

    def write(self, statement: Statement, params: Params) -> str | None:
        return self.pool.run(lambda database: database.write(statement, params), write=True)

    def _contacts(self, rows: Sequence[ResultRow], include_picture: bool) -> list[Contact]:
        contacts = [row_to_contact(row, self.settings.columns, include_picture) for row in rows]
        missing = [c for c in contacts if not c.id]
        if missing:
            raise AddinError(
                f"A contact read from the database has no value in the id column '{self.settings.columns.id}'; "
                "check the setting 'id_column' (and the column names your queries return).",
                code="invalid_data",
            )
        return contacts

    def _has_number(self, contact: Contact, wanted: PhoneKey) -> bool:
        return any(numbers_match(wanted, phone_key(p.number, self.region)) for p in contact.phones)

    def _get_statement(self) -> Statement | None:
        return self.settings.queries.get("get_query") or (self.contacts.get(True) if self.contacts else None)

    # --- reading ----------------------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        if query.number:
            return self.search_number(query)
        return self.search_name(query)

    def number_params(self, query: SearchQuery) -> dict[str, object]:
        """The parameters of a number search (also those a user's own query may use)."""
        wanted = phone_key(query.text, self.region)
        tail = index_tail(query.number or query.text, self.region)
        return {
            "number": query.number,
            "digits": wanted.digits,
            "national": wanted.national or wanted.digits,
            "tail": tail,
            "pattern": f"%{tail}%",
            "reversed_pattern": f"{tail[::-1]}%",
            "limit": CANDIDATES,
        }

    def search_number(self, query: SearchQuery) -> list[Contact]:
        statement = self.settings.queries.get("search_number_query") or (
            self.contacts.number_search(query.include_pictures) if self.contacts else None
        )
        if statement is None:
            raise Unsupported("This book cannot search by number: set 'phone_columns' or 'search_number_query'.")
        rows = self.fetch(statement, self.number_params(query), CANDIDATES)
        wanted = phone_key(query.text, self.region)
        found = [c for c in self._contacts(rows, query.include_pictures) if self._has_number(c, wanted)]
        return found[: query.limit]

    def search_name(self, query: SearchQuery) -> list[Contact]:
        text = query.text.strip()
        if not text:
            return []
        own = self.settings.queries.get("search_name_query")
        if own is not None:
            params: dict[str, object] = {"text": text, "pattern": f"%{like_escape(text)}%", "limit": query.limit}
            return self._contacts(self.fetch(own, params, query.limit), query.include_pictures)[: query.limit]
        words = [self.driver.fold(word) for word in text.split()][:MAX_WORDS]
        statement = self.contacts.name_search(len(words), query.include_pictures) if self.contacts else None
        if statement is None:
            raise Unsupported("This book cannot search by name: map a name, company or email column.")
        params = {f"w{index}": f"%{like_escape(word)}%" for index, word in enumerate(words)}
        params["limit"] = query.limit
        return self._contacts(self.fetch(statement, params, query.limit), query.include_pictures)

    def get(self, contact_id: str) -> Contact | None:
        statement = self._get_statement()
        if statement is None:
            raise Unsupported("This book cannot read single contacts: set 'table' or 'get_query'.")
        rows = self.fetch(statement, {"id": contact_id}, 1)
        return self._contacts(rows, True)[0] if rows else None

    def record_url(self, contact_id: str, edit: bool) -> str | None:
        """The url template (the edit one in edit mode, when set); None for partnercrmd's own record page."""
        template = (self.settings.edit_url_template if edit else "") or self.settings.url_template
        if not template:
            return None
        return template.replace(ID_PLACEHOLDER, quote(contact_id, safe=""))

    def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        """The contact's latest logged calls; none when the book has no call log table."""
        if self.calls is None:
            return []
        rows = self.fetch(self.calls.recent(), {"contact_id": contact_id, "limit": limit}, limit)
        return [row_to_activity(row, self.settings.activity) for row in rows]

    # --- writing ----------------------------------------------------------------------------------------

    def _require_contact(self, contact_id: str) -> None:
        if self._get_statement() is not None and self.get(contact_id) is None:
            raise AddinError(f"The contact {contact_id[:80]} is no longer in the database.", code="not_found")

    def activity_params(self, contact_id: str, activity: Activity) -> dict[str, object]:
        return {
            "contact_id": contact_id,
            "subject": activity.subject,
            "body": activity.body,
            "direction": str(activity.direction),
            "start_utc": activity.start_utc,
            "duration_seconds": activity.duration_seconds,
        }

    def activity_statement(self) -> Statement:
        statement = self.settings.queries.get("insert_activity_query") or (self.calls.insert() if self.calls else None)
        if statement is None:
            raise Unsupported("This book does not log calls: set 'activity_table' or 'insert_activity_query'.")
        return statement

    def log_activity(self, contact_id: str, activity: Activity) -> str:
        statement = self.activity_statement()
        self._require_contact(contact_id)
        return self.write(statement, self.activity_params(contact_id, activity)) or ""

    def contact_params(self, contact: Contact) -> dict[str, object]:
        params = contact_values(contact)
        params["id"] = str(uuid.uuid4()) if self.settings.new_id == NEW_ID_UUID else None
        return params

    def contact_pairs(self, params: Params) -> list[tuple[str, str]]:
        """(column, parameter) for every parameter with a value that has a column in the table."""
        columns = self.settings.columns
        first_phone = columns.phones[0].name if columns.phones else ""
        targets = {
            "id": columns.id,
            "first_name": columns.first_name,
            "last_name": columns.last_name,
            "display_name": columns.display_name,
            "company": columns.company,
            "email": columns.email,
            "phone": first_phone,
            "notes": columns.notes,
        }
        pairs = [(column, key) for key, column in targets.items() if column and params.get(key) is not None]
        return list({column: (column, key) for column, key in pairs}.values())

    def insert_statement(self, params: Params) -> Statement:
        own = self.settings.queries.get("insert_contact_query")
        if own is not None:
            return own
        if self.contacts is None:
            raise Unsupported("This book cannot create contacts: set 'table' or 'insert_contact_query'.")
        pairs = self.contact_pairs(params)
        if not [key for _, key in pairs if key != "id"]:
            raise AddinError("None of the contact's fields has a column in the table; check the column settings.")
        return self.contacts.insert(pairs)

    def create(self, contact: Contact) -> Contact:
        params = self.contact_params(contact)
        new_id = self.write(self.insert_statement(params), params) or params["id"]
        if not new_id:
            raise AddinError(
                "The contact was saved, but the database did not say its id: end 'insert_contact_query' with "
                "RETURNING and the id column.",
                code="invalid_data",
            )
        stored = self.get(str(new_id)) if self._get_statement() is not None else None
        if stored is not None:
            return stored
        contact.id = str(new_id)
        return contact

    def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        if self.contacts is None:
            raise Unsupported("This book cannot change contacts: set 'table'.")
        self._require_contact(contact_id)
        texts = {
            "first_name": patch.first_name,
            "last_name": patch.last_name,
            "display_name": patch.display_name,
            "company": patch.company,
            "email": patch.email,
            "phone": patch.phone,
            "notes": patch.notes,
        }
        params: dict[str, object] = {key: value.strip() for key, value in texts.items() if value is not None}
        pairs = [(column, key) for column, key in self.contact_pairs(params) if key != "id"]
        if not pairs:
            raise AddinError("None of the changed fields has a column in the table; check the column settings.")
        params = {key: (params[key] or None) for _, key in pairs}
        params["id"] = contact_id
        self.write(self.contacts.update(pairs), params)
        stored = self.get(contact_id)
        if stored is None:
            raise AddinError(f"The contact {contact_id[:80]} is no longer in the database.", code="not_found")
        return stored

    # --- the rest ---------------------------------------------------------------------------------------

    def test(self) -> Sequence[CheckResult]:
        return run_checks(self)

    def diagnostics(self) -> Mapping[str, Any]:
        """The database (where, server version) and the book's shape; no index: the database answers each search."""
        found: dict[str, Any] = {
            "driver": self.settings.driver,
            "database": self.driver.where(),
            "mapped_table": str(self.settings.table) if self.settings.table else None,
            "call_log_table": str(self.settings.activity_table) if self.settings.activity_table else None,
            "own_queries": sorted(self.settings.queries),
            "index": {"kind": "none", "why": "the database is searched directly; no local copy is kept"},
        }
        try:
            rows = self.fetch(Statement(self.driver.version_sql, "the diagnostics"), {}, 1)
            found["server_version"] = str(next(iter(rows[0].values()))) if rows else None
        except AddinError as exc:
            found["server_version"] = None
            found["server_error"] = exc.message
        return found

    def close(self) -> None:
        self.pool.close()

""" "Test connection" for a Tryton book: reach, sign in, search a sample, write permission, local index.

Each check says in plain words what works or what to change, with a stable error key. Reaching the
server and signing in come first: when either fails, the later checks are not run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from partnercrmd.sdk import AddinError, CheckResult, Contact, SearchQuery, SettingsCheck, number_query

from .client import Credentials, TrytonClient
from .index import PartyIndex
from .mapping import PARTY_FIELDS, PHONE_TYPES, party_to_contact
from .settings import TrytonSettings, parse_settings


class CheckedBook(Protocol):
    """What the checks use of a book: the connector passes itself (checks never import it: no import circle)."""

    settings: TrytonSettings
    client: TrytonClient
    index: PartyIndex | None
    region: str | None

    async def read_parties(
        self, domain: list[Any], limit: int, fields: Sequence[str] = PARTY_FIELDS
    ) -> list[dict[str, Any]]: ...

    async def search(self, query: SearchQuery) -> Sequence[Contact]: ...


def failed(check: str, exc: AddinError) -> CheckResult:
    return CheckResult(check, False, exc.message, exc.code)


async def check_reach(book: CheckedBook) -> CheckResult:
    try:
        version = await book.client.server_version()
    except AddinError as exc:
        return failed("reach", exc)
    return CheckResult("reach", True, f"Tryton {version} answers at {book.client.shown_url}.")


async def check_sign_in(book: CheckedBook) -> CheckResult:
    settings = book.settings
    try:
        await book.client.login()
    except AddinError as exc:
        return failed("authenticate", exc)
    return CheckResult("authenticate", True, f"Signed in to database '{settings.database}' as '{settings.username}'.")


async def check_search(book: CheckedBook) -> CheckResult:
    """Read a party with a phone number, then find it again by that number as a ringing call would."""
    try:
        rows = await book.read_parties([("contact_mechanisms.type", "in", sorted(PHONE_TYPES))], 1)
        sample = party_to_contact(rows[0]) if rows else None
        if sample is None or not sample.phones:
            any_party = await book.read_parties([], 1, ["id"])
            message = "No party has a phone number yet" if any_party else "The database has no parties yet"
            return CheckResult("search", True, f"{message}: searches work but find no one.")
        number = sample.phones[0].number
        found = await book.search(number_query(number, book.region))
    except AddinError as exc:
        return failed("search", exc)
    if any(contact.id == sample.id for contact in found):
        return CheckResult("search", True, f"A search for {number} finds {sample.name}.")
    return CheckResult(
        "search",
        False,
        f"A search for {number} does not find {sample.name}, who has that number: "
        "check that the user may read contact mechanisms.",
        "invalid_data",
    )


async def check_write(book: CheckedBook) -> CheckResult:
    """Whether the user may add notes to parties (call logging), from Tryton's access rights, without writing."""
    user = book.settings.username
    try:
        access = await book.client.call("model.ir.model.access.get_access", ["ir.note", "party.party"])
    except AddinError as exc:
        return failed("write", exc)
    note = access.get("ir.note", {}) if isinstance(access, dict) else {}
    party = access.get("party.party", {}) if isinstance(access, dict) else {}
    if isinstance(note, dict) and isinstance(party, dict) and note.get("create") and party.get("write"):
        return CheckResult("write", True, f"'{user}' may add notes to parties, so calls can be logged.")
    return CheckResult(
        "write",
        False,
        f"'{user}' may not add notes to parties in Tryton: give the user create access to notes and write access "
        "to parties (Administration > Models > Access), or switch off the setting 'log_calls'.",
        "invalid_auth",
    )


async def check_index(book: CheckedBook) -> CheckResult:
    assert book.index is not None
    try:
        counts = await book.index.refresh(book.client)
    except AddinError as exc:
        return failed("index", exc)
    return CheckResult(
        "index",
        True,
        f"The local number index holds {counts.numbers} phone numbers, and the name index {counts.parties} parties.",
    )


async def run_checks(book: CheckedBook) -> list[CheckResult]:
    results = [await check_reach(book)]
    if results[-1].ok:
        results.append(await check_sign_in(book))
    if not results[-1].ok:
        return results
    results.append(await check_search(book))
    if book.settings.log_calls:
        results.append(await check_write(book))
    if book.index is not None:
        results.append(await check_index(book))
    return results


async def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """Before a book's settings are saved: every rule `parse_settings` applies (ConfigError names the setting),
    and with `connect` the server reached and the user signed in to the database (AddinError otherwise)."""
    parsed = parse_settings(settings)
    if connect:
        client = TrytonClient(Credentials(parsed.url, parsed.database, parsed.username, parsed.password))
        try:
            await client.login()
        finally:
            await client.close()
    return SettingsCheck()

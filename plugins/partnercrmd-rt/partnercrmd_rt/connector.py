"""One configured Request Tracker address book: its users found by number and name, popped, called, created."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Coroutine, Mapping, Sequence
from typing import Any, TypeVar, cast

from partnercrmd.sdk import (
    Activity,
    AddinError,
    BookContext,
    Capability,
    CheckResult,
    Connector,
    Contact,
    NameIndex,
    PhoneEntries,
    PhoneKey,
    SearchQuery,
    Unsupported,
    fold,
    holds_every_word,
    numbers_match,
    phone_key,
    query_words,
    remove_other_index_files,
)

from .checks import run_checks
from .client import RtClient
from .index import index_path, open_number_index
from .mapping import (
    comment_body,
    contact_from_user,
    new_user_body,
    ticket_body,
    user_id_of,
    user_numbers,
    user_text,
)
from .settings import BookSettings, LogCalls

T = TypeVar("T")

NAME_FIELDS = ("RealName", "Name", "EmailAddress")
"""The user fields a name search asks RT about (each is searchable by a token's user: REST2's Users.pm)."""
NAME_CANDIDATES = 100
"""Users asked for per field in a name search (one REST2 page); every word is then checked here."""
NAME_READS = len(NAME_FIELDS)
"""At most this many users the name index finds are read by id (a request each, as a search in RT takes one per
name field); when it finds more, RT is searched."""
RECENT_USERS = 50
"""Users most recently changed in RT, read when the index finds no one: new users and changed numbers."""
LOGGED_TYPES = {"Comment", "Create"}
RT_INTERNAL_USERS = {"RT_System", "Nobody"}
"""Users every RT has for its own bookkeeping: never a caller."""


def has_number(contact: Contact, wanted: PhoneKey, region: str | None) -> bool:
    return any(numbers_match(wanted, phone_key(p.number, region)) for p in contact.phones)


async def gather_all(calls: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run the calls at once; every one is awaited to its end, then the first failure is raised."""
    answers = await asyncio.gather(*calls, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return cast(list[T], answers)


class RtBook(Connector):
    def __init__(self, context: BookContext) -> None:
        self.settings = BookSettings.from_mapping(context.settings)
        self.region = context.default_region
        self.client = RtClient(self.settings.url, self.settings.token, timeout=float(self.settings.timeout_seconds))
        path = index_path(context.data_dir, self.settings.url, self.settings.token)
        remove_other_index_files(context.data_dir, keep=path)
        self.index = open_number_index(path, self.region, self.settings.index_minutes * 60.0)
        self.names = NameIndex(path)
        """Every user's names, e-mail and organisation, filled with the number index: a name search reads the few
        users it finds by id instead of searching three fields in RT (each REST2 request costs RT some 25 ms)."""
        self.names.prepare()  # an empty index (new, or of another schema) is filled with the numbers' next refresh

    def capabilities(self) -> frozenset[Capability] | None:
        """Without logging, the book neither logs calls nor offers to."""
        if self.settings.log_calls is LogCalls.OFF:
            return frozenset(
                {Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.POP, Capability.CREATE_CONTACT}
            )
        return None

    async def start(self) -> None:
        """The number index is read when the book opens, so that the first caller's search need not wait for it."""
        self.index.refresh_if_stale(self._index_entries)

    # --- search ------------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        if query.number:
            return await self._search_number(query.number, max(query.limit, 1))
        return await self._search_text(query.text, max(query.limit, 1))

    async def _search_number(self, number: str, limit: int) -> list[Contact]:
        """From the index (filled now when it never was: RT cannot search by number), each hit read from RT and
        checked; when none holds the number, the users changed most recently in RT are read and checked too."""
        if self.index.built:
            self.index.refresh_if_stale(self._index_entries)
        else:
            await self.index.refresh(self._index_entries)
        wanted = phone_key(number, self.region)
        hits = (await self.index.lookup(number))[:limit]  # a switchboard number may be many users': read no more
        found = [c for c in await self._read_users(hits) if has_number(c, wanted, self.region)]
        if not found:
            recent = await self.client.users(per_page=RECENT_USERS, orderby="LastUpdated", order="DESC")
            await self.index.remember_many([(user_id_of(record), user_numbers(record)) for record in recent.items])
            found = [c for c in map(contact_from_user, recent.items) if has_number(c, wanted, self.region)]
        return found[:limit]

    async def _read_users(self, ids: Sequence[str]) -> list[Contact]:
        """The users by id, in order, as RT holds them now; their numbers go into the index (none: gone)."""
        answers = await gather_all([self.client.user(i) for i in ids])
        live = [
            (user_id, answer if answer and str(answer.get("Disabled", "0")) in ("0", "") else None)
            for user_id, answer in zip(ids, answers, strict=True)
        ]
        await self.index.remember_many([(user_id, user_numbers(answer) if answer else []) for user_id, answer in live])
        return [contact_from_user(answer) for _, answer in live if answer]

    async def _search_text(self, text: str, limit: int) -> list[Contact]:
        """From the name index when it names a few users (`NAME_READS`): each read by id from RT and checked again;
        otherwise (none, or many) RT is searched: the longest word in RealName, Name and EmailAddress (a LIKE,
        case-insensitive), one request per field (REST2 ANDs a query's conditions on different fields). Either way
        every word must be in the user's name, login, organisation or email address.

        A user renamed in RT since the index was filled is found by RT's search when the index names nobody else
        for the words (and is indexed anew then); the next refresh of the index (`index_minutes`) catches up."""
        words = query_words(text)
        if not words:
            return []
        ids = await asyncio.to_thread(self.names.find, words, NAME_READS + 1)
        if 0 < len(ids) <= NAME_READS:
            current = await self._read_users(ids)
            gone = set(ids) - {c.id for c in current}
            await asyncio.to_thread(self._remember_names, current, gone)  # renamed since, or gone
            found = [c for c in current if holds_every_word(user_text(c), words)]
            if found:
                return sorted(found, key=lambda c: fold(c.display_name))[:limit]
        # Lower case: RT lower-cases both sides, but SQLite's LOWER() only folds ASCII letters ("LEFÈVRE" would
        # not find "Lefèvre"); names are stored with their accented letters in lower case far more often than not.
        probe = max(text.split(), key=len).lower()
        pages = await gather_all(
            [
                self.client.users([{"field": field, "operator": "LIKE", "value": probe}], per_page=NAME_CANDIDATES)
                for field in NAME_FIELDS
            ]
        )
        found_by_id: dict[str, Contact] = {}
        for record in (item for page in pages for item in page.items):
            if record.get("Name") in RT_INTERNAL_USERS:
                continue
            contact = contact_from_user(record)
            if contact.id not in found_by_id and holds_every_word(user_text(contact), words):
                found_by_id[contact.id] = contact
        await asyncio.to_thread(self._remember_names, list(found_by_id.values()))
        return sorted(found_by_id.values(), key=lambda c: fold(c.display_name))[:limit]

    def _remember_names(self, contacts: Sequence[Contact], gone: Collection[str] = ()) -> None:
        """Record users' names as RT holds them now, and forget users it no longer shows, in one transaction
        (blocking: SQLite)."""
        rows = [(c.id, c.display_name, user_text(c)) for c in contacts]
        self.names.update_many([*rows, *((user_id, "", "") for user_id in gone)])

    async def refresh_index(self) -> int:
        """Read every user's numbers into the local index now; returns how many it holds."""
        return await self.index.refresh(self._index_entries)

    async def _index_entries(self) -> PhoneEntries:
        """Every user's numbers, for the number index; their names go into the name index on the way."""
        users = await self.client.every_user()
        contacts = [contact_from_user(record) for record in users if record.get("Name") not in RT_INTERNAL_USERS]
        await asyncio.to_thread(self.names.replace_all, [(c.id, c.display_name, user_text(c)) for c in contacts])
        return [(user_id_of(record), user_numbers(record)) for record in users]

    # --- records -----------------------------------------------------------------------------------

    async def get(self, contact_id: str) -> Contact | None:
        if not contact_id.isdigit():
            return None
        record = await self.client.user(contact_id)
        return contact_from_user(record) if record else None

    async def record_url(self, contact_id: str, edit: bool) -> str | None:
        """RT's user summary page (it links to the user's tickets and to editing the user)."""
        return f"{self.settings.url}/User/Summary.html?id={contact_id}" if contact_id.isdigit() else None

    async def log_activity(self, contact_id: str, activity: Activity) -> str:
        """As the setting says: a comment on the user's most recently updated open ticket (a new ticket when there
        is none), or a new ticket. Returns the id of RT's transaction that holds the call."""
        if self.settings.log_calls is LogCalls.OFF:
            raise Unsupported("Logging calls is turned off for this RT address book (setting 'log_calls').")
        if not contact_id.isdigit() or await self.client.user(contact_id) is None:
            raise AddinError("The user is no longer in RT; the call was not logged.", code="not_found")
        open_tickets = await self.client.open_tickets(contact_id) if self.settings.log_calls is LogCalls.COMMENT else []
        if open_tickets:
            ticket_id = str(open_tickets[0].get("id", ""))
            await self.client.comment(ticket_id, comment_body(activity))
        else:
            ticket_id = await self.client.create_ticket(ticket_body(contact_id, self.settings.queue, activity))
        for transaction in await self.client.history(ticket_id):
            if transaction.get("Type") in LOGGED_TYPES and str(transaction.get("id", "")).isdigit():
                return f"{ticket_id}/{transaction['id']}"
        raise AddinError("RT logged the call but its ticket's history does not show it.", code="invalid_data")

    async def create(self, contact: Contact) -> Contact:
        new_id = await self.client.create_user(new_user_body(contact, self.region))
        record = await self.client.user(new_id)
        if record is None:
            raise AddinError("The new user is not in RT (any more).", code="not_found")
        await self.index.remember(new_id, user_numbers(record))
        contact = contact_from_user(record)
        await asyncio.to_thread(self._remember_names, [contact])
        return contact

    # --- test connection ---------------------------------------------------------------------------

    async def test(self) -> Sequence[CheckResult]:
        return await run_checks(self.settings, self.client, self.index, self._index_entries)

    async def diagnostics(self) -> Mapping[str, Any]:
        """RT's address and version, how calls are logged, and the number index's refresh state."""
        found: dict[str, Any] = {"server": self.client.where, "log_calls": self.settings.log_calls.value}
        try:
            found["server_version"] = str((await self.client.system()).get("Version", ""))
        except AddinError as exc:
            found["server_error"] = exc.message
        found["index"] = self.index.status.as_dict()
        return found

    async def close(self) -> None:
        try:
            await self.index.close()
        finally:
            try:
                await asyncio.to_thread(self.names.close)
            finally:
                await self.client.close()

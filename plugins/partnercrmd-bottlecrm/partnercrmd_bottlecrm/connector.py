"""One configured BottleCRM address book: searches, popping, call logging and contacts, over the REST API."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from urllib.parse import quote

import phonenumbers

from partnercrmd.sdk import (
    Activity,
    AddinError,
    BookContext,
    CheckResult,
    Connector,
    Contact,
    ContactPatch,
    PhoneEntries,
    PhoneKey,
    SearchQuery,
    Unsupported,
    fold,
    numbers_match,
    phone_key,
    remove_other_index_files,
)

from .checks import run_checks
from .client import BottleCrmClient
from .index import index_path, open_number_index
from .mapping import (
    activity_from_interaction,
    contact_from_record,
    interaction_body,
    new_contact_body,
    patch_body,
    record_numbers,
)
from .settings import ID_PLACEHOLDER, BookSettings

T = TypeVar("T")

NAME_CANDIDATES = 50
"""Contacts asked for per request of a name search; the words are then checked here."""
MAX_NAME_CANDIDATES = 1000
"""A name search reads at most this many contacts of the narrowest word's list."""


def searchable_text(contact: Contact) -> str:
    return fold(" ".join([contact.first_name, contact.last_name, contact.company, *contact.emails]))


def national_form(number: str) -> str | None:
    """The national way of writing an E.164 number ("020 7946 0958"), if it is one."""
    if not number.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def has_number(contact: Contact, wanted: PhoneKey, region: str | None) -> bool:
    return any(numbers_match(wanted, phone_key(p.number, region)) for p in contact.phones)


async def gather_all(calls: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run the calls at once; every one is awaited to its end, then the first failure is raised."""
    answers = await asyncio.gather(*calls, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return cast(list[T], answers)


class BottleCrmBook(Connector):
    def __init__(self, context: BookContext) -> None:
        self.settings = BookSettings.from_mapping(context.settings)
        self.region = context.default_region
        self.client = BottleCrmClient(
            self.settings.url, self.settings.token, timeout=float(self.settings.timeout_seconds)
        )
        path = index_path(context.data_dir, self.settings.url, self.settings.token)
        remove_other_index_files(context.data_dir, keep=path)
        self.index = open_number_index(path, self.region, self.settings.index_minutes * 60.0)

    # --- search ------------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        if query.number:
            return await self._search_number(query.number, query.limit)
        return await self._search_text(query.text, query.limit)

    async def _search_number(self, number: str, limit: int) -> list[Contact]:
        """From the local index; when it knows no one with the number (still being built, or out of date),
        BottleCRM's own check."""
        self.index.refresh_if_stale(self._index_entries)
        wanted = phone_key(number, self.region)
        contacts = await self._read_contacts((await self.index.lookup(number))[: max(limit, 1)])
        if not any(has_number(c, wanted, self.region) for c in contacts):
            contacts = await self._read_contacts((await self._server_number_search(number))[: max(limit, 1)])
        return contacts

    async def _server_number_search(self, number: str) -> list[str]:
        """BottleCRM's duplicate check: same last ten digits, or every digit of a shorter number."""
        forms = [number]
        national = national_form(number)
        if national and phonenumbers.normalize_digits_only(national)[-10:] != number[1:][-10:]:
            forms.append(national)
        found = await gather_all([self.client.contacts_with_number(form) for form in forms])
        return list(dict.fromkeys(contact_id for ids in found for contact_id in ids))

    async def _read_contacts(self, ids: Sequence[str]) -> list[Contact]:
        """The contacts by id, in order; ids that no longer exist are dropped from the index."""
        answers = await gather_all([self.client.get_contact(i) for i in ids])
        pairs = list(zip(ids, answers, strict=True))
        await self.index.remember_many([(i, record_numbers(answer) if answer else []) for i, answer in pairs])
        return [contact_from_record(answer) for _, answer in pairs if answer]

    async def _search_text(self, text: str, limit: int) -> list[Contact]:
        """BottleCRM searches first and last name, email and phone for one word; every word must match here.

        The longest word is asked for first (one request, as a rule). When more contacts hold it than one answer
        carries, the other words are asked for too, and the narrowest list (BottleCRM's `count` says which) is
        read on until enough contacts hold every word (at most MAX_NAME_CANDIDATES read), so a person is found
        even when thousands share a first name.
        """
        words = [fold(word) for word in text.split()]
        if not words:
            return []
        size = max(NAME_CANDIDATES, limit * 4)
        probes = sorted(set(text.split()), key=len, reverse=True)
        probe, page = probes[0], await self.client.list_contacts(search=probes[0], limit=size)
        if page.count > len(page.contacts) and len(probes) > 1:
            others = await gather_all([self.client.list_contacts(search=other, limit=size) for other in probes[1:]])
            probe, page = min(zip(probes, [page, *others], strict=True), key=lambda pair: pair[1].count)
        found, read = self._holding(page.contacts, words), len(page.contacts)
        while len(found) < max(limit, 1) and page.contacts and read < min(page.count, MAX_NAME_CANDIDATES):
            page = await self.client.list_contacts(search=probe, limit=size, offset=read)
            found, read = found + self._holding(page.contacts, words), read + len(page.contacts)
        return found[: max(limit, 1)]

    @staticmethod
    def _holding(records: Sequence[dict[str, Any]], words: Sequence[str]) -> list[Contact]:
        """The records as contacts, those whose names, company and emails hold every (folded) word."""
        contacts = [contact_from_record(record) for record in records]
        return [c for c in contacts if all(word in searchable_text(c) for word in words)]

    async def refresh_index(self) -> int:
        """Read every contact's numbers into the local index now; returns how many it holds."""
        return await self.index.refresh(self._index_entries)

    async def _index_entries(self) -> PhoneEntries:
        """Every contact's numbers, for a full refresh of the index."""
        records = await self.client.all_contacts()
        entries = [(r["id"], record_numbers(r)) for r in records if isinstance(r.get("id"), str)]
        return entries

    # --- records -----------------------------------------------------------------------------------

    async def get(self, contact_id: str) -> Contact | None:
        record = await self.client.get_contact(contact_id)
        return contact_from_record(record) if record else None

    async def record_url(self, contact_id: str, edit: bool) -> str | None:
        """The BottleCRM web app's contact page; without a template, partnercrmd's own record page."""
        template = self.settings.web_edit_url_template if edit else self.settings.web_url_template
        return template.replace(ID_PLACEHOLDER, quote(contact_id, safe="")) if template else None

    async def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        rows = await self.client.interactions(contact_id, limit)
        return [a for a in map(activity_from_interaction, rows) if a is not None][:limit]

    async def log_activity(self, contact_id: str, activity: Activity) -> str:
        """The call as an interaction of kind `call` (direction, duration, outcome, notes) on the contact."""
        if not self.settings.log_calls:
            raise Unsupported("Logging calls is turned off for this BottleCRM address book (setting 'log_calls').")
        body = interaction_body(contact_id, activity, datetime.now(UTC))
        try:
            created = await self.client.log_interaction(body)
        except AddinError as exc:
            if exc.code == "not_found":
                raise AddinError(
                    "The contact is no longer in BottleCRM (or this token may not see it); the call was not logged.",
                    code="not_found",
                ) from None
            raise
        interaction_id = created.get("id")
        if not isinstance(interaction_id, str) or not interaction_id:
            raise AddinError("BottleCRM logged the call but did not say under which id.", code="invalid_data")
        return interaction_id

    async def create(self, contact: Contact) -> Contact:
        new_id = await self.client.create_contact(new_contact_body(contact, self.region))
        return await self._stored(new_id)

    async def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        body = patch_body(patch, self.region)
        if body:
            await self.client.update_contact(contact_id, body)
        return await self._stored(contact_id)

    async def _stored(self, contact_id: str) -> Contact:
        """The contact as BottleCRM now holds it; its numbers go into the index at once."""
        record = await self.client.get_contact(contact_id)
        if record is None:
            raise AddinError("The contact is not in BottleCRM (any more).", code="not_found")
        await self.index.remember(contact_id, record_numbers(record))
        return contact_from_record(record)

    # --- test connection ---------------------------------------------------------------------------

    async def test(self) -> Sequence[CheckResult]:
        return await run_checks(self.settings, self.client, self.index, self._index_entries)

    async def diagnostics(self) -> Mapping[str, Any]:
        """The API's address, how many contacts the token sees, and the local number index's refresh state."""
        found: dict[str, Any] = {"server": self.client.where, "log_calls": self.settings.log_calls}
        try:
            found["contacts_visible"] = (await self.client.list_contacts(limit=1)).count
        except AddinError as exc:
            found["server_error"] = exc.message
        found["index"] = self.index.status.as_dict()
        return found

    async def close(self) -> None:
        try:
            await self.index.close()
        finally:
            await self.client.close()

"""The connector: one configured Tryton database as an address book of parties, served over JSON-RPC."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from partnercrmd.sdk import (
    Activity,
    AddinError,
    BookContext,
    CheckResult,
    Connector,
    Contact,
    ContactPatch,
    Picture,
    SearchQuery,
    Unsupported,
    numbers_match,
    phone_key,
)

from . import checks
from .client import Credentials, TrytonClient
from .index import PartyIndex
from .mapping import (
    ORDER,
    PARTY_FIELDS,
    PARTY_MODEL,
    PARTY_RESOURCE,
    PHONE_TYPES,
    mechanism_domain,
    name_domain,
    note_message,
    note_to_activity,
    number_for_tryton,
    party_id,
    party_to_contact,
    party_values,
    patched_name,
    phone_numbers,
)
from .names import holds_every_word, query_words, record_text
from .settings import TrytonSettings, parse_settings

log = logging.getLogger(__name__)

INDEX_FILE = "numbers.sqlite"
MIN_NUMBER_RESULTS = 20
"""A number search asks for at least this many parties: the host drops stale index hits afterwards."""
PICTURE_TYPES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF8", "image/gif"))


def picture_of(data: object) -> Picture | None:
    """An avatar image as a Picture, when it is one of the formats browsers show."""
    if not isinstance(data, bytes):
        return None
    mime = next((m for magic, m in PICTURE_TYPES if data.startswith(magic)), None)
    return Picture(mime, data) if mime else None


class TrytonBook(Connector):
    """One configured Tryton database, as one user; every method runs on the daemon's event loop."""

    def __init__(
        self,
        settings: TrytonSettings,
        index: PartyIndex | None,
        region: str | None,
        add_secret: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.region = region
        credentials = Credentials(settings.url, settings.database, settings.username, settings.password)
        self.client = TrytonClient(credentials, add_secret=add_secret)

    # --- reading ---------------------------------------------------------------------------------------

    async def read_parties(
        self, domain: list[Any], limit: int, fields: Sequence[str] = PARTY_FIELDS
    ) -> list[dict[str, Any]]:
        rows = await self.client.call(f"model.{PARTY_MODEL}.search_read", domain, 0, limit, ORDER, list(fields))
        if not isinstance(rows, list):
            raise AddinError("Tryton's answer to a party search is not a list.", code="invalid_data")
        return [row for row in rows if isinstance(row, dict)]

    async def _contacts(self, domain: list[Any], limit: int) -> list[Contact]:
        contacts = [party_to_contact(row) for row in await self.read_parties(domain, limit)]
        return [c for c in contacts if c is not None]

    async def _fresh_index(self) -> PartyIndex | None:
        """The local index, refreshed when due (the first fill waits a little), or None when it is off."""
        if self.index is None:
            return None
        # Signing in first keeps Tryton's deliberately slow password check out of the wait for the first fill.
        await self.client.ensure_signed_in()
        await self.index.ensure_fresh(self.client)
        return self.index

    async def _indexed(self, number: str) -> list[int]:
        index = await self._fresh_index()
        return await index.lookup(number) if index is not None else []

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        """By number: the local index, else E.164 on the server; by text: every word in name, code or contact values."""
        if query.number:
            contacts = await self._by_number(query.number, query.number_forms, query.limit)
        else:
            contacts = await self._by_name(query.text, max(query.limit, 1))
        if query.include_pictures and contacts:
            await self._add_pictures(contacts)
        return contacts

    async def _by_number(self, number: str, forms: Sequence[str], limit: int) -> list[Contact]:
        """The parties the index names, read by id, when one still has the number; otherwise Tryton's own search.

        Reading by id spares Tryton the search through every contact mechanism (about 40 % of a lookup's
        server time with 10,000 parties). A number the index does not know yet (added on the server since
        its last refresh) is still found by the server's search: of the contact mechanisms themselves, which
        costs Tryton a third less than a party search joined to them (an unknown caller's usual answer).
        """
        limit = max(limit, MIN_NUMBER_RESULTS)
        ids = await self._indexed(number)
        if ids:
            wanted = phone_key(number, self.region)
            contacts = await self._contacts([("id", "in", sorted(set(ids)))], limit)
            if any(numbers_match(wanted, phone_key(p.number, self.region)) for c in contacts for p in c.phones):
                return contacts
        rows = await self.client.call(
            "model.party.contact_mechanism.search_read", mechanism_domain((number, *forms)), 0, limit, None, ["party"]
        )
        found = sorted({pid for row in rows if isinstance(row, dict) and (pid := party_id(row.get("party")))})
        return await self._contacts([("id", "in", found)], limit) if found else []

    async def _by_name(self, text: str, limit: int) -> list[Contact]:
        """The parties the name index finds, read by id, that still hold every word; otherwise Tryton's search.

        Tryton's own name search looks through code, identifiers, name and every contact mechanism with
        ILIKE subqueries per word (about 70 ms of its CPU with 10,000 parties); reading the found parties
        by id costs a third of that. A party added or renamed on the server since the last refresh, or
        found only by an identifier, is still found by the server's search.
        """
        domain = name_domain(text)
        if not domain:
            return []
        words = query_words(text)
        index = await self._fresh_index() if words else None
        ids = await index.find_names(words, limit) if index is not None else []
        if ids:
            rows = await self.read_parties([("id", "in", sorted(ids))], len(ids))
            current = [party_to_contact(row) for row in rows if holds_every_word(record_text(row), words)]
            contacts = [c for c in current if c is not None]
            if contacts:
                return contacts
        return await self._contacts(domain, limit)

    async def _add_pictures(self, contacts: list[Contact]) -> None:
        """Party avatars (`ir.avatar`, shown by Tryton's party_avatar module); a failure only costs the pictures."""
        resources = [PARTY_RESOURCE.format(id=c.id) for c in contacts]
        try:
            rows = await self.client.call(
                "model.ir.avatar.search_read",
                [("resource", "in", resources)],
                0,
                len(resources),
                None,
                ["resource", "image"],
            )
        except AddinError as exc:
            log.info("reading Tryton avatars failed: %s", exc.message)
            return
        by_resource = (
            {row.get("resource"): row.get("image") for row in rows if isinstance(row, dict)}
            if isinstance(rows, list)
            else {}
        )
        for contact in contacts:
            contact.picture = picture_of(by_resource.get(PARTY_RESOURCE.format(id=contact.id)))

    async def get(self, contact_id: str) -> Contact | None:
        pid = party_number(contact_id)
        if pid is None:
            return None
        found = await self._contacts([("id", "=", pid)], 1)
        return found[0] if found else None

    async def record_url(self, contact_id: str, edit: bool) -> str | None:
        """The party in Tryton's web client; its form is where a party is both read and edited."""
        pid = party_number(contact_id)
        if pid is None:
            raise AddinError(f"'{contact_id[:40]}' is not a Tryton party id.", code="not_found")
        database = quote(self.settings.database, safe="")
        return f"{self.settings.web_url}/#{database}/model/{PARTY_MODEL}/{pid}"

    # --- call notes ------------------------------------------------------------------------------------

    async def _existing_party(self, contact_id: str) -> int:
        pid = party_number(contact_id)
        if pid is not None:
            found = await self.client.call(f"model.{PARTY_MODEL}.search", [("id", "=", pid)], 0, 1, None)
            if isinstance(found, list) and pid in found:
                return pid
        raise AddinError(f"Party {contact_id[:40]} no longer exists in Tryton.", code="not_found")

    async def log_activity(self, contact_id: str, activity: Activity) -> str:
        """The call as a note (`ir.note`) on the party, shown in the party's notes in Tryton."""
        if not self.settings.log_calls:
            raise Unsupported("Call logging is off for this address book (setting 'log_calls').")
        pid = await self._existing_party(contact_id)
        return str(await self._add_note(pid, note_message(activity)))

    async def _add_note(self, pid: int, message: str) -> int:
        created = await self.client.call(
            "model.ir.note.create", [{"resource": PARTY_RESOURCE.format(id=pid), "message": message}]
        )
        if not (isinstance(created, list) and created and isinstance(created[0], int)):
            raise AddinError("Tryton's answer to creating a note is not [id].", code="invalid_data")
        return created[0]

    async def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        """The party's call notes, newest first (other notes are not calls and are left out)."""
        pid = party_number(contact_id)
        if pid is None:
            return []
        rows = await self.client.call(
            "model.ir.note.search_read",
            [("resource", "=", PARTY_RESOURCE.format(id=pid))],
            0,
            max(limit, 1) * 4,
            [("create_date", "DESC"), ("id", "DESC")],
            ["id", "message", "create_date"],
        )
        notes = [note_to_activity(row) for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
        return [a for a in notes if a is not None][:limit]

    # --- writing parties -------------------------------------------------------------------------------

    async def create(self, contact: Contact) -> Contact:
        """A new party with its phones and emails (numbers sent in international form) and notes as a note."""
        values = party_values(contact, self.region)
        if not values["name"]:
            raise AddinError(
                "A Tryton party needs a name: give a contact name, first or last name.", code="invalid_data"
            )
        created = await self.client.call(f"model.{PARTY_MODEL}.create", [values])
        if not (isinstance(created, list) and created and isinstance(created[0], int)):
            raise AddinError("Tryton's answer to creating a party is not [id].", code="invalid_data")
        return await self._after_write(created[0], contact.notes)

    async def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        """Rename the party, change (or add, or remove) its first phone and email; notes become a note."""
        pid = await self._existing_party(contact_id)
        fields = ["id", "contact_mechanisms.type", "contact_mechanisms.value"]
        [party] = await self.read_parties([("id", "=", pid)], 1, fields) or [{}]
        mechanisms = [m for m in party.get("contact_mechanisms.") or [] if isinstance(m, dict)]
        changes: dict[str, Any] = {}
        name = patched_name(patch.display_name, patch.first_name, patch.last_name, patch.company)
        if name:
            changes["name"] = name
        actions = []
        if patch.email is not None:
            actions += mechanism_change(mechanisms, {"email"}, "email", patch.email.strip())
        if patch.phone is not None:
            number = number_for_tryton(patch.phone, self.region) if patch.phone.strip() else ""
            actions += mechanism_change(mechanisms, set(PHONE_TYPES), "phone", number)
        if actions:
            changes["contact_mechanisms"] = actions
        if changes:
            await self.client.call(f"model.{PARTY_MODEL}.write", [pid], changes)
        return await self._after_write(pid, patch.notes or "")

    async def _after_write(self, pid: int, notes: str) -> Contact:
        if notes.strip():
            await self._add_note(pid, notes.strip())
        rows = await self.read_parties([("id", "=", pid)], 1)
        contact = party_to_contact(rows[0]) if rows else None
        if contact is None:
            raise AddinError(f"Tryton did not give back party {pid} after saving it.", code="invalid_data")
        if self.index is not None:
            name = rows[0].get("name")
            await self.index.update(
                pid, phone_numbers(rows[0]), name.strip() if isinstance(name, str) else "", record_text(rows[0])
            )
        return contact

    # --- test connection and closing -------------------------------------------------------------------

    async def test(self) -> Sequence[CheckResult]:
        return await checks.run_checks(self)

    async def diagnostics(self) -> Mapping[str, Any]:
        """The server's Tryton version, the database and user, and the local party index's refresh state."""
        found: dict[str, Any] = {
            "server": self.client.shown_url,
            "database": self.settings.database,
            "user": self.settings.username,
        }
        try:
            found["server_version"] = await self.client.server_version()
        except AddinError as exc:
            found["server_version"] = None
            found["server_error"] = exc.message
        found["index"] = self.index.status.as_dict() if self.index is not None else {"kind": "none"}
        return found

    async def close(self) -> None:
        try:
            if self.index is not None:
                await self.index.close()
        finally:
            await self.client.close()


def party_number(contact_id: str) -> int | None:
    """The numeric party id behind a contact id (partnercrmd passes back the ids this add-in gave)."""
    text = contact_id.strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 18 else None


def mechanism_change(mechanisms: list[dict[str, Any]], types: set[str], new_type: str, value: str) -> list[Any]:
    """The One2Many actions that set the first mechanism of `types` to `value` (delete it when empty)."""
    current = next((m for m in mechanisms if m.get("type") in types and isinstance(m.get("id"), int)), None)
    if current is None:
        return [["create", [{"type": new_type, "value": value}]]] if value else []
    if not value:
        return [["delete", [current["id"]]]]
    return [["write", [current["id"]], {"value": value}]]


def open_book(context: BookContext) -> TrytonBook:
    """Check the settings and open the party index; the server is first asked on the first search."""
    settings = parse_settings(context.settings)
    index = None
    if settings.index_minutes > 0:
        index = PartyIndex(context.data_dir / INDEX_FILE, context.default_region, settings.index_minutes * 60.0)
    return TrytonBook(settings, index, context.default_region, add_secret=context.add_secret)

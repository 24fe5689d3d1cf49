"""The connector of one LDAP address book: search, read, log calls, create and change contacts, check the setup.

Every method runs in one of the host's worker threads (`BlockingConnector`);
the client gives each call a connection of its own.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from partnercrmd.sdk import (
    Activity,
    AddinError,
    BlockingConnector,
    BookContext,
    Capability,
    CheckResult,
    Contact,
    ContactPatch,
    SearchQuery,
    Unsupported,
    holds_every_word,
    index_file,
    numbers_match,
    phone_key,
    query_words,
    remove_other_index_files,
)

from . import client as codes
from .checks import check_index, run_checks
from .client import PAGE_SIZE, Entry, LdapClient, ListingLimited, Result
from .dn_cache import DnCache
from .filters import changed_since_filter, contacts_filter, id_filter, name_filter, number_filter
from .generalized_time import SAFETY_MARGIN, LatestChange
from .index import Bound, Filled, Named, NumberIndex, PartialFill, Synced
from .ldap3_api import escape_rdn, exceptions, ldap3, parse_dn
from .mapping import (
    activity_value,
    appended_text,
    entry_id,
    named,
    new_entry,
    patch_changes,
    phone_values,
    to_contact,
)
from .settings import LdapSettings, parse_settings

log = logging.getLogger(__name__)

NUMBER_CANDIDATES = 200
"""How many entries a number lookup reads at most: its digit pattern may also match a few other numbers."""
MAX_NAME_SUFFIX = 9
"""A new contact whose name is taken in the container becomes "Name (2)" … "Name (9)"."""
APPEND_ATTEMPTS = 3
"""Tries to append to a single-valued call log that another client changes at the same moment."""


def dn_parts(dn: str) -> list[tuple[str, str]]:
    """The DN's (attribute, value) pairs, lower-cased for comparing; [] when it is not a DN."""
    try:
        return [(attr.strip().lower(), value.strip().lower()) for attr, value, _ in parse_dn(dn, strip=True)]
    except exceptions.LDAPInvalidDnError:
        return []


def is_under(dn: str, base: str) -> bool:
    """Whether `dn` is `base` or below it."""
    parts, base_parts = dn_parts(dn), dn_parts(base)
    return bool(parts) and bool(base_parts) and parts[-len(base_parts) :] == base_parts


def parent_of(dn: str) -> str:
    """The DN without its first RDN, exactly as the server wrote it (escapes kept)."""
    escaped = False
    for position, char in enumerate(dn):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",;":
            return dn[position + 1 :].strip()
    return ""


ROOT_DSE_ATTRIBUTES = ["vendorName", "vendorVersion", "supportedLDAPVersion"]
"""What the diagnostics read of the server's root DSE (servers that do not publish one answer without it)."""


class LdapBook(BlockingConnector):
    """One configured directory (OpenLDAP, Active Directory or another LDAPv3 server)."""

    fill_page_size = PAGE_SIZE
    """Entries per page when the number index is filled."""

    def __init__(self, settings: LdapSettings, region: str | None, index: NumberIndex | None = None) -> None:
        self.settings = settings
        self.region = region
        self.client = LdapClient(settings.connection)
        self.index = index
        self.dns = DnCache()
        self._counter = True
        """Whether the server may have a change counter (Active Directory's): False once its rootDSE had none."""
        self._catching_up = threading.Lock()

    def capabilities(self) -> frozenset[Capability] | None:
        """Logging, creating and changing contacts only where the settings allow them."""
        missing: set[Capability] = set()
        if not self.settings.activity_attribute:
            missing.add(Capability.LOG_ACTIVITY)
        if not self.settings.allow_create:
            missing.add(Capability.CREATE_CONTACT)
        if not self.settings.allow_update:
            missing |= {Capability.UPDATE_CONTACT, Capability.POP_EDIT}
        return frozenset(Capability) - missing

    # --- reading -------------------------------------------------------------------------------------

    def _filter(self, inner: str, since: str | None = None) -> str:
        bound = changed_since_filter(self.settings.modified_attribute, since) if since else ""
        return contacts_filter(self.settings.preset.object_filter, self.settings.search_filter, inner, bound)

    def find(self, inner: str, include_picture: bool, size_limit: int, since: str | None = None) -> list[Entry]:
        """Contacts (entries of the preset's kind that pass the extra filter) that also match `inner` (and, with
        `since`, were changed at or after that GeneralizedTime)."""
        attributes = self.settings.attributes.read_attributes(include_picture)
        search_filter = self._filter(inner, since)
        entries = self.client.search(self.settings.base_dn, search_filter, attributes, size_limit=size_limit)
        self._seen(entries)
        return entries

    def _seen(self, entries: Sequence[Entry]) -> None:
        """Remember the DNs of found contacts: opening one, or logging a call to it, then reads it by DN."""
        for entry in entries:
            self.dns.put(entry_id(entry, self.settings.attributes), entry.dn)

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        """By number: the local index, else every phone attribute on the server, verified here as the host will;
        by text: every word somewhere (on Active Directory, from the name index while it is current)."""
        attributes = self.settings.attributes
        if query.number:
            return self._by_number(query.number, query.include_pictures)[: query.limit]
        inner = name_filter(attributes.name_attributes(), query.text)
        if inner is None:
            return []
        if self.index is not None and self.index.holds_names():  # never before a fill: no wait for one here
            self.index.ensure_fresh(self.index_fill)
            if self._caught_up():
                return self._names_from_index(query)
        entries = self.find(inner, query.include_pictures, query.limit)
        return [to_contact(e, attributes, query.include_pictures) for e in entries]

    def _names_from_index(self, query: SearchQuery) -> list[Contact]:
        """The entries the name index finds for every word, read by DN and checked again (one renamed since it was
        indexed is indexed anew, one gone is forgotten). Active Directory compares a substring filter with every
        user; this reads only the entries found."""
        assert self.index is not None
        words = query_words(query.text)
        contacts = []
        for dn in self.index.find_names(words, query.limit):
            entry = self.read_by_dn(dn, query.include_pictures)
            if entry is None:
                self.index.forget(dn)  # deleted, moved, or no longer a contact
            elif holds_every_word(named(entry, self.settings.attributes).text, words):
                contacts.append(to_contact(entry, self.settings.attributes, query.include_pictures))
            else:
                self._remember(entry)
        return contacts

    def _by_number(self, number: str, include_picture: bool) -> list[Contact]:
        """The entries the local index names, read by DN, when one still has the number; otherwise, on Active
        Directory, the index again once it has caught up with the DC's changes (`_caught_up`: usually one read of
        the rootDSE); otherwise the server's wildcard search (a number added or changed on the server since the
        last fill is found at once).

        That search is bounded to entries changed since the last complete fill (`index_fill` says why that
        is safe) when the index holds such a bound: the server answers it from an index on the change-time
        attribute instead of comparing the pattern with every entry.
        """
        since = None
        if self.index is not None:
            self.index.ensure_fresh(self.index_fill)
            contacts = self._from_index(number, include_picture)
            if contacts:
                return contacts
            if self._caught_up():  # the index now holds every number the directory holds
                return self._from_index(number, include_picture)
            since = self.index.bound(self.settings.modified_attribute)
        inner = number_filter(self.settings.attributes.phone_attributes(), number, self.region)
        if inner is None:
            return []
        contacts = []
        for entry in self.find(inner, include_picture, NUMBER_CANDIDATES, since):
            contact = self._if_matching(entry, number, include_picture)
            if contact is not None:
                contacts.append(contact)
                self._remember(entry)  # not in the index yet (or under other numbers): found there next time
        return contacts

    def _from_index(self, number: str, include_picture: bool) -> list[Contact]:
        """The contacts the index names that still have the number (an entry renumbered since is indexed again)."""
        contacts = []
        for entry in self._read_indexed(number, include_picture):
            contact = self._if_matching(entry, number, include_picture)
            if contact is not None:
                contacts.append(contact)
            else:
                self._remember(entry)  # renumbered since the fill: index the numbers it has now
        return contacts

    def change_counter(self) -> Synced | None:
        """The DC's change counter now (Active Directory's rootDSE `highestCommittedUSN`, with its `serverName`);
        None for a server without one (OpenLDAP), which is then not asked again."""
        if not self._counter:
            return None
        attributes = ["highestCommittedUSN", "serverName"]
        found = self.client.search("", "(objectClass=*)", attributes, scope="BASE", missing_ok=True)
        usn = found[0].text("highestCommittedUSN") if found else ""
        server = found[0].text("serverName") if found else ""
        if not usn.isdigit() or not server:
            self._counter = False
            return None
        return Synced(server, int(usn))

    def _caught_up(self) -> bool:
        """Whether the index holds every number the directory holds now, after reading the entries changed since it
        last did (Active Directory: `uSNChanged` above the counter the index recorded). False where the server has
        no counter, the index recorded none, or the setting `modified_attribute` is empty (the user asked for every
        unknown number to be searched among all contacts)."""
        if self.index is None or not self.settings.modified_attribute:
            return False
        with self._catching_up:  # one catch-up at a time; the searches waiting meanwhile then find it done
            seen = self.index.synced()
            if seen is None:
                return False
            now = self.change_counter()
            if now is None or now.server != seen.server or now.usn < seen.usn:  # another DC, or one restored
                return False
            if now.usn > seen.usn:
                changed = self._filter(f"(uSNChanged>={seen.usn + 1})")

                def on_page(page: list[Entry]) -> None:
                    for entry in page:
                        self._remember(entry)

                try:
                    self.client.search_pages(self.settings.base_dn, changed, self._indexed_attributes(), on_page)
                except ListingLimited:
                    return False
                self.index.advance_synced(seen, now)
            return True

    def _if_matching(self, entry: Entry, number: str, include_picture: bool) -> Contact | None:
        """The entry's contact if one of its numbers is the same line as `number` (the host checks the same)."""
        contact = to_contact(entry, self.settings.attributes, include_picture)
        wanted = phone_key(number, self.region)
        if any(numbers_match(wanted, phone_key(p.number, self.region)) for p in contact.phones):
            return contact
        return None

    def _read_indexed(self, number: str, include_picture: bool) -> list[Entry]:
        """The entries the index names for `number`, read by DN (base scope: no scan); gone ones are forgotten."""
        assert self.index is not None
        entries = []
        for dn in self.index.lookup(number)[:NUMBER_CANDIDATES]:
            entry = self.read_by_dn(dn, include_picture)
            if entry is not None:
                entries.append(entry)
            else:
                self.index.forget(dn)  # deleted, moved, or no longer a contact
        return entries

    def read_by_dn(self, dn: str, include_picture: bool) -> Entry | None:
        """The entry at `dn` if it is still a contact: a base-scope read, a direct lookup in the server."""
        attributes = self.settings.attributes.read_attributes(include_picture)
        found = self.client.search(dn, self._filter(""), attributes, scope="BASE", missing_ok=True)
        self._seen(found)
        return found[0] if found else None

    def _indexed_attributes(self) -> list[str]:
        """What the index keeps of each entry: its phone attributes, and what a name search looks in."""
        attributes = self.settings.attributes
        return list(dict.fromkeys([*attributes.phone_attributes(), *attributes.name_attributes()]))

    def _remember(self, entry: Entry) -> None:
        """Index an entry read with (at least) `_indexed_attributes`."""
        if self.index is not None:
            attributes = self.settings.attributes
            numbers = [number for _, number, _ in phone_values(entry, attributes)]
            self.index.remember(entry.dn, numbers, named(entry, attributes))

    def index_fill(self, stop: Callable[[], bool]) -> Filled:
        """Every contact's phone values by DN (a paged search reading only the phone attributes and the change
        time; on a server with a change counter, Active Directory, also the name attributes, for the name index),
        and the bound T for the server search of numbers the index does not know.

        T = M - D - SAFETY_MARGIN, where M is the latest change time read (server clock) and D the fill's
        duration (local clock, rounded up). Why every entry changed by others and not read with that change
        has a change time >= T: let S be the server's time when the fill began. (1) Every value read was
        written before it was read, so M <= S + D: hence T <= S - SAFETY_MARGIN < S. (2) An entry changed
        before S was read with that change: the listing sees the directory as it is when each page is read,
        and nothing the index holds for it is older than that change. (3) An entry changed at or after S
        (during the fill or after it; added, renumbered, moved in by a rename) gets a change time >= S > T on
        the server that made the change. The margin covers what breaks (3) on another server: a change
        replicated from another server carries that server's clock (OpenLDAP's modifyTimestamp), so it may
        arrive later with a time before S; and D measured here may be shorter than the server's. Entries the
        add-in writes itself are recorded in the index at once. M is the server's own time, so the local
        clock's error does not matter, except in one check: a change time later than our clock plus the margin
        (a future-dated entry, which would break (1)) gives no bound. Not covered (found by the next fill): an
        entry that becomes a contact without a change of its own (a group membership that the extra filter
        tests, new access rights of the account), and replication more than SAFETY_MARGIN late. No bound
        (None): the attribute is not set, an entry lacks it or holds an unreadable value (the account may not
        read it), no contact was read, or the listing was cut (`PartialFill`: the entries not read may have
        any change time).
        """
        attributes = self.settings.attributes
        modified = self.settings.modified_attribute
        numbers: dict[str, list[str]] = {}
        latest = LatestChange()
        phones = attributes.phone_attributes()
        if not phones:
            return Filled(numbers)
        synced = self.change_counter() if modified else None  # before the listing: what changes later raises it
        # Names only where the counter can keep them current (Active Directory): elsewhere the server's name search
        # answers every time (slapd with the README's substring indexes answers it in a few milliseconds).
        names: dict[str, Named] | None = {} if synced is not None else None

        def on_page(page: list[Entry]) -> None:
            for entry in page:
                values = [number for _, number, _ in phone_values(entry, attributes)]
                if values:
                    numbers[entry.dn] = values
                if names is not None:
                    names[entry.dn] = named(entry, attributes)
                if modified:
                    latest.add(entry.texts(modified))

        read = self._indexed_attributes() if names is not None else phones
        started = time.monotonic()
        try:
            self.client.search_pages(
                self.settings.base_dn,
                self._filter(""),
                [*read, modified] if modified else read,
                on_page,
                page_size=self.fill_page_size,
                stop=stop,
            )
        except ListingLimited as exc:
            raise PartialFill(numbers, exc) from None
        duration = math.ceil(time.monotonic() - started)
        if latest.after(datetime.now(UTC) + timedelta(seconds=SAFETY_MARGIN)):
            # A change time in the future (an entry imported with a wrong time, a server clock once ahead, or
            # this server's clock ahead of ours): M would not bound the server's time, so no bound at all.
            log.warning(
                "The latest '%s' in the directory lies in the future; numbers the index does not know are "
                "searched among all contacts.",
                modified,
            )
            return Filled(numbers, None, synced, names)
        since = latest.minus(duration + SAFETY_MARGIN) if modified else None
        return Filled(numbers, Bound(modified, since) if since else None, synced, names)

    def _entry(self, contact_id: str, attributes: Sequence[str]) -> Entry | None:
        """The contact's entry by its id (a UUID, or the DN of an entry without one), if it is still a contact."""
        try:
            uuid.UUID(contact_id)
            by_uuid = True
        except ValueError:
            by_uuid = False
        if by_uuid and self.settings.attributes.id:
            inner = id_filter(self.settings.attributes.id, contact_id)
            known_dn = self.dns.get(contact_id)
            if known_dn is not None:
                # The DN a search showed it under: a base-scope read, if the entry with this id is still there.
                found = self.client.search(known_dn, self._filter(inner), attributes, scope="BASE", missing_ok=True)
                if len(found) == 1:
                    return found[0]
                self.dns.drop(contact_id)
            found = self.client.search(self.settings.base_dn, self._filter(inner), attributes, size_limit=2)
            self._seen(found)
        elif is_under(contact_id, self.settings.base_dn):
            found = self.client.search(contact_id, self._filter(""), attributes, scope="BASE", missing_ok=True)
        else:
            return None
        return found[0] if len(found) == 1 else None

    def _existing(self, contact_id: str, attributes: Sequence[str]) -> Entry:
        entry = self._entry(contact_id, attributes)
        if entry is None:
            raise AddinError("This contact is no longer in the directory.", code="not_found")
        return entry

    def get(self, contact_id: str) -> Contact | None:
        entry = self._entry(contact_id, self.settings.attributes.read_attributes(include_picture=True))
        return to_contact(entry, self.settings.attributes, include_picture=True) if entry else None

    # --- logging calls -------------------------------------------------------------------------------

    def log_activity(self, contact_id: str, activity: Activity) -> str:
        """Add the call as a value of the configured attribute (appended to its text if it takes one value)."""
        name = self.settings.activity_attribute
        if not name:
            raise Unsupported(
                "Calls are not logged in this directory: set 'activity_attribute' (e.g. description) to log them."
            )
        entry = self._existing(contact_id, [name])
        value = activity_value(activity)
        result = self.client.modify(entry.dn, {name: [(ldap3.MODIFY_ADD, [value])]})
        if result.code == codes.ATTRIBUTE_OR_VALUE_EXISTS and value in entry.texts(name):
            result = Result(codes.SUCCESS, "")  # the same call was logged already
        elif result.code in (codes.CONSTRAINT_VIOLATION, codes.ATTRIBUTE_OR_VALUE_EXISTS):
            result = self._append_to_single_value(contact_id, name, value)
        if not result.ok:
            raise self.client.result_error(result, f"write the call log attribute '{name}'")
        return f"{name}@{activity.start_utc.isoformat()}"

    def _append_to_single_value(self, contact_id: str, name: str, value: str) -> Result:
        """Replace the attribute's one value with itself plus `value`, if nobody changed it in between."""
        result = Result(codes.SUCCESS, "")
        for _ in range(APPEND_ATTEMPTS):
            entry = self._existing(contact_id, [name])
            current = entry.raw(name)
            new = appended_text(entry.text(name), value)
            changes: list[tuple[str, Sequence[str | bytes]]] = [(ldap3.MODIFY_ADD, [new])]
            if current:
                changes.insert(0, (ldap3.MODIFY_DELETE, [current[0]]))
            result = self.client.modify(entry.dn, {name: changes})
            if result.code not in (codes.NO_SUCH_ATTRIBUTE, codes.ATTRIBUTE_OR_VALUE_EXISTS):
                return result
        return result

    # --- writing contacts ----------------------------------------------------------------------------

    def create(self, contact: Contact) -> Contact:
        """A new entry under `create_container`, named by the contact's name ("Name (2)" if that is taken)."""
        if not self.settings.allow_create:
            raise Unsupported("Creating contacts is turned off for this directory (setting 'allow_create').")
        preset, attributes = self.settings.preset, self.settings.attributes
        name, values = new_entry(contact, preset, attributes)
        if not name:
            raise AddinError("A new contact needs a name, an email address or a phone number.", code="invalid_data")
        container = self.settings.create_container
        for number in range(1, MAX_NAME_SUFFIX + 1):
            rdn_value = name if number == 1 else f"{name} ({number})"
            values[preset.rdn_attribute] = [rdn_value]
            dn = f"{preset.rdn_attribute}={escape_rdn(rdn_value)},{container}"
            result = self.client.add(dn, values)
            if result.ok:
                return self._read_created(dn)
            if result.code != codes.ENTRY_ALREADY_EXISTS:
                raise self._create_error(result)
        raise AddinError(f"The directory already holds {MAX_NAME_SUFFIX} contacts named '{name}'.", code="invalid_data")

    def _create_error(self, result: Result) -> AddinError:
        container = self.settings.create_container
        if result.code == codes.NO_SUCH_OBJECT:
            return AddinError(
                f"The container '{container}' does not exist; check the setting 'create_container'.", code="not_found"
            )
        return self.client.result_error(result, f"create contacts in '{container}'")

    def _read_created(self, dn: str) -> Contact:
        attributes = self.settings.attributes
        found = self.client.search(
            dn, "(objectClass=*)", attributes.read_attributes(False), scope="BASE", missing_ok=True
        )
        if not found:
            raise AddinError(f"The new contact {dn} was created but cannot be read back.", code="not_found")
        self._remember(found[0])  # found by number at once, before the next fill
        self._seen(found)
        return to_contact(found[0], attributes, include_picture=False)

    def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        """Change the given fields; a new display name held in the RDN (OpenLDAP's cn) renames the entry."""
        if not self.settings.allow_update:
            raise Unsupported("Changing contacts is turned off for this directory (setting 'allow_update').")
        attributes = self.settings.attributes
        entry = self._existing(contact_id, attributes.read_attributes(False))
        changes = patch_changes(entry, attributes, patch)
        dn = entry.dn
        rdn_attribute = parse_dn(dn, strip=True)[0][0]
        if patch.display_name is not None and attributes.display_name.lower() == rdn_attribute.lower():
            changes.pop(attributes.display_name, None)
            new_name = patch.display_name.strip()
            if not new_name:
                raise AddinError("The name cannot be empty: it names the directory entry.", code="invalid_data")
            if new_name != entry.text(rdn_attribute):
                new_rdn = f"{rdn_attribute}={escape_rdn(new_name)}"
                result = self.client.rename(dn, new_rdn)
                if not result.ok:
                    raise self.client.result_error(result, "rename the contact")
                dn = f"{new_rdn},{parent_of(dn)}"
                if self.index is not None:
                    self.index.forget(entry.dn)
        if changes:
            result = self.client.modify(dn, changes)
            if not result.ok:
                raise self.client.result_error(result, "change the contact")
        found = self.client.search(
            dn, "(objectClass=*)", attributes.read_attributes(False), scope="BASE", missing_ok=True
        )
        if not found:
            raise AddinError("The contact was changed but cannot be read back.", code="not_found")
        self._remember(found[0])  # new numbers are found, old ones no longer, at once
        self._seen(found)
        return to_contact(found[0], attributes, include_picture=False)

    # --- test connection -----------------------------------------------------------------------------

    def test(self) -> Sequence[CheckResult]:
        """Reach, log in, base DN, a sample search, then write access for the features turned on."""
        return run_checks(self.client, self.settings, self.find, self.check_index if self.index else None)

    def diagnostics(self) -> Mapping[str, Any]:
        """The server (address, what its root DSE says of its vendor and version) and the number index's state."""
        found: dict[str, Any] = {
            "server": str(self.settings.connection.address),
            "account": self.settings.connection.bind_dn or "anonymous",
            "base_dn": self.settings.base_dn,
        }
        try:
            root = self.client.search("", "(objectClass=*)", ROOT_DSE_ATTRIBUTES, scope="BASE", missing_ok=True)
            found["server_info"] = {name: root[0].texts(name) for name in ROOT_DSE_ATTRIBUTES} if root else {}
        except AddinError as exc:
            found["server_error"] = exc.message
        index = self.index
        if index is None:
            found["index"] = {"kind": "none", "why": "the setting 'index_minutes' is 0: every search asks the server"}
        else:
            found["index"] = {
                "kind": "numbers",
                "file": index.path.name,
                "max_age_seconds": index.max_age,
                "incomplete": index.incomplete.message if index.incomplete else "",
                **index.status.as_dict(),
            }
        return found

    def check_index(self) -> CheckResult:
        """Fill the number index now, and look a sample number up in it and read its entry by DN."""
        assert self.index is not None  # test() asks only when the book keeps an index
        return check_index(
            self.index, self.settings, self.index_fill, lambda dn: self.read_by_dn(dn, include_picture=False)
        )

    def close(self) -> None:
        if self.index is not None:
            self.index.close(self.settings.connection.timeout)
        self.client.close()


def open_book(context: BookContext) -> LdapBook:
    """Check the settings and open the number index; the server is first contacted by the first search, so a
    server down now is no error."""
    settings = parse_settings(context.settings)
    index = None
    if settings.index_minutes > 0:
        connection = settings.connection
        path = index_file(
            context.data_dir,
            str(connection.address),
            connection.bind_dn,
            settings.base_dn,
            settings.preset.object_filter,
            settings.search_filter,
            ",".join(settings.attributes.phone_attributes()),
        )
        remove_other_index_files(context.data_dir, keep=path)
        index = NumberIndex(path, context.default_region, settings.index_minutes * 60.0)
    else:
        remove_other_index_files(context.data_dir, keep=None)
    return LdapBook(settings, context.default_region, index)

"""`partnercrmd books test` for an LDAP book: each step checked on its own, with what to fix in plain words.

Reach, log in, search a sample; then the local number index (filled now: how many numbers it holds, and a
sample number must lead back to its entry); then write access for the features turned on.

Write access is checked without writing: deleting a value the entry cannot
hold makes the server check the account's right to change the attribute and
then answer "no such value" (allowed) or "insufficient access" (not allowed),
leaving the entry as it was.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from partnercrmd.sdk import AddinError, CheckResult, SettingsCheck

from . import client as codes
from .client import Entry, LdapClient
from .index import Fill, NumberIndex
from .ldap3_api import ldap3
from .mapping import to_contact
from .settings import LdapSettings, parse_settings

Finder = Callable[[str, bool, int], list[Entry]]
"""LdapBook.find: (inner filter, include picture, size limit) → contact entries."""
ReadByDn = Callable[[str], Entry | None]
"""LdapBook.read_by_dn without the picture: an entry by its DN, None when it is gone."""


def probe_value() -> str:
    """A value no entry holds."""
    return f"partnercrmd-write-check-{secrets.token_hex(8)}"


def failed(check: str, exc: AddinError) -> CheckResult:
    return CheckResult(check, False, exc.message, exc.code)


def check_write(
    client: LdapClient, entry: Entry, attribute: str, check: str, purpose: str, turn_off: str
) -> CheckResult:
    """Whether the account may change `attribute` of `entry` (for `purpose`), changing nothing.

    `turn_off` says how to do without the feature, e.g. "clear the setting 'activity_attribute'".
    """
    try:
        result = client.modify(entry.dn, {attribute: [(ldap3.MODIFY_DELETE, [probe_value()])]})
    except AddinError as exc:
        return failed(check, exc)
    account = client.settings.bind_dn or "anonymous"
    # Samba AD answers an attribute its schema lacks with noSuchAttribute too, saying "was not found in the schema".
    unknown = result.code == codes.UNDEFINED_ATTRIBUTE_TYPE or (
        result.code == codes.NO_SUCH_ATTRIBUTE and "not found in the schema" in result.message
    )
    if result.code in (codes.NO_SUCH_ATTRIBUTE, codes.SUCCESS) and not unknown:
        return CheckResult(check, True, f"The account may change '{attribute}' ({purpose}).")
    if result.code == codes.INSUFFICIENT_ACCESS_RIGHTS:
        return CheckResult(
            check,
            False,
            f"The account '{account}' may not change '{attribute}', needed for {purpose}; ask the directory "
            f"administrator for write access to it, or {turn_off}.",
            "invalid_auth",
        )
    if unknown:
        return CheckResult(
            check,
            False,
            f"The directory has no attribute '{attribute}'; check the setting for {purpose}.",
            "invalid_data",
        )
    return failed(check, client.result_error(result, f"change '{attribute}'"))


def run_checks(
    client: LdapClient, settings: LdapSettings, find: Finder, index_check: Callable[[], CheckResult] | None = None
) -> list[CheckResult]:
    """Reach, log in and search stop the checks when they fail (the later ones need them); then the number index
    (when the book keeps one) and each feature."""
    address = settings.connection.address
    try:
        client.reach()
    except AddinError as exc:
        return [failed("reach", exc)]
    results = [CheckResult("reach", True, f"The LDAP server at {address} answers.")]
    try:
        client.run(lambda connection: None)
    except AddinError as exc:
        return [*results, failed("authenticate", exc)]
    account = f"as '{settings.connection.bind_dn}'" if settings.connection.bind_dn else "anonymously"
    results.append(CheckResult("authenticate", True, f"Logged in {account}."))
    try:
        base = client.search(settings.base_dn, "(objectClass=*)", [], scope="BASE", missing_ok=True)
        sample = find("", False, 1) if base else []
    except AddinError as exc:
        return [*results, failed("search", exc)]
    if not base:
        message = f"The base DN '{settings.base_dn}' does not exist or the account cannot see it; check 'base_dn'."
        return [*results, CheckResult("search", False, message, "not_found")]
    if not sample:
        extra = f" and {settings.search_filter}" if settings.search_filter else ""
        message = (
            f"No entries under '{settings.base_dn}' match {settings.preset.object_filter}{extra}; check 'base_dn', "
            "'preset' and 'search_filter'."
        )
        return [*results, CheckResult("search", False, message, "not_found")]
    contact = to_contact(sample[0], settings.attributes, include_picture=False)
    results.append(
        CheckResult(
            "search",
            True,
            f"Contacts found, e.g. '{contact.name}' with {count_of(len(contact.phones), 'phone number')}.",
        )
    )
    if index_check is not None:
        results.append(index_check())
    if settings.activity_attribute:
        turn_off = "clear the setting 'activity_attribute'"
        results.append(check_write(client, sample[0], settings.activity_attribute, "log", "logging calls", turn_off))
    if settings.allow_update:
        attributes = settings.attributes.phone_attributes()[:1] or (settings.attributes.email,)
        turn_off = "turn 'allow_update' off"
        results.append(check_write(client, sample[0], attributes[0], "update", "changing contacts", turn_off))
    if settings.allow_create:
        results.append(check_container(client, settings.create_container))
    return results


def count_of(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def check_container(client: LdapClient, container: str) -> CheckResult:
    try:
        found = client.search(container, "(objectClass=*)", [], scope="BASE", missing_ok=True)
    except AddinError as exc:
        return failed("create", exc)
    if not found:
        message = f"The container '{container}' does not exist or the account cannot see it; check 'create_container'."
        return CheckResult("create", False, message, "not_found")
    return CheckResult("create", True, f"New contacts go to '{container}'.")


def check_index(index: NumberIndex, settings: LdapSettings, fill: Fill, read_by_dn: ReadByDn) -> CheckResult:
    """Fill the local number index now; then a sample number must lead back to its entry, read by DN.

    Fails with the fill's error key (e.g. `timeout` for a directory too large to list within the timeout),
    `not_found` when no contact has a phone number in the phone attributes, `invalid_data` when the sample
    number does not find its entry.
    """
    try:
        count = index.refresh(fill)
    except AddinError as exc:
        return CheckResult("index", False, f"The local number index could not be filled: {exc.message}", exc.code)
    phones = ", ".join(settings.attributes.phone_attributes()) or "none"
    if count == 0 or index.sample is None:
        return CheckResult(
            "index",
            False,
            f"No contact under '{settings.base_dn}' has a phone number in the phone attributes ({phones}); "
            "check the attr_* phone settings.",
            "not_found",
        )
    if index.incomplete is not None:
        return CheckResult(
            "index",
            False,
            f"The local number index holds only {count_of(count, 'phone number')}: {index.incomplete.message}. "
            "Numbers it lacks are still found by a search of the directory, which is slower.",
            index.incomplete.code,
        )
    dn, number = index.sample
    try:
        entry = read_by_dn(dn) if dn in index.lookup(number) else None
    except AddinError as exc:
        return failed("index", exc)
    if entry is None:
        return CheckResult(
            "index",
            False,
            f"The local number index holds {count_of(count, 'phone number')}, but the sample number {number} does "
            f"not lead back to its entry {dn}; report this with the directory's kind and version.",
            "invalid_data",
        )
    name = to_contact(entry, settings.attributes, include_picture=False).name
    return CheckResult(
        "index",
        True,
        f"The local number index holds {count_of(count, 'phone number')}; a sample number, {number}, finds "
        f"'{name}' without a search of the directory. {bound_note(index, settings)}",
    )


def bound_note(index: NumberIndex, settings: LdapSettings) -> str:
    """What the server search for numbers the index does not know is narrowed by, or why it is not."""
    attribute = settings.modified_attribute
    if not attribute:
        return "Numbers it does not know are searched among all contacts (setting 'modified_attribute' is empty)."
    since = index.bound(attribute)
    if since is None:
        return (
            f"Numbers it does not know are searched among all contacts: not every contact has a readable "
            f"'{attribute}' in the form YYYYMMDDHHMMSSZ; let the account read it, or set 'modified_attribute' to "
            "the directory's change time attribute (empty: stop asking for one)."
        )
    return f"Numbers it does not know are searched only among contacts whose '{attribute}' is {since} or later."


def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """Before a book's settings are saved: every rule `parse_settings` applies (ConfigError names the setting),
    and with `connect` the server reached, the account logged in and the base DN found (AddinError otherwise)."""
    parsed = parse_settings(settings)
    if not connect:
        return SettingsCheck()
    client = LdapClient(parsed.connection)
    try:
        client.run(lambda connection: None)  # reach and log in
        base = client.search(parsed.base_dn, "(objectClass=*)", [], scope="BASE", missing_ok=True)
    finally:
        client.close()
    if not base:
        message = f"The base DN '{parsed.base_dn}' does not exist or the account cannot see it."
        return SettingsCheck(errors={"base_dn": message}, error_key="not_found")
    return SettingsCheck()

"""Directory entries and contacts, both ways: what a search shows, what a new entry or a change writes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC

from partnercrmd.sdk import Activity, Contact, ContactPatch, Phone, PhoneKind, Picture, searchable_text

from .client import Entry
from .filters import is_guid_attribute
from .index import Named
from .ldap3_api import ldap3
from .presets import PHONE_KINDS, AttributeMap, Preset

DN_FIELD = "Directory entry"
"""The custom field showing where the entry lives, for the administrator who has to find it."""
MAX_ACTIVITY_VALUE = 1024
"""X.520's upper bound for description; a longer call note is cut."""
MAX_APPENDED_TEXT = 30_000
"""A single-valued log (Active Directory's info holds 32,767 characters) keeps its newest calls."""

Changes = dict[str, list[tuple[str, list[str]]]]
"""ldap3's modify changes: {attribute: [(MODIFY_REPLACE, values)]}."""


def entry_id(entry: Entry, attributes: AttributeMap) -> str:
    """The entry's unique id (entryUUID, or objectGUID as text); its DN when the server sends neither."""
    if is_guid_attribute(attributes.id):
        raw = entry.raw(attributes.id)
        if raw and len(raw[0]) == 16:
            return str(uuid.UUID(bytes_le=raw[0]))
    elif text := entry.text(attributes.id):
        return text
    return entry.dn


def picture_of(data: bytes) -> Picture:
    """A photo attribute's bytes with their image type (jpegPhoto is JPEG; thumbnailPhoto may be anything)."""
    if data.startswith(b"\x89PNG"):
        return Picture("image/png", data)
    if data.startswith(b"GIF8"):
        return Picture("image/gif", data)
    return Picture("image/jpeg", data)


def phone_values(entry: Entry, attributes: AttributeMap) -> list[tuple[str, str, PhoneKind]]:
    """(attribute, number, kind) for every phone value of the entry, in contact order."""
    found: list[tuple[str, str, PhoneKind]] = []
    seen: set[str] = set()
    for kind in PHONE_KINDS:
        for name in attributes.phones.get(kind, ()):
            if name.lower() in seen:
                continue
            seen.add(name.lower())
            found += [(name, number, kind) for number in entry.texts(name) if number]
    return found


def to_contact(entry: Entry, attributes: AttributeMap, include_picture: bool) -> Contact:
    """A search result or record page: the entry's names, phones, emails, notes (and photo if asked)."""
    picture = None
    if include_picture and attributes.picture:
        photos = entry.raw(attributes.picture)
        picture = picture_of(photos[0]) if photos and photos[0] else None
    notes = [text for text in entry.texts(attributes.notes) if text]
    return Contact(
        id=entry_id(entry, attributes),
        display_name=entry.text(attributes.display_name),
        first_name=entry.text(attributes.first_name),
        last_name=entry.text(attributes.last_name),
        company=entry.text(attributes.company),
        job_title=entry.text(attributes.job_title),
        phones=[Phone(number, kind) for _, number, kind in phone_values(entry, attributes)],
        emails=[email for email in entry.texts(attributes.email) if email],
        notes="\n\n".join(notes),
        picture=picture,
        custom={DN_FIELD: entry.dn},
    )


def named(entry: Entry, attributes: AttributeMap) -> Named:
    """What the name index keeps of an entry: what a name search looks in (`name_filter`'s attributes: names,
    company, e-mail), each value folded; and the name results are ordered by."""
    values = [value for name in attributes.name_attributes() for value in entry.texts(name)]
    first_last = " ".join(v for v in (entry.text(attributes.first_name), entry.text(attributes.last_name)) if v)
    return Named(entry.text(attributes.display_name) or first_last, searchable_text(values))


def _add(values: dict[str, list[str]], name: str, value: str) -> None:
    if name and value.strip():
        values.setdefault(name, []).append(value.strip())


def phone_attribute(attributes: AttributeMap, kind: PhoneKind) -> str:
    """Where a new number of this kind is written: the kind's first attribute, else the business one."""
    for candidate in (kind, PhoneKind.BUSINESS):
        names = attributes.phones.get(candidate, ())
        if names:
            return names[0]
    return ""


def new_entry(contact: Contact, preset: Preset, attributes: AttributeMap) -> tuple[str, dict[str, list[str]]]:
    """(RDN value, attributes) of a new directory entry for `contact`.

    The RDN is the contact's name; every person entry needs a surname, so a
    contact without a last name is filed under its full name.
    """
    name = contact.name.strip()
    values: dict[str, list[str]] = {"objectClass": list(preset.create_classes)}
    _add(values, preset.rdn_attribute, name)
    if attributes.display_name.lower() != preset.rdn_attribute.lower():
        _add(values, attributes.display_name, contact.display_name or name)
    _add(values, attributes.first_name, contact.first_name)
    _add(values, attributes.last_name, contact.last_name or name)
    _add(values, attributes.company, contact.company)
    _add(values, attributes.job_title, contact.job_title)
    _add(values, attributes.notes, contact.notes)
    for email in contact.emails:
        _add(values, attributes.email, email)
    for phone in contact.phones:
        _add(values, phone_attribute(attributes, phone.kind), phone.number)
    return name, values


def _replace_first(current: Sequence[str], value: str) -> list[str]:
    """The values with the first one replaced by `value` (removed when `value` is empty)."""
    rest = list(current[1:])
    return [value.strip(), *rest] if value.strip() else rest


def patch_changes(entry: Entry, attributes: AttributeMap, patch: ContactPatch) -> Changes:
    """The modifications `SaveRecord` makes: each given field replaces its attribute (email and phone: the first)."""
    changes: Changes = {}

    def put(name: str, values: list[str]) -> None:
        if name:
            changes[name] = [(ldap3.MODIFY_REPLACE, values)]

    simple: Mapping[str, str | None] = {
        attributes.display_name: patch.display_name,
        attributes.first_name: patch.first_name,
        attributes.last_name: patch.last_name,
        attributes.company: patch.company,
        attributes.notes: patch.notes,
    }
    for name, value in simple.items():
        if value is not None:
            put(name, [value.strip()] if value.strip() else [])
    if patch.email is not None:
        put(attributes.email, _replace_first(entry.texts(attributes.email), patch.email))
    if patch.phone is not None:
        phones = phone_values(entry, attributes)
        if phones:
            name = phones[0][0]
            put(name, _replace_first([v for v in entry.texts(name) if v], patch.phone))
        elif patch.phone.strip():
            put(phone_attribute(attributes, PhoneKind.BUSINESS), [patch.phone.strip()])
    return changes


def activity_value(activity: Activity) -> str:
    """One logged call as one attribute value: the subject line, then the details."""
    start = activity.start_utc.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"{start} {activity.subject}\n{activity.body}".strip()
    return text[:MAX_ACTIVITY_VALUE]


def appended_text(current: str, value: str) -> str:
    """A single-valued log with `value` added at the end, oldest calls dropped past the size limit."""
    combined = f"{current.rstrip()}\n\n{value}" if current.strip() else value
    return combined[-MAX_APPENDED_TEXT:]

"""Tryton records <-> partnercrmd's model: parties and contact mechanisms as contacts, notes as call activities.

Tryton keeps a person or a company as one *party* (`party.party`: name, code) with *contact mechanisms*
(`party.contact_mechanism`: type phone / mobile / fax / email / website…, `value` as shown and
`value_compact`, the E.164 form when the server has the phonenumbers library, else the value as typed).
Everything read from the server is untrusted: each value is type-checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from partnercrmd.sdk import Activity, CallDirection, Contact, Phone, PhoneKind, phone_key

PARTY_MODEL = "party.party"
PHONE_TYPES: Mapping[str, PhoneKind] = {"phone": PhoneKind.BUSINESS, "mobile": PhoneKind.MOBILE, "fax": PhoneKind.FAX}
MECHANISM_TYPE: Mapping[PhoneKind, str] = {PhoneKind.MOBILE: "mobile", PhoneKind.FAX: "fax"}
"""The mechanism type a phone of each kind is created as; every other kind is "phone"."""
PARTY_FIELDS = (
    "id",
    "name",
    "code",
    "contact_mechanisms.type",
    "contact_mechanisms.value",
    "addresses.full_address",
)
"""Read in one call: the party and, through Tryton's dotted reads, its contact mechanisms and addresses."""
ORDER = (("name", "ASC"), ("id", "ASC"))
LIKE_ESCAPE = "\\"


# --- reading parties -----------------------------------------------------------------------------------


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _rows(value: object) -> list[Mapping[str, Any]]:
    """The list of related records a dotted read gives (`"contact_mechanisms."`), ignoring anything else."""
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


def party_id(value: object) -> int | None:
    """A party id as Tryton gives it (an int), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def party_to_contact(record: Mapping[str, Any]) -> Contact | None:
    """A party read with PARTY_FIELDS as a contact (None when the record has no usable id)."""
    pid = party_id(record.get("id"))
    if pid is None:
        return None
    phones: list[Phone] = []
    emails: list[str] = []
    website = ""
    for mechanism in _rows(record.get("contact_mechanisms.")):
        kind, value = _text(mechanism.get("type")), _text(mechanism.get("value"))
        if not value:
            continue
        if kind in PHONE_TYPES:
            phones.append(Phone(value, PHONE_TYPES[kind]))
        elif kind == "email":
            emails.append(value)
        elif kind == "website" and not website:
            website = value
    addresses = [_text(a.get("full_address")) for a in _rows(record.get("addresses."))]
    code = _text(record.get("code"))
    return Contact(
        id=str(pid),
        display_name=_text(record.get("name")) or f"Party {code or pid}",
        phones=phones,
        emails=emails,
        address=next((a for a in addresses if a), ""),
        url=website,
        custom={"Party code": code} if code else {},
    )


def phone_numbers(record: Mapping[str, Any]) -> list[str]:
    """The phone, mobile and fax numbers of a party record (for the local number index)."""
    return [
        _text(m.get("value"))
        for m in _rows(record.get("contact_mechanisms."))
        if _text(m.get("type")) in PHONE_TYPES and _text(m.get("value"))
    ]


# --- search domains ------------------------------------------------------------------------------------


def escape_like(text: str) -> str:
    """Text for a Tryton `ilike` pattern, with its wildcards taken literally (Tryton escapes with a backslash)."""
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return text


def mechanism_domain(forms: Iterable[str]) -> list[Any]:
    """Phone, mobile and fax contact mechanisms stored in one of `forms`.

    `value_compact` holds E.164 on servers with phonenumbers, so the E.164 form finds every such number;
    `value` catches numbers stored as typed elsewhere.
    """
    wanted = sorted(set(forms))
    return [("type", "in", sorted(PHONE_TYPES)), ["OR", ("value_compact", "in", wanted), ("value", "in", wanted)]]


def name_domain(text: str) -> list[Any]:
    """Parties whose name, code or contact values contain every word (case-insensitive), like Tryton's own search."""
    return [("rec_name", "ilike", f"%{escape_like(word)}%") for word in text.split()]


# --- writing parties ----------------------------------------------------------------------------------


def number_for_tryton(number: str, region: str | None) -> str:
    """A number in the form Tryton accepts without knowing the party's country: international when it parses.

    Tryton reads numbers without a country code in the country of the party's address, and a new party
    has none; "020 7946 0958" must therefore go as "+442079460958" (with the daemon's default region).
    """
    key = phone_key(number, region)
    if key.valid and key.e164:
        return key.e164 + (f" ext. {key.extension}" if key.extension else "")
    return number.strip()


def mechanism(kind: str, value: str) -> dict[str, str]:
    return {"type": kind, "value": value}


def party_values(contact: Contact, region: str | None) -> dict[str, Any]:
    """The values of `party.party.create` for a new contact, its contact mechanisms included."""
    mechanisms = [
        mechanism(MECHANISM_TYPE.get(p.kind, "phone"), number_for_tryton(p.number, region))
        for p in contact.phones
        if p.number.strip()
    ]
    mechanisms += [mechanism("email", e.strip()) for e in contact.emails if e.strip()]
    if contact.url.strip():
        mechanisms.append(mechanism("website", contact.url.strip()))
    values: dict[str, Any] = {"name": contact.name}
    if mechanisms:
        values["contact_mechanisms"] = [["create", mechanisms]]
    return values


def patched_name(
    display_name: str | None, first_name: str | None, last_name: str | None, company: str | None
) -> str | None:
    """The party's new name for a patch: the display name, else first + last name, else the company."""
    if display_name and display_name.strip():
        return display_name.strip()
    full = f"{first_name or ''} {last_name or ''}".strip()
    if full:
        return full
    if company and company.strip():
        return company.strip()
    return None


# --- notes as call activities ---------------------------------------------------------------------------

PARTY_RESOURCE = "party.party,{id}"
"""How notes and avatars name the party they belong to (a Tryton Reference value)."""
_DIRECTION_LINE = re.compile(r"^Direction:\s*(Inbound|Outbound)\s*$", re.MULTILINE)
_START_LINE = re.compile(r"^Start:\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\s*$", re.MULTILINE)
_DURATION_LINE = re.compile(r"^Duration:\s*(?:(\d+):)?(\d{1,2}):(\d\d)\s*$", re.MULTILINE)
_SUBJECT_DIRECTION = {"Incoming call": CallDirection.INBOUND, "Outgoing call": CallDirection.OUTBOUND}


def note_message(activity: Activity) -> str:
    """The text of the `ir.note` for a call: the subject on the first line, then the details."""
    return f"{activity.subject}\n{activity.body}".strip()


def note_to_activity(note: Mapping[str, Any]) -> Activity | None:
    """A note partnercrmd (or a person, in its format) wrote about a call; None for any other note."""
    message = _text(note.get("message"))
    subject, _, body = message.partition("\n")
    direction = next((d for prefix, d in _SUBJECT_DIRECTION.items() if subject.startswith(prefix)), None)
    if (found := _DIRECTION_LINE.search(body)) is not None:
        direction = CallDirection(found.group(1))
    if direction is None:
        return None
    start = _note_start(body, note.get("create_date"))
    duration = 0
    if (length := _DURATION_LINE.search(body)) is not None:
        hours, minutes, seconds = (int(part or 0) for part in length.groups())
        duration = hours * 3600 + minutes * 60 + seconds
    note_id = party_id(note.get("id"))
    return Activity(subject, body.strip(), direction, start, duration, str(note_id) if note_id else "")


def _note_start(body: str, created: object) -> datetime:
    if (found := _START_LINE.search(body)) is not None:
        return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    if isinstance(created, datetime):  # Tryton keeps times in UTC, without a zone
        return created.replace(tzinfo=UTC) if created.tzinfo is None else created
    return datetime.now(UTC)

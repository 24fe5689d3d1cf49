"""BottleCRM records <-> partnercrmd's model: contacts, contact changes, and calls as interactions.

What BottleCRM sends is untrusted: every value is type-checked here, and a field of the wrong
kind is left out rather than trusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from partnercrmd.sdk import Activity, AddinError, CallDirection, Contact, ContactPatch, Phone, PhoneKind, phone_key

PHONE_FORMAT = re.compile(r"^[\d\s\-().+]{7,25}$")
"""What BottleCRM accepts in a contact's phone field (its `flexible_phone_validator`)."""
MAX_SUBJECT = 200
MAX_BODY = 10_000
NAMES_NEEDED = (
    "BottleCRM needs a first and a last name for a contact; give both "
    "(FirstName and LastName, or a ContactName of at least two words)."
)


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return value.strip() if isinstance(value, str) else ""


def _account_name(record: Mapping[str, Any]) -> str:
    account = record.get("account_detail")
    return _text(account, "name") if isinstance(account, Mapping) else ""


def contact_from_record(record: Mapping[str, Any]) -> Contact:
    """A contact as BottleCRM's `ContactSerializer` sends it."""
    contact_id = record.get("id")
    if not isinstance(contact_id, str) or not contact_id:
        raise AddinError("BottleCRM sent a contact without an id.", code="invalid_data")
    phone = _text(record, "phone")
    email = _text(record, "email")
    organization = _text(record, "organization")
    account = _account_name(record)
    address = ", ".join(
        part for part in (_text(record, k) for k in ("address_line", "city", "state", "postcode", "country")) if part
    )
    custom = {
        label: value
        for label, value in (
            ("Department", _text(record, "department")),
            ("LinkedIn", _text(record, "linkedin_url")),
            ("Account", account if account and account != organization else ""),
            ("Do not call", "Yes" if record.get("do_not_call") is True else ""),
        )
        if value
    }
    return Contact(
        id=contact_id,
        first_name=_text(record, "first_name"),
        last_name=_text(record, "last_name"),
        company=organization or account,
        job_title=_text(record, "title"),
        phones=[Phone(phone, PhoneKind.BUSINESS)] if phone else [],
        emails=[email] if email else [],
        address=address,
        notes=_text(record, "description"),
        custom=custom,
    )


def record_numbers(record: Mapping[str, Any]) -> list[str]:
    """The phone numbers of a contact record, for the number index."""
    phone = _text(record, "phone")
    return [phone] if phone else []


def phone_for_bottlecrm(number: str, region: str | None) -> str:
    """`number` as BottleCRM accepts it: as typed when it can, else in E.164 (a tel: link, an extension…)."""
    number = number.strip()
    if not number or PHONE_FORMAT.match(number):
        return number
    key = phone_key(number, region)
    candidate = key.e164 or key.digits
    if PHONE_FORMAT.match(candidate):
        return candidate
    raise AddinError(
        f"BottleCRM stores phone numbers of 7 to 25 digits and separators; {number[:40]!r} is not one.",
        code="invalid_data",
    )


def _split_name(name: str) -> tuple[str, str]:
    """("Mary Ann", "Smith") from "Mary Ann Smith"; a single word gives ("word", "")."""
    words = name.split()
    if len(words) < 2:
        return (words[0] if words else "", "")
    return " ".join(words[:-1]), words[-1]


def new_contact_body(contact: Contact, region: str | None) -> dict[str, Any]:
    """`POST /api/contacts/` for a new contact; BottleCRM requires both names."""
    first, last = contact.first_name.strip(), contact.last_name.strip()
    if not first and not last:
        first, last = _split_name(contact.display_name)
    if not first or not last:
        raise AddinError(NAMES_NEEDED, code="invalid_data")
    body: dict[str, Any] = {"first_name": first, "last_name": last}
    if contact.phones:
        body["phone"] = phone_for_bottlecrm(contact.phones[0].number, region)
    optional = {
        "email": contact.emails[0] if contact.emails else "",
        "organization": contact.company,
        "title": contact.job_title,
        "description": contact.notes,
    }
    body.update({key: value.strip() for key, value in optional.items() if value.strip()})
    return body


def patch_body(patch: ContactPatch, region: str | None) -> dict[str, Any]:
    """`PATCH /api/contacts/<id>/`: only what the patch changes."""
    body: dict[str, Any] = {}
    first, last = patch.first_name, patch.last_name
    if first is None and last is None and patch.display_name is not None:
        first, last = _split_name(patch.display_name)
    for key, value in (("first_name", first), ("last_name", last)):
        if value is not None:
            if not value.strip():
                raise AddinError(NAMES_NEEDED, code="invalid_data")
            body[key] = value.strip()
    if patch.phone is not None:
        body["phone"] = phone_for_bottlecrm(patch.phone, region)
    for key, value in (("email", patch.email), ("organization", patch.company), ("description", patch.notes)):
        if value is not None:
            body[key] = value.strip()
    return body


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def interaction_body(contact_id: str, activity: Activity, now: datetime) -> dict[str, Any]:
    """`POST /api/interactions/`: the call as an interaction of kind `call` on the contact.

    BottleCRM refuses times more than five minutes ahead, so a start in the future (a client
    clock running fast) is logged as now. A call with a duration was answered ("connected"),
    one without was not ("no_answer").
    """
    start = activity.start_utc if activity.start_utc.tzinfo else activity.start_utc.replace(tzinfo=UTC)
    start = min(start, now)
    return {
        "kind": "call",
        "contact": contact_id,
        "direction": "inbound" if activity.direction is CallDirection.INBOUND else "outbound",
        "occurred_at": utc_text(start),
        "duration_seconds": max(0, activity.duration_seconds),
        "outcome": "connected" if activity.duration_seconds > 0 else "no_answer",
        "subject": activity.subject[:MAX_SUBJECT],
        "body": activity.body[:MAX_BODY],
    }


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def activity_from_interaction(record: Mapping[str, Any]) -> Activity | None:
    """An interaction of the contact's timeline; None when it lacks an id or a time."""
    interaction_id, start = record.get("id"), _moment(record.get("occurred_at"))
    if not isinstance(interaction_id, str) or not interaction_id or start is None:
        return None
    duration = record.get("duration_seconds")
    kind = _text(record, "kind") or "interaction"
    return Activity(
        subject=_text(record, "subject") or kind.replace("_", " ").capitalize(),
        body=_text(record, "body"),
        direction=CallDirection.INBOUND if record.get("direction") == "inbound" else CallDirection.OUTBOUND,
        start_utc=start,
        duration_seconds=duration if isinstance(duration, int) and not isinstance(duration, bool) else 0,
        id=interaction_id,
    )

"""Checks on add-in output: everything an add-in returns is untrusted.

`clean_contact` and `clean_activity` type-check and length-limit what an add-in returned before it goes
anywhere else (the search engine calls them on every answer); `InvalidData` says what was wrong.
"""

from __future__ import annotations

from datetime import datetime

from .model import Activity, CallDirection, Contact, Phone, PhoneKind, Picture

MAX_TEXT = 1000
"""Characters kept of a text field (names, company, address…); longer text is cut."""
MAX_NOTES = 20_000
"""Characters kept of notes and activity bodies."""
MAX_LIST = 50
"""Items kept of a list (phones, emails, custom fields); the rest are dropped."""
MAX_PICTURE_BYTES = 512 * 1024
"""A larger picture is dropped (the contact is kept)."""


class InvalidData(Exception):
    """An add-in returned something that is not what the contract promises."""


def _text(value: object, what: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidData(f"{what} is {type(value).__name__}, not text")
    return value[:limit]


def clean_contact(value: object) -> Contact:
    """A type-checked, length-limited copy of what an add-in returned as a contact."""
    if not isinstance(value, Contact):
        raise InvalidData(f"a search result is {type(value).__name__}, not Contact")
    phones: list[Phone] = []
    for phone in list(value.phones or [])[:MAX_LIST]:
        if not isinstance(phone, Phone):
            raise InvalidData(f"a phone is {type(phone).__name__}, not Phone")
        phones.append(Phone(_text(phone.number, "a phone number", 64), PhoneKind(phone.kind)))
    picture = value.picture
    if picture is not None:
        if not isinstance(picture, Picture) or not isinstance(picture.data, bytes):
            raise InvalidData("picture is not a Picture with bytes")
        if len(picture.data) > MAX_PICTURE_BYTES or not picture.mime_type.startswith("image/"):
            picture = None
    custom = value.custom or {}
    if not isinstance(custom, dict):
        raise InvalidData("custom fields are not a dict")
    contact_id = _text(value.id, "id", 512)
    if not contact_id:
        raise InvalidData("a contact has no id")
    return Contact(
        id=contact_id,
        display_name=_text(value.display_name, "display_name"),
        first_name=_text(value.first_name, "first_name"),
        last_name=_text(value.last_name, "last_name"),
        company=_text(value.company, "company"),
        job_title=_text(value.job_title, "job_title"),
        phones=phones,
        emails=[_text(e, "an email", 320) for e in list(value.emails or [])[:MAX_LIST]],
        address=_text(value.address, "address"),
        notes=_text(value.notes, "notes", MAX_NOTES),
        url=_text(value.url, "url", 2048),
        picture=picture,
        custom={
            _text(k, "a custom field name", 100): _text(v, "a custom field") for k, v in list(custom.items())[:MAX_LIST]
        },
        record_type=_text(value.record_type, "record_type", 100) or "Contact",
    )


def clean_activity(value: object) -> Activity:
    if not isinstance(value, Activity):
        raise InvalidData(f"an activity is {type(value).__name__}, not Activity")
    if not isinstance(value.start_utc, datetime):
        raise InvalidData("an activity's start is not a datetime")
    return Activity(
        subject=_text(value.subject, "subject"),
        body=_text(value.body, "body", MAX_NOTES),
        direction=CallDirection(value.direction),
        start_utc=value.start_utc,
        duration_seconds=int(value.duration_seconds),
        id=_text(value.id, "activity id", 512),
    )

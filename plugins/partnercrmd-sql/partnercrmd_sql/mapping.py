"""Rows and records: which columns hold what, and a result row as a `Contact` or `Activity`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from partnercrmd.sdk import Activity, CallDirection, Contact, Phone, PhoneKind, Picture

Row = Mapping[str, object]

PHONE_KINDS: Mapping[str, PhoneKind] = {
    "business": PhoneKind.BUSINESS,
    "work": PhoneKind.BUSINESS,
    "mobile": PhoneKind.MOBILE,
    "cell": PhoneKind.MOBILE,
    "home": PhoneKind.HOME,
    "fax": PhoneKind.FAX,
    "other": PhoneKind.OTHER,
}
MAX_CUSTOM_FIELDS = 20
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True)
class PhoneColumn:
    name: str
    kind: PhoneKind


@dataclass(frozen=True)
class ColumnMap:
    """Which result columns hold the contact's fields (empty: the table has no such column)."""

    id: str
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    company: str = ""
    email: str = ""
    notes: str = ""
    picture: str = ""
    phones: tuple[PhoneColumn, ...] = ()
    reversed_digits: tuple[tuple[str, str], ...] = ()
    """(phone column, generated column holding that column's digits reversed): number searches use its index."""

    def text_columns(self) -> tuple[str, ...]:
        """Columns a name search looks in."""
        names = (self.display_name, self.first_name, self.last_name, self.company, self.email)
        return tuple(dict.fromkeys(n for n in names if n))

    def selected(self, include_picture: bool) -> tuple[str, ...]:
        """Every mapped column once, in a stable order."""
        names = [
            self.id,
            self.display_name,
            self.first_name,
            self.last_name,
            self.company,
            self.email,
            self.notes,
            *(p.name for p in self.phones),
        ]
        if include_picture:
            names.append(self.picture)
        return tuple(dict.fromkeys(n for n in names if n))

    def known(self) -> frozenset[str]:
        return frozenset(n.lower() for n in (*self.selected(True), self.picture) if n)


@dataclass(frozen=True)
class ActivityColumns:
    """Where calls are logged: a table and its columns (empty: not written)."""

    contact: str
    id: str = ""
    subject: str = ""
    body: str = ""
    direction: str = ""
    start: str = ""
    duration: str = ""


def guess_kind(column: str) -> PhoneKind:
    """What a phone column holds, from its name: mobile_phone → mobile, fax → fax, home_tel → home."""
    lowered = column.lower()
    for word, kind in PHONE_KINDS.items():
        if word in lowered:
            return kind
    return PhoneKind.BUSINESS


class _Lookup:
    """A row's values by column name: exact first, then ignoring case (PostgreSQL lower-cases unquoted aliases)."""

    def __init__(self, row: Row) -> None:
        self.row = row
        self.folded = {key.lower(): value for key, value in row.items()}

    def value(self, column: str) -> object:
        if not column:
            return None
        if column in self.row:
            return self.row[column]
        return self.folded.get(column.lower())

    def text(self, column: str) -> str:
        value = self.value(column)
        if value is None or isinstance(value, bytes | bytearray | memoryview):
            return ""
        return str(value).strip()


def picture_of(value: object) -> Picture | None:
    """A picture from a BLOB/bytea value, when its bytes are a PNG, JPEG or GIF image."""
    if not isinstance(value, bytes | bytearray | memoryview):
        return None
    data = bytes(value)
    for signature, mime_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return Picture(mime_type, data)
    return None


def row_to_contact(row: Row, columns: ColumnMap, include_picture: bool) -> Contact:
    """One result row as a contact; columns nobody mapped are shown as they are (custom fields)."""
    values = _Lookup(row)
    email = values.text(columns.email)
    phones = [Phone(number, p.kind) for p in columns.phones if (number := values.text(p.name))]
    known = columns.known()
    custom: dict[str, str] = {}
    for key, value in row.items():
        if key.lower() in known or value is None or isinstance(value, bytes | bytearray | memoryview):
            continue
        text = str(value).strip()
        if text and len(custom) < MAX_CUSTOM_FIELDS:
            custom[key] = text
    return Contact(
        id=values.text(columns.id),
        display_name=values.text(columns.display_name),
        first_name=values.text(columns.first_name),
        last_name=values.text(columns.last_name),
        company=values.text(columns.company),
        emails=[email] if email else [],
        notes=values.text(columns.notes),
        phones=phones,
        picture=picture_of(values.value(columns.picture)) if include_picture else None,
        custom=custom,
    )


def contact_values(contact: Contact) -> dict[str, object]:
    """The `:name` parameters a contact gives an insert (None where the contact has nothing)."""
    texts = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "display_name": contact.display_name,
        "company": contact.company,
        "email": contact.emails[0] if contact.emails else "",
        "phone": contact.phones[0].number if contact.phones else "",
        "notes": contact.notes,
    }
    return {key: (value.strip() or None) for key, value in texts.items()}


def parse_time(value: object) -> datetime:
    """A stored start time (a timestamp, ISO text or seconds since 1970) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.fromtimestamp(0, UTC)


def row_to_activity(row: Row, columns: ActivityColumns) -> Activity:
    values = _Lookup(row)
    direction = values.text(columns.direction).lower()
    duration = values.text(columns.duration)
    return Activity(
        subject=values.text(columns.subject) or "Call",
        body=values.text(columns.body),
        direction=CallDirection.OUTBOUND if direction.startswith("out") else CallDirection.INBOUND,
        start_utc=parse_time(values.value(columns.start)),
        duration_seconds=int(float(duration)) if re.fullmatch(r"\d+(\.\d*)?", duration) else 0,
        id=values.text(columns.id),
    )

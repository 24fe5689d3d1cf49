"""Read contact CSV exports from Outlook (also `;`-delimited) and Google Contacts (old and new layouts)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator

from partnercrmd.errors import BadRequest
from partnercrmd.importers.vcard import phone_kind
from partnercrmd.model import Contact, Phone, PhoneKind

__all__ = [
    "csv_from_bytes",
    "decode_csv_bytes",
    "parse_csv_with_warnings",
]

_GOOGLE_VALUE_COLUMN = re.compile(r"(email|phone) \d+ - value")
_GOOGLE_SEPARATOR = re.compile(r"\s*:::\s*")
_OUTLOOK_MARKERS = frozenset(
    {
        "first name",
        "last name",
        "company",
        "job title",
        "business phone",
        "mobile phone",
        "home phone",
        "business fax",
        "email address",
        "notes",
        "business street",
    }
)
_OUTLOOK_NAMES = frozenset({"first name", "last name", "company"})
_OUTLOOK_PHONES: tuple[tuple[str, PhoneKind], ...] = (
    ("business phone", PhoneKind.BUSINESS),
    ("business phone 2", PhoneKind.BUSINESS),
    ("company main phone", PhoneKind.BUSINESS),
    ("mobile phone", PhoneKind.MOBILE),
    ("car phone", PhoneKind.MOBILE),
    ("home phone", PhoneKind.HOME),
    ("home phone 2", PhoneKind.HOME),
    ("primary phone", PhoneKind.OTHER),
    ("other phone", PhoneKind.OTHER),
    ("assistant's phone", PhoneKind.OTHER),
    ("callback", PhoneKind.OTHER),
    ("pager", PhoneKind.OTHER),
    ("radio phone", PhoneKind.OTHER),
    ("isdn", PhoneKind.OTHER),
    ("tty/tdd phone", PhoneKind.OTHER),
    ("telex", PhoneKind.OTHER),
    ("business fax", PhoneKind.FAX),
    ("home fax", PhoneKind.FAX),
    ("other fax", PhoneKind.FAX),
)
_ID_COLUMNS = ("uid", "id", "contact id")
"""Columns that give a row its identity, which importing the file again matches (updating that contact).

Neither Outlook's export (Title, First Name … Web Page; its "Government ID Number" and "Organizational ID
Number" are a person's numbers, not the record's) nor Google Contacts' (old "Name, Given Name … Group
Membership" or new "First Name … Labels") carries one: rows of those files are matched by content only.
A file written by a script or another program may add a "UID", "ID" or "Contact ID" column.
"""
_EXPECTED = (
    "an Outlook export (First Name, Last Name, Company, Job Title, Business Phone, Mobile Phone, "
    "E-mail Address, Notes…) or a Google Contacts export (Name/Given Name/Family Name or First Name/"
    "Last Name, with E-mail 1 - Value, Phone 1 - Type or Label, Phone 1 - Value…)"
)


class _Row:
    """One CSV record, by normalised column name."""

    def __init__(self, values: dict[str, str], line: int) -> None:
        self.values = values
        self.line = line

    def get(self, *columns: str) -> str:
        """The first non-empty value among `columns`, stripped."""
        return next((value for value in (self.values.get(c, "").strip() for c in columns) if value), "")

    def is_empty(self) -> bool:
        return not any(value.strip() for value in self.values.values())


_Reader = Callable[[_Row], Contact]


def csv_from_bytes(data: bytes, source: str) -> tuple[list[Contact], list[str]]:
    """Parse the bytes of a CSV export called `source`."""
    return parse_csv_with_warnings(decode_csv_bytes(data), source)


def decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252 (what Outlook writes), else latin-1."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse_csv_with_warnings(text: str, source: str = "CSV") -> tuple[list[Contact], list[str]]:
    """Parse a CSV export; raise BadRequest if its columns are not a layout we know."""
    rows = _rows(text, source)
    header = next(rows, None)
    if header is None:
        raise BadRequest(f"{source} is empty: expected {_EXPECTED}")
    reader = _layout(set(header.values))
    if reader is None:
        raise BadRequest(f"{source}: unknown CSV layout (columns: {_describe(header)}); expected {_EXPECTED}")
    contacts: list[Contact] = []
    warnings: list[str] = []
    for row in rows:
        if row.is_empty():
            continue
        contact = reader(row)
        if contact.name:
            contacts.append(contact)
        else:
            warnings.append(f"{source}: line {row.line}: row skipped: no name, company, email or phone")
    return contacts, warnings


def _rows(text: str, source: str) -> Iterator[_Row]:
    """The header (its values are the column names as written), then each record by normalised column name.

    Each row carries the line its record starts on (a quoted field may span several lines).
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=_delimiter(text))
    columns: list[str] = []
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if columns:
                yield _Row(_record_values(columns, record), start)
            elif any(name.strip() for name in record):
                columns = [_column_key(name) for name in record]
                yield _Row(_record_values(columns, [name.strip() for name in record]), start)
    except csv.Error as exc:
        raise BadRequest(f"{source}: line {reader.line_num}: unreadable CSV ({exc})") from exc


def _record_values(columns: list[str], record: list[str]) -> dict[str, str]:
    """Map a record onto the columns; the first of duplicate columns wins, short records are padded."""
    values: dict[str, str] = {}
    padded = [*record, *[""] * (len(columns) - len(record))][: len(columns)]
    for column, value in zip(columns, padded, strict=True):
        if column and column not in values:
            values[column] = value
    return values


def _delimiter(text: str) -> str:
    """`,` unless the header line has more `;` (localized Outlook) or tabs."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > counts[","] else ","


def _column_key(name: str) -> str:
    """`"E-mail 1 - Value"` → `email 1 - value`: lower case, single spaces, `e-mail` as `email`."""
    return " ".join(name.strip().strip("\ufeff").lower().replace("e-mail", "email").split())


def _describe(header: _Row) -> str:
    names = list(header.values.values())
    shown = ", ".join("".join(c if c.isprintable() else "?" for c in name[:40]) for name in names[:12])
    return shown + (f" and {len(names) - 12} more" if len(names) > 12 else "")


def _layout(columns: set[str]) -> _Reader | None:
    if any(_GOOGLE_VALUE_COLUMN.fullmatch(column) for column in columns):
        return _google_contact
    if len(columns & _OUTLOOK_MARKERS) >= 2 and columns & _OUTLOOK_NAMES:
        return _outlook_contact
    return None


# --------------------------------------------------------------------------- Outlook


def _outlook_contact(row: _Row) -> Contact:
    """An Outlook export row ("First Name","Last Name","Company","Business Phone","E-mail Address"…)."""
    contact = Contact(
        id=row.get(*_ID_COLUMNS),
        display_name=row.get("display name", "full name", "name"),
        first_name=row.get("first name"),
        last_name=row.get("last name"),
        company=row.get("company"),
        job_title=row.get("job title"),
        phones=_unique_numbers(Phone(row.get(column), kind) for column, kind in _OUTLOOK_PHONES),
        emails=_outlook_emails(row),
        address=next(filter(None, (_outlook_address(row, where) for where in ("business", "home", "other"))), ""),
        notes=_clean_notes(row.get("notes")),
        url=row.get("web page", "personal web page"),
    )
    _add_custom(
        contact,
        department=row.get("department"),
        nickname=row.get("nickname"),
        birthday=_outlook_date(row.get("birthday")),
    )
    return contact


def _outlook_emails(row: _Row) -> list[str]:
    """E-mail Address, E-mail 2/3 Address; Exchange-internal addresses (no @) are left out."""
    addresses = (row.get(column) for column in ("email address", "email 2 address", "email 3 address"))
    return list(dict.fromkeys(address for address in addresses if "@" in address))


def _outlook_address(row: _Row, where: str) -> str:
    parts = [
        row.get(f"{where} street"),
        row.get(f"{where} street 2"),
        row.get(f"{where} street 3"),
        row.get(f"{where} address po box"),
        row.get(f"{where} city"),
        row.get(f"{where} state"),
        row.get(f"{where} postal code"),
        row.get(f"{where} country/region", f"{where} country"),
    ]
    return _join_address(parts)


def _outlook_date(value: str) -> str:
    """Outlook writes `0/0/00` for "no date"."""
    return value if value.strip("0/.- ") else ""


# --------------------------------------------------------------------------- Google


def _google_contact(row: _Row) -> Contact:
    """A Google Contacts row: old layout (`Name,Given Name,…,Phone 1 - Type`) or new (`First Name,…`)."""
    contact = Contact(
        id=row.get(*_ID_COLUMNS),
        display_name=row.get("name"),
        first_name=row.get("given name", "first name"),
        last_name=row.get("family name", "last name"),
        company=row.get("organization 1 - name", "organization name"),
        job_title=row.get("organization 1 - title", "organization title"),
        phones=_unique_numbers(_google_phones(row)),
        emails=list(dict.fromkeys(_google_values(row, "email"))),
        address=next(filter(None, (_google_address(row, n) for n in _numbers(row, "address"))), ""),
        notes=_clean_notes(row.get("notes")),
        url=next(_google_values(row, "website"), ""),
    )
    _add_custom(
        contact,
        department=row.get("organization 1 - department", "organization department"),
        nickname=row.get("nickname"),
        birthday=row.get("birthday"),
    )
    return contact


def _numbers(row: _Row, field: str) -> list[int]:
    """The N of the `<field> N - …` columns, in order."""
    pattern = re.compile(rf"{field} (\d+) - ")
    found = {int(match.group(1)) for column in row.values if (match := pattern.match(column))}
    return sorted(found)


def _google_values(row: _Row, field: str) -> Iterator[str]:
    """Every value of the `<field> N - Value` columns, unpacking Google's `a ::: b` cells."""
    for number in _numbers(row, field):
        yield from _unpack(row.get(f"{field} {number} - value"))


def _google_phones(row: _Row) -> Iterator[Phone]:
    for number in _numbers(row, "phone"):
        label = row.get(f"phone {number} - type", f"phone {number} - label")
        for value in _unpack(row.get(f"phone {number} - value")):
            yield Phone(value, phone_kind([label]))


def _google_address(row: _Row, number: int) -> str:
    prefix = f"address {number} - "
    formatted = row.get(prefix + "formatted")
    if formatted:
        return _join_address(_unpack(formatted)[:1])
    fields = ("street", "extended address", "po box", "city", "region", "postal code", "country")
    return _join_address(next(iter(_unpack(row.get(prefix + name))), "") for name in fields)


def _unpack(cell: str) -> list[str]:
    return [value for value in _GOOGLE_SEPARATOR.split(cell.strip()) if value]


# --------------------------------------------------------------------------- shared


def _unique_numbers(phones: Iterable[Phone]) -> list[Phone]:
    """Drop empty and repeated numbers (Outlook's Primary Phone often repeats another one)."""
    unique: dict[str, Phone] = {}
    for phone in phones:
        if phone.number.strip():
            unique.setdefault(phone.number.strip(), Phone(phone.number.strip(), phone.kind))
    return list(unique.values())


def _join_address(parts: Iterable[str]) -> str:
    """Address parts (which may hold several lines) as one readable line."""
    lines = (line.strip(" ,") for part in parts for line in part.replace("\r", "\n").split("\n"))
    return ", ".join(line for line in lines if line)


def _clean_notes(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _add_custom(contact: Contact, **values: str) -> None:
    for key, value in values.items():
        if value:
            contact.custom[key] = value

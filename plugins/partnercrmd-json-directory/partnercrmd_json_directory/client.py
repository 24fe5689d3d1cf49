"""Reading the directory file: the add-in's "server" is a JSON file, and this module is all that touches it.

The file holds a list of people::

    [{"id": "p-100", "name": "Dana Whitfield", "company": "Northwind Traders", "title": "Head of Sales",
      "email": "dana@northwind.example", "phones": {"business": "020 7946 0123", "mobile": "07700 900123"}}]

Every function here blocks (file reads); the connector calls them from the host's worker threads.
Failures are `AddinError`s with a stable key: `cannot_connect` when the file cannot be read (the fix is the
path or the file), `invalid_data` when what it holds is not a list of people.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from partnercrmd.sdk import AddinError, Contact, HeldBook, HeldContact, Phone, PhoneKind

MAX_FILE_BYTES = 32 * 1024 * 1024
"""A company directory is far smaller; a bigger file is a wrong path, not a directory."""

PHONE_KINDS: Mapping[str, PhoneKind] = {
    "business": PhoneKind.BUSINESS,
    "mobile": PhoneKind.MOBILE,
    "home": PhoneKind.HOME,
    "fax": PhoneKind.FAX,
    "other": PhoneKind.OTHER,
}
TEXT_FIELDS = ("name", "company", "title", "email")
MAX_CUSTOM_FIELDS = 20
"""Other text or number fields of an entry (department, location…) are shown as they are, up to this many."""

FileStamp = tuple[int, int, int, int]
"""(modification and change times in ns, size, inode): changes when the file is rewritten, replaced or chmod-ed."""


def _invalid(message: str) -> AddinError:
    return AddinError(message, code="invalid_data")


def _json_type(value: object) -> str:
    """How a JSON value is called in messages to the user."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _unreadable(path: Path, exc: OSError) -> AddinError:
    """Words for a file the add-in cannot open; all are `cannot_connect`: the fix is the path or the file."""
    if isinstance(exc, FileNotFoundError):
        message = f"The directory file {path} does not exist; check the setting 'path'."
    elif isinstance(exc, IsADirectoryError):
        message = f"{path} is a folder; the setting 'path' must name the JSON file itself."
    elif isinstance(exc, PermissionError):
        message = f"partnercrmd is not allowed to read the directory file {path}."
    else:
        message = f"The directory file {path} cannot be read ({exc.strerror or exc})."
    return AddinError(message, code="cannot_connect")


def file_stamp(path: Path) -> FileStamp:
    """What tells a changed file from the one already read; AddinError when there is no readable file."""
    try:
        info = path.stat()
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if stat.S_ISDIR(info.st_mode):
        raise _unreadable(path, IsADirectoryError(path))
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


def read_file(path: Path) -> bytes:
    """The file's bytes (`cannot_connect` when it cannot be read, `invalid_data` when it is too big)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if len(raw) > MAX_FILE_BYTES:
        raise _invalid(
            f"The directory file {path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; is it the right file?"
        )
    return raw


def parse_list(raw: bytes, path: Path) -> list[object]:
    """The JSON list the file holds (`invalid_data` for anything else); a UTF-8 byte-order mark is allowed."""
    try:
        data: object = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise _invalid(f"The directory file {path} is not UTF-8 text (byte {exc.start}).") from None
    except json.JSONDecodeError as exc:
        raise _invalid(
            f"The directory file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    except RecursionError:
        raise _invalid(f"The directory file {path} is not valid JSON (nested too deeply).") from None
    if not isinstance(data, list):
        raise _invalid(f"The directory file {path} must hold a JSON list of people, not {_json_type(data)}.")
    return data


@dataclass(frozen=True)
class Directory:
    """The people of one read of the file, in file order (searched through the `HeldBook`'s lookups)."""

    entries: HeldBook
    by_id: Mapping[str, HeldContact]


def _text(item: Mapping[str, object], key: str, where: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{where}: '{key}' must be text, not {_json_type(value)}.")
    return value.strip()


def _phones(value: object, where: str) -> list[Phone]:
    if value is None:
        return []
    if not isinstance(value, dict):
        example = '{"business": "020 7946 0000"}'
        raise _invalid(f"{where}: 'phones' must be an object such as {example}, not {_json_type(value)}.")
    phones: list[Phone] = []
    for key, number in value.items():
        kind = PHONE_KINDS.get(str(key).lower())
        if kind is None:
            raise _invalid(f"{where}: unknown phone kind '{str(key)[:40]}' (use {', '.join(PHONE_KINDS)}).")
        if number is None or number == "":
            continue
        if not isinstance(number, str):
            # A JSON number has lost any leading 0 or +; only the user can say what the number was.
            raise _invalid(
                f"{where}: phone '{str(key)[:40]}' must be text in quotes (\"020 7946 0000\"), "
                f"not {_json_type(number)}."
            )
        phones.append(Phone(number.strip(), kind))
    return phones


def _custom(item: Mapping[str, object], id_field: str) -> dict[str, str]:
    known = {id_field, "phones", *TEXT_FIELDS}
    custom: dict[str, str] = {}
    for key, value in item.items():
        if key in known or isinstance(value, bool) or not isinstance(value, str | int | float):
            continue
        text = str(value).strip()
        if text and len(custom) < MAX_CUSTOM_FIELDS:
            custom[key] = text
    return custom


def parse_entry(item: object, position: int, id_field: str, region: str | None) -> HeldContact:
    """One element of the list as a contact; `invalid_data` naming the entry when it is not a person."""
    where = f"Entry {position} of the directory file"
    if not isinstance(item, dict):
        raise _invalid(f"{where} is {_json_type(item)}, not an object describing a person.")
    raw_id = item.get(id_field)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id).strip():
        raise _invalid(
            f"{where} has no '{id_field}' (text or a whole number): every person needs a unique id "
            "(the setting 'id_field' says which field holds it)."
        )
    name, company, title, email = (_text(item, key, where) for key in TEXT_FIELDS)
    phones = _phones(item.get("phones"), where)
    contact = Contact(
        id=str(raw_id).strip(),
        display_name=name,
        company=company,
        job_title=title,
        phones=phones,
        emails=[email] if email else [],
        custom=_custom(item, id_field),
    )
    return HeldContact.of(contact, region)


def build_directory(items: Sequence[object], id_field: str, region: str | None) -> Directory:
    """Every entry checked; `invalid_data` for the first that is not a person or repeats an id."""
    entries: list[HeldContact] = []
    by_id: dict[str, HeldContact] = {}
    positions: dict[str, int] = {}
    for position, item in enumerate(items, start=1):
        entry = parse_entry(item, position, id_field, region)
        contact_id = entry.contact.id
        if contact_id in by_id:
            raise _invalid(
                f"Entries {positions[contact_id]} and {position} of the directory file share the "
                f"{id_field} '{contact_id[:60]}'; every person needs a unique id."
            )
        entries.append(entry)
        by_id[contact_id] = entry
        positions[contact_id] = position
    return Directory(HeldBook(entries), by_id)


def load_directory(path: Path, id_field: str, region: str | None) -> Directory:
    """Read, parse and check the file in one go."""
    return build_directory(parse_list(read_file(path), path), id_field, region)

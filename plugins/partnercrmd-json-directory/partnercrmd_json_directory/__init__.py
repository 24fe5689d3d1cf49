"""partnercrmd add-in: caller preview and contact popping from a company directory kept as a JSON file.

The file holds a list of people::

    [{"id": "p-100", "name": "Dana Whitfield", "company": "Northwind Traders", "title": "Head of Sales",
      "email": "dana@northwind.example", "phones": {"business": "020 7946 0123", "mobile": "07700 900123"}}]

It is read on the first search and again whenever it changes (size or modification time), so
editing the file needs no restart. Every method runs in one of the host's worker threads
(`BlockingConnector`), so reading the file never blocks the daemon.
"""

from __future__ import annotations

import dataclasses
import json
import stat
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from partnercrmd import hookimpl
from partnercrmd.errors import AddinError, ConfigError
from partnercrmd.integration import (
    BlockingConnector,
    BookContext,
    Capability,
    ConfigField,
    FieldKind,
    Integration,
    ReleaseNote,
)
from partnercrmd.model import CheckResult, Contact, Phone, PhoneKind, SearchQuery
from partnercrmd.phone import PhoneKey, numbers_match, phone_key
from partnercrmd.word_search import fold

__version__ = "0.1.0"

INTEGRATION_ID = "json-directory"
DEFAULT_ID_FIELD = "id"
ID_PLACEHOLDER = "{id}"
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


# --- reading the file ---------------------------------------------------------------------------------


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
class Entry:
    """One person of the directory, with what searches compare on worked out once per read of the file."""

    contact: Contact
    phone_keys: tuple[PhoneKey, ...]
    words: str
    """Folded name, company and email, one per line (so a query word never spans two fields)."""

    def copy(self) -> Contact:
        """A contact the caller may change without changing the cache."""
        contact = self.contact
        phones = [Phone(p.number, p.kind) for p in contact.phones]
        return dataclasses.replace(contact, phones=phones, emails=list(contact.emails), custom=dict(contact.custom))


@dataclass(frozen=True)
class Directory:
    """The people of one read of the file, in file order."""

    entries: tuple[Entry, ...]
    by_id: Mapping[str, Entry]


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


def parse_entry(item: object, position: int, id_field: str, region: str | None) -> Entry:
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
    keys = tuple(phone_key(p.number, region) for p in phones)
    return Entry(contact, keys, "\n".join(fold(text) for text in (name, company, email)))


def build_directory(items: Sequence[object], id_field: str, region: str | None) -> Directory:
    """Every entry checked; `invalid_data` for the first that is not a person or repeats an id."""
    entries: list[Entry] = []
    by_id: dict[str, Entry] = {}
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
    return Directory(tuple(entries), by_id)


def load_directory(path: Path, id_field: str, region: str | None) -> Directory:
    """Read, parse and check the file in one go."""
    return build_directory(parse_list(read_file(path), path), id_field, region)


def check_url_template(template: str) -> None:
    """An empty template, or an http(s) address with `{id}` where the person's id goes; else ConfigError."""
    if not template:
        return
    if urlsplit(template).scheme.lower() not in {"http", "https"}:
        raise ConfigError("The setting 'url_template' must be an http:// or https:// address.")
    if ID_PLACEHOLDER not in template:
        raise ConfigError(
            "The setting 'url_template' must contain {id} where the person's id goes, "
            "e.g. https://intranet.example/people/{id}."
        )


# --- the connector ------------------------------------------------------------------------------------


class JsonDirectory(BlockingConnector):
    """One configured directory file; the host calls every method in a worker thread, several at once."""

    def __init__(self, path: Path, id_field: str, url_template: str, region: str | None) -> None:
        self.path = path
        self.id_field = id_field
        self.url_template = url_template
        self.region = region
        self._lock = threading.Lock()
        self._stamp: FileStamp | None = None
        self._directory: Directory | None = None
        self._failure: AddinError | None = None

    def directory(self) -> Directory:
        """The people in the file, read again only when the file has changed since the last read.

        A file that fails to load is not read again until it changes; every call until then raises
        the same error, so a broken file costs one read, not one per search.
        """
        stamp = file_stamp(self.path)
        with self._lock:  # one thread reads a changed file; the others wait for its result
            if stamp != self._stamp:
                try:
                    self._directory, self._failure = load_directory(self.path, self.id_field, self.region), None
                except AddinError as exc:
                    self._directory, self._failure = None, exc
                self._stamp = stamp
            directory, failure = self._directory, self._failure
        if failure is not None:
            # A new exception per call: re-raising one shared object from several threads tangles its traceback.
            raise AddinError(failure.message, code=failure.code)
        assert directory is not None  # set together with the stamp when there is no failure
        return directory

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        """By number: every person with a phone that is the same line; by text: every word in name, company or email."""
        entries = self.directory().entries
        if query.number:
            wanted = phone_key(query.number, self.region)
            found = [e for e in entries if any(numbers_match(wanted, key) for key in e.phone_keys)]
        else:
            words = fold(query.text).split()
            found = [e for e in entries if all(word in e.words for word in words)] if words else []
        return [entry.copy() for entry in found[: query.limit]]

    def get(self, contact_id: str) -> Contact | None:
        entry = self.directory().by_id.get(contact_id)
        return entry.copy() if entry is not None else None

    def record_url(self, contact_id: str, edit: bool) -> str | None:
        """The intranet page of `url_template` (the same in edit mode: the file cannot be edited from here)."""
        if not self.url_template:
            return None
        return self.url_template.replace(ID_PLACEHOLDER, quote(contact_id, safe=""))

    def test(self) -> Sequence[CheckResult]:
        """File readable, a JSON list, every entry a person with a unique id; stops at the first failure."""
        try:
            raw = read_file(self.path)
        except AddinError as exc:
            return [CheckResult("file", False, exc.message, exc.code)]
        results = [CheckResult("file", True, f"{self.path} can be read ({len(raw):,} bytes).")]
        try:
            items = parse_list(raw, self.path)
        except AddinError as exc:
            return [*results, CheckResult("json", False, exc.message, exc.code)]
        results.append(CheckResult("json", True, "The file holds a JSON list."))
        try:
            directory = build_directory(items, self.id_field, self.region)
        except AddinError as exc:
            return [*results, CheckResult("entries", False, exc.message, exc.code)]
        numbers = sum(len(entry.phone_keys) for entry in directory.entries)
        count = len(directory.entries)
        results.append(CheckResult("entries", True, f"{count} entries with {numbers} phone numbers."))
        if self.url_template and directory.entries:
            example = self.record_url(directory.entries[0].contact.id, edit=False)
            results.append(CheckResult("url_template", True, f"Records open at addresses such as {example}."))
        return results

    def close(self) -> None:
        with self._lock:
            self._stamp = self._directory = self._failure = None


def open_directory(context: BookContext) -> JsonDirectory:
    """Check the settings; the file itself is read on first use, so a file that appears later is picked up."""
    settings = context.settings
    given_path = str(settings.get("path") or "").strip()
    if not given_path:
        raise ConfigError("The setting 'path' is empty: give the full path of the directory's JSON file.")
    path = Path(given_path).expanduser()
    if not path.is_absolute():
        # The daemon's working directory is not the user's; a relative path would point somewhere else.
        raise ConfigError(
            f"The setting 'path' must be a full path (such as /srv/people.json), not {given_path[:200]!r}."
        )
    url_template = str(settings.get("url_template") or "").strip()
    check_url_template(url_template)
    id_field = str(settings.get("id_field") or "").strip() or DEFAULT_ID_FIELD
    return JsonDirectory(path, id_field, url_template, context.default_region)


JSON_DIRECTORY = Integration(
    id=INTEGRATION_ID,
    name="Company directory (JSON file)",
    version=__version__,
    open=open_directory,
    capabilities=frozenset({Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.POP}),
    description="People listed in a JSON file (name, company, title, email, phones); opens them on your intranet.",
    config=(
        ConfigField(
            "path",
            "Directory file",
            FieldKind.PATH,
            required=True,
            help="Full path of a JSON file holding a list of people: "
            "id, name, company, title, email, phones {business, mobile, home, fax}.",
        ),
        ConfigField(
            "url_template",
            "Record address",
            FieldKind.URL,
            help="Where a person opens, with {id} for their id, e.g. https://intranet.example/people/{id}. "
            "Empty: partnercrmd's own record page.",
        ),
        ConfigField(
            "id_field",
            "Id field",
            FieldKind.TEXT,
            default=DEFAULT_ID_FIELD,
            help="The field of each entry that holds its unique id.",
        ),
    ),
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-json-directory/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-11-25",
            "First release: search by number and by name, open records on the intranet, "
            "re-read the file when it changes.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `json-directory`."""
    return [JSON_DIRECTORY]

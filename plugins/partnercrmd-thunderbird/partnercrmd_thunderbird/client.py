"""Reading a Thunderbird profile's address books: the add-in's "server" is a folder of SQLite files.

Where things are (Thunderbird 102 and later; older profiles are read too):

- the profiles: `profiles.ini` in Thunderbird's folder (`~/.thunderbird` on Linux, also the Snap and Flatpak
  folders; `~/Library/Thunderbird` on macOS; `%APPDATA%\\Thunderbird` on Windows). The default profile is the
  `Default=` of an `[Install…]` section, else the `[Profile…]` with `Default=1`, else the only one;
- the address books: `prefs.js` of the profile, `user_pref("ldap_2.servers.<key>.filename", "abook-1.sqlite")`
  and `….description` (its name); the personal book (`pab`, `abook.sqlite`) and the collected addresses
  (`history`, `history.sqlite`) exist without prefs. CardDAV books synced into Thunderbird have such a file too;
- a card: rows `(card, name, value)` of the table `properties`. Since Thunderbird 102 the card is the vCard in
  the property `_vCard` (numbers only there); older cards have `WorkPhone`, `CellularNumber`… properties.

Thunderbird keeps each file open in WAL mode with SQLite's exclusive locking while it runs (there is no `-shm`
file), so no other process can open it, even read-only: "database is locked". The add-in therefore never opens
Thunderbird's files. It copies the file and its `-wal` into its own folder, byte for byte, and reads the copy
(SQLite replays the copied WAL into it); a copy taken while Thunderbird wrote (the files' sizes or times changed
during the copy) is taken again. Copying takes no lock, so Thunderbird is never kept waiting; on Windows, where
SQLite's locks are byte ranges past the data, the file's pages can be read the same way.

Every function here blocks (file reads, SQLite); the connector calls them from the host's worker threads.
Failures are `AddinError`s with a stable key: `cannot_connect` when the profile or a book cannot be read (the
fix is the setting 'profile' or the files' permissions), `invalid_data` when a file is not an address book.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import re
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from partnercrmd.sdk import AddinError, Contact, HeldContact, Phone, PhoneKind
from partnercrmd.sdk.vcard import parse_vcards

MAX_BOOK_BYTES = 64 * 1024 * 1024
"""An address book of 100,000 cards is about 60 MB with its WAL; a bigger file is not an address book."""
COPY_ATTEMPTS = 5
"""How often a copy taken while Thunderbird wrote is taken again before the read fails."""
DEFAULT_BOOKS: Mapping[str, tuple[str, str]] = {
    "pab": ("abook.sqlite", "Personal Address Book"),
    "history": ("history.sqlite", "Collected Addresses"),
}
"""The books every profile has, by their prefs key: (file, name as Thunderbird's English UI shows it)."""
LEGACY_PHONES: Mapping[str, PhoneKind] = {
    "WorkPhone": PhoneKind.BUSINESS,
    "CellularNumber": PhoneKind.MOBILE,
    "HomePhone": PhoneKind.HOME,
    "FaxNumber": PhoneKind.FAX,
    "PagerNumber": PhoneKind.OTHER,
}
"""The number properties of cards written before Thunderbird 102 (no `_vCard`)."""
PREF_LINE = re.compile(r'^user_pref\("ldap_2\.servers\.([^"]+)\.(filename|description)",\s*(".*")\);\s*$')

BookStamp = tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]
"""(the file's, its WAL's) (modification time in ns, size, inode), None where absent: changes with every write."""


def _cannot_read(what: str, exc: OSError) -> AddinError:
    return AddinError(f"{what} cannot be read ({exc.strerror or exc}).", code="cannot_connect")


# --- the profile --------------------------------------------------------------------------------------------------


def thunderbird_folders() -> list[Path]:
    """Where Thunderbird keeps its profiles on this system, most usual first."""
    home = Path.home()
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        return [Path(appdata) / "Thunderbird"] if appdata else []
    if sys.platform == "darwin":
        return [home / "Library" / "Thunderbird"]
    return [
        home / ".thunderbird",
        home / "snap" / "thunderbird" / "common" / ".thunderbird",
        home / ".var" / "app" / "org.mozilla.Thunderbird" / ".thunderbird",
    ]


def default_profile(folder: Path) -> Path | None:
    """The profile Thunderbird starts with, from the folder's profiles.ini; None when it names none."""
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        ini.read_string((folder / "profiles.ini").read_text(encoding="utf-8", errors="replace"))
    except (OSError, configparser.Error):
        return None

    def located(path: str, relative: bool) -> Path:
        return folder / path if relative else Path(path)

    for section in ini.sections():  # Thunderbird 68+: the default of each installation
        if section.startswith("Install") and ini[section].get("Default"):
            return located(ini[section]["Default"], relative=True)
    profiles = [ini[s] for s in ini.sections() if s.startswith("Profile") and ini[s].get("Path")]
    chosen = [p for p in profiles if p.get("Default") == "1"] or (profiles if len(profiles) == 1 else [])
    if not chosen:
        return None
    return located(chosen[0]["Path"], relative=chosen[0].get("IsRelative", "1") == "1")


def find_profile(given: Path | None) -> Path:
    """The profile folder to read: the one given, else Thunderbird's default; `cannot_connect` when none."""
    if given is not None:
        if not given.is_dir():
            raise AddinError(
                f"The Thunderbird profile folder {given} does not exist; check the setting 'profile' "
                "(Thunderbird shows it under Help > Troubleshooting Information > Profile Folder).",
                code="cannot_connect",
            )
        return given
    for folder in thunderbird_folders():
        profile = default_profile(folder)
        if profile is not None and profile.is_dir():
            return profile
    raise AddinError(
        "No Thunderbird profile was found for this user; start Thunderbird once, or give the profile folder in "
        "the setting 'profile'.",
        code="cannot_connect",
    )


# --- the address books of a profile -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookFile:
    """One address book of the profile: its SQLite file and its name."""

    key: str
    """Its file's name without `.sqlite` (Thunderbird never renames a book's file): part of every contact id."""
    name: str
    path: Path


def _pref_string(literal: str) -> str:
    """A prefs.js string literal's text (a JSON-compatible literal as Firefox and Thunderbird write them)."""
    try:
        value = json.loads(literal)
    except ValueError:
        return literal.strip('"')
    return value if isinstance(value, str) else literal


def book_names(profile: Path) -> dict[str, str]:
    """file name → the address book's name, as prefs.js declares them (the two default books always)."""
    declared = {key: {"filename": file, "description": name} for key, (file, name) in DEFAULT_BOOKS.items()}
    try:
        lines = (profile / "prefs.js").read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        lines = []
    except OSError as exc:
        raise _cannot_read(f"The Thunderbird preferences {profile / 'prefs.js'}", exc) from None
    for line in lines:
        match = PREF_LINE.match(line)
        if match:
            key, attribute, literal = match.groups()
            declared.setdefault(key, {})[attribute] = _pref_string(literal)
    names: dict[str, str] = {}
    for attributes in declared.values():
        filename = attributes.get("filename", "")
        # Only a bare file name of the profile folder: a path elsewhere is not one of this profile's books.
        if filename.endswith(".sqlite") and Path(filename).name == filename:
            names[filename] = attributes.get("description") or filename
    return names


def address_books(profile: Path) -> list[BookFile]:
    """The address books of the profile that have a local file: those prefs.js declares, and `abook-N.sqlite`
    files of books made since Thunderbird last wrote prefs.js (named by their file until it does)."""
    names = book_names(profile)
    files = [name for name in names if (profile / name).is_file()]
    try:
        files += sorted(p.name for p in profile.glob("abook-*.sqlite") if p.name not in names)
    except OSError as exc:
        raise _cannot_read(f"The Thunderbird profile folder {profile}", exc) from None
    return [BookFile(name.removesuffix(".sqlite"), names.get(name, name), profile / name) for name in files]


def chosen_books(books: Sequence[BookFile], wanted: Sequence[str]) -> list[BookFile]:
    """The books named in `wanted` (folded names; empty: all); `cannot_connect` naming any not found."""
    if not wanted:
        return list(books)
    by_name = {book.name.casefold(): book for book in books}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        have = ", ".join(book.name for book in books) or "none"
        raise AddinError(
            f"The profile has no address book called {', '.join(repr(m) for m in missing)} (it has: {have}); "
            "check the setting 'address_books'.",
            code="cannot_connect",
        )
    return [by_name[name] for name in wanted]


# --- reading one book: a copy of its files, never the files Thunderbird holds -------------------------------------


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def wal_of(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def book_stamp(path: Path) -> BookStamp:
    """What tells a book that changed since it was read (Thunderbird writes the WAL first, the file at checkpoints)."""
    return (_file_stamp(path), _file_stamp(wal_of(path)))


def copy_book(book: BookFile, workdir: Path) -> tuple[Path, BookStamp]:
    """A consistent copy of the book's file and WAL in `workdir`, and the stamp it was taken at."""
    target = workdir / book.path.name
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_read(f"The add-in's folder {workdir}", exc) from None
    for attempt in range(COPY_ATTEMPTS):
        before = book_stamp(book.path)
        if before[0] is None:
            raise AddinError(f"The address book {book.name!r} ({book.path}) no longer exists.", code="cannot_connect")
        if sum(stamp[1] for stamp in before if stamp is not None) > MAX_BOOK_BYTES:
            raise AddinError(
                f"The address book {book.name!r} is larger than {MAX_BOOK_BYTES // (1024 * 1024)} MB; "
                "is it an address book?",
                code="invalid_data",
            )
        try:
            shutil.copyfile(book.path, target)
            if before[1] is not None:
                shutil.copyfile(wal_of(book.path), wal_of(target))
            else:
                wal_of(target).unlink(missing_ok=True)
        except FileNotFoundError:
            continue  # removed or checkpointed away meanwhile: look again
        except OSError as exc:
            raise _cannot_read(f"The address book {book.name!r} ({book.path})", exc) from None
        if book_stamp(book.path) == before:
            return target, before
        time.sleep(0.02 * (attempt + 1))  # Thunderbird is writing: let it finish
    raise AddinError(
        f"The address book {book.name!r} kept changing while it was read; it will be read again on the next search.",
        code="cannot_connect",
    )


def read_properties(copy: Path) -> dict[str, dict[str, str]]:
    """card → {property: value} of a copied book (`invalid_data` when the file is not an address book)."""
    try:
        with contextlib.closing(sqlite3.connect(copy, isolation_level=None)) as db:
            rows = db.execute("SELECT card, name, value FROM properties").fetchall()
    except sqlite3.DatabaseError as exc:
        raise AddinError(f"{copy.name} is not a Thunderbird address book ({exc}).", code="invalid_data") from None
    cards: dict[str, dict[str, str]] = {}
    for card, name, value in rows:
        if isinstance(card, str) and isinstance(name, str) and value is not None:
            cards.setdefault(card, {})[name] = str(value)
    return cards


def card_contact(uid: str, properties: Mapping[str, str]) -> Contact:
    """One card as a contact: its vCard where it has one (Thunderbird 102+), else the older properties."""
    vcard = properties.get("_vCard", "")
    parsed = parse_vcards(vcard) if vcard else []
    if parsed:
        contact = parsed[0]
    else:
        phones = [Phone(properties[key].strip(), kind) for key, kind in LEGACY_PHONES.items() if properties.get(key)]
        emails = [properties[key] for key in ("PrimaryEmail", "SecondEmail") if properties.get(key)]
        contact = Contact(
            first_name=properties.get("FirstName", ""),
            last_name=properties.get("LastName", ""),
            company=properties.get("Company", ""),
            job_title=properties.get("JobTitle", ""),
            phones=phones,
            emails=emails,
            notes=properties.get("Notes", ""),
        )
    if not contact.display_name:
        contact.display_name = properties.get("DisplayName", "")
    return contact


# --- the cards of the chosen books, ready to search ---------------------------------------------------------------


def contact_id(book: BookFile, uid: str) -> str:
    """A card's id: its book's file and its UID (a UID may repeat across books)."""
    return f"{book.key}/{uid}"


def book_entries(book: BookFile, cards: Mapping[str, Mapping[str, str]], region: str | None) -> Iterable[HeldContact]:
    for uid, properties in cards.items():
        contact = card_contact(uid, properties)
        contact.id = contact_id(book, uid)
        contact.custom = {"Address book": book.name}
        if contact.name or contact.phones:
            yield HeldContact.of(contact, region)


def read_book(book: BookFile, workdir: Path, region: str | None) -> tuple[list[HeldContact], BookStamp]:
    """Every card of one book, read from a copy (removed afterwards), and the stamp it was read at."""
    copy, stamp = copy_book(book, workdir)
    try:
        entries = list(book_entries(book, read_properties(copy), region))
    finally:
        for leftover in (copy, wal_of(copy), copy.with_name(copy.name + "-shm")):
            leftover.unlink(missing_ok=True)
    return entries, stamp

"""`partnercrmd import FILE`: import vCard or Outlook/Google CSV exports into a local address book."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

from ..books import DEFAULT_BOOK_ID, find_book, read_books
from ..errors import ConfigError, NotFound, PartnerError
from ..importers import read_contacts_file
from ..local_book.addin import DATABASE_NAME, INTEGRATION_ID
from ..local_book.store import LocalStore
from ..paths import Paths
from .common import default_region, open_vault


def cmd_import(args: argparse.Namespace, paths: Paths) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise NotFound(f"No such file: {path}")
    vault = open_vault(paths)
    doc = vault.read()
    if args.book:
        book = find_book(doc, args.book)
    else:
        local = [b for b in read_books(doc) if b.type == INTEGRATION_ID]
        if not local:
            raise ConfigError(
                "There is no local address book to import into; add one with `partnercrmd books add local`."
            )
        book = next((b for b in local if b.id == DEFAULT_BOOK_ID), local[0])
    if book.type != INTEGRATION_ID:
        raise ConfigError(f"'{book.name}' is a {book.type} address book; contacts are imported into local ones.")
    contacts = read_contacts_file(path)
    directory = paths.book_dir(book.id)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        store = LocalStore(directory / DATABASE_NAME, default_region(doc))
        try:
            report = store.import_contacts(contacts)  # one transaction: on any failure the book stays as it was
        finally:
            store.close()
    except sqlite3.Error as exc:
        raise PartnerError(f"Importing {path.name} into '{book.name}' failed and changed nothing: {exc}") from exc
    print(f"Imported {len(contacts)} contacts from {path.name} into '{book.name}': {report}.")
    return 0


def add_parser(sub: Any) -> None:
    imp = sub.add_parser("import", help="import a vCard (2.1, 3.0, 4.0) or Outlook/Google CSV file")
    imp.add_argument("file")
    imp.add_argument("--book", help="local address book to import into (default: the embedded one)")
    imp.set_defaults(func=cmd_import)

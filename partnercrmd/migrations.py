"""Vault schema migrations: a newer daemon upgrades an older vault document on load.

The vault document carries `"schema": N`. `MIGRATIONS[i]` turns a schema `i + 1` document into a schema
`i + 2` one, so a document is brought to `CURRENT_SCHEMA` by running the migrations from its own schema on,
in order. A document without `"schema"` is treated as schema 1 (the first release). A document from a newer
schema is refused with ConfigError: this daemon cannot know what it would lose by rewriting it.

Rules for a migration: a pure function of the document (no I/O, no clock), never dropping a configured
address book, a book's settings (secrets included), an application or the install secrets; `migrate`
checks the first two after every step. The vault keeps a copy of the file before its first migrated write
(`vault.bin.bak-schema<N>`, see `partnercrmd.vault`).

Add-ins version their own settings: every book records `settings_version` (1 when missing). An add-in
that changes the shape of its settings migrates `settings` of its books when their version is lower.

Schema history:

1. Release 0.1.0.
2. Every book's `auto_pop` is one of Never/OnRinging/OnAnswer (spelling variants are recognised, anything
   else becomes Never instead of stopping the daemon); every book has `id` equal to its key and a
   `settings_version`; `retired_book_ids` is always present, a list of distinct ids.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigError

__all__ = ["CURRENT_SCHEMA", "MIGRATIONS", "Migration", "document_schema", "migrate"]

log = logging.getLogger(__name__)

Migration = Callable[[dict[str, Any]], dict[str, Any]]

DEFAULT_SETTINGS_VERSION = 1

_AUTO_POP_VALUES = ("Never", "OnRinging", "OnAnswer")
_AUTO_POP_ALIASES = {
    "": "Never",
    "none": "Never",
    "off": "Never",
    "false": "Never",
    "ringing": "OnRinging",
    "ring": "OnRinging",
    "answer": "OnAnswer",
    "answered": "OnAnswer",
}


def _auto_pop(value: Any, book_id: str) -> str:
    if value is None:
        return "Never"
    text = str(value)
    folded = re.sub(r"[\s_-]+", "", text).lower()
    for canonical in _AUTO_POP_VALUES:
        if folded == canonical.lower():
            return canonical
    if folded in _AUTO_POP_ALIASES:
        return _AUTO_POP_ALIASES[folded]
    log.warning("address book %s: unknown auto_pop %r replaced by Never", book_id, text[:40])
    return "Never"


def _to_schema_2(doc: dict[str, Any]) -> dict[str, Any]:
    books = doc.get("books")
    if isinstance(books, dict):
        for book_id, book in books.items():
            if not isinstance(book, dict):
                continue  # not ours to guess at; kept as it is
            book["id"] = str(book_id)
            book["auto_pop"] = _auto_pop(book.get("auto_pop"), str(book_id))
            version = book.get("settings_version")
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                book["settings_version"] = DEFAULT_SETTINGS_VERSION
    retired = doc.get("retired_book_ids")
    ids = [str(x) for x in retired] if isinstance(retired, list) else []
    doc["retired_book_ids"] = list(dict.fromkeys(ids))
    return doc


MIGRATIONS: list[Migration] = [_to_schema_2]
"""`MIGRATIONS[i]` migrates schema `i + 1` to `i + 2`; append, never reorder or edit a released one."""

CURRENT_SCHEMA = len(MIGRATIONS) + 1


def document_schema(doc: Mapping[str, Any], where: str = "The vault") -> int:
    """The schema a document declares (1 when it declares none); ConfigError when it is not a schema number."""
    schema = doc.get("schema", 1)
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise ConfigError(f"{where} declares an invalid schema {str(schema)[:20]!r}.", code="vault_schema_invalid")
    return schema


def _kept(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether every book of `before`, with every one of its settings, is still in `after`."""
    old_books, new_books = before.get("books"), after.get("books")
    if not isinstance(old_books, dict):
        return True
    if not isinstance(new_books, dict):
        return False
    for book_id, old in old_books.items():
        new = new_books.get(book_id)
        if new is None:
            return False
        if isinstance(old, dict) and isinstance(old.get("settings"), dict):
            if not isinstance(new, dict) or not isinstance(new.get("settings"), dict):
                return False
            if any(key not in new["settings"] for key in old["settings"]):
                return False
    return True


def migrate(doc: dict[str, Any], where: str = "The vault") -> tuple[dict[str, Any], int]:
    """Bring `doc` to CURRENT_SCHEMA; returns the migrated document (a new object) and its original schema.

    A current document is returned as it is. ConfigError for a document from a newer schema, or one with an
    invalid schema number; `where` names the file in the message.
    """
    schema = document_schema(doc, where)
    if schema > CURRENT_SCHEMA:
        raise ConfigError(
            f"{where} was written by a newer partnercrmd (vault schema {schema}; this version reads up to "
            f"{CURRENT_SCHEMA}). Install that newer version again, or restore a backup the newer version kept "
            "(vault.bin.bak-schema<N>); the vault is left untouched.",
            code="vault_schema_newer",
        )
    if schema == CURRENT_SCHEMA:
        return doc, schema
    current = copy.deepcopy(doc)
    for step in range(schema, CURRENT_SCHEMA):
        before = copy.deepcopy(current)
        current = MIGRATIONS[step - 1](current)
        current["schema"] = step + 1
        if not _kept(before, current):
            raise ConfigError(
                f"Migrating {where} from schema {step} to {step + 1} would drop an address book or a setting; "
                "the vault is left untouched. Please report this.",
                code="vault_migration_failed",
            )
    log.info("%s: migrated from schema %d to %d", where, schema, CURRENT_SCHEMA)
    return current, schema

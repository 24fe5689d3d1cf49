"""Import contacts from files: vCard (.vcf, any version) and Outlook / Google Contacts CSV exports.

Each contact read keeps, as its `id`, its identity in the file (the vCard UID, Apple's X-ABUID, a CSV
id column) or "" when the file gives none: `LocalStore.import_contacts` matches it on a later import.
"""

from __future__ import annotations

import codecs
import logging
from pathlib import Path

from partnercrmd.errors import BadRequest
from partnercrmd.importers.csv_contacts import csv_from_bytes, parse_csv_with_warnings
from partnercrmd.importers.vcard import parse_vcards, parse_vcards_with_warnings, vcards_from_bytes
from partnercrmd.model import Contact

__all__ = [
    "looks_like_vcard",
    "parse_csv_with_warnings",
    "parse_vcards",
    "parse_vcards_with_warnings",
    "read_contacts_bytes_with_warnings",
    "read_contacts_file",
    "read_contacts_file_with_warnings",
]

log = logging.getLogger(__name__)

_UTF16_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def read_contacts_file(path: Path) -> list[Contact]:
    """Read a vCard or CSV contacts file (chosen by content); skipped entries are logged as warnings."""
    contacts, warnings = read_contacts_file_with_warnings(path)
    for warning in warnings:
        log.warning("%s", warning)
    return contacts


def read_contacts_file_with_warnings(path: Path) -> tuple[list[Contact], list[str]]:
    """Read a vCard or CSV contacts file: the contacts, and a warning per skipped card or row."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadRequest(f"cannot read {path}: {exc.strerror or exc}") from exc
    return read_contacts_bytes_with_warnings(data, str(path))


def read_contacts_bytes_with_warnings(data: bytes, source: str) -> tuple[list[Contact], list[str]]:
    """A vCard or CSV contacts file's content (`source` names it in messages): the contacts, and the warnings.

    The one reader of both kinds: `partnercrmd import` reads a file, the configuration pages an upload.
    """
    if not data.strip():
        raise BadRequest(f"{source} is empty: expected a vCard (.vcf) or CSV contacts export")
    if looks_like_vcard(data):
        return vcards_from_bytes(data, source)
    return csv_from_bytes(data, source)


def looks_like_vcard(data: bytes) -> bool:
    """Whether the file starts (after any BOM and blank space) with BEGIN:VCARD."""
    head = data[:4096].removeprefix(codecs.BOM_UTF8)
    text = head.decode("latin-1")
    for bom, encoding in _UTF16_BOMS:
        if head.startswith(bom):
            text = head[len(bom) :].decode(encoding, errors="ignore")
    return text.lstrip().upper().startswith("BEGIN:VCARD")

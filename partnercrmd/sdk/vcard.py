"""vCard helpers for add-ins that read and write cards (CardDAV, vCard exports): part of the SDK's stable surface.

The content-line syntax vCard and iCalendar share (RFC 6350, RFC 5545: splitting, escaping, folding) and the
lenient reader partnercrmd's own importer uses (vCard 2.1, 3.0 and 4.0 as real devices write them).
Re-exported from the core; the rules of `partnercrmd.sdk` (SDK_VERSION, deprecation) apply.
"""

from __future__ import annotations

from ..importers.vcard import parse_vcards, parse_vcards_with_warnings
from ..vcard_syntax import (
    FOLD_OCTETS,
    escape_text,
    fold,
    split_escaped,
    split_name_value,
    split_outside_quotes,
    unescape_text,
)

__all__ = [
    "FOLD_OCTETS",
    "escape_text",
    "fold",
    "parse_vcards",
    "parse_vcards_with_warnings",
    "split_escaped",
    "split_name_value",
    "split_outside_quotes",
    "unescape_text",
]

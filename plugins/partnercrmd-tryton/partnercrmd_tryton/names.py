"""What the book's local name index (the SDK's `NameIndex`, in the number index's file) holds for a party.

Tryton answers a name search (`rec_name ilike %word%`) by searching each party's code, identifiers,
name and every contact mechanism with ILIKE subqueries, once per word: about 70 ms of the server's CPU
with 10,000 parties. The index keeps, for each party, its name and code and the values of its contact
mechanisms (e-mails, phones, websites...), case and accents folded, one per line; a name search finds
the ids there and reads just those parties by id. Identifiers are not kept: the add-in's server search,
which runs when the index finds no one, still finds parties by them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from partnercrmd.sdk import holds_every_word, query_words, searchable_text

__all__ = ["holds_every_word", "party_text", "query_words", "record_text"]


def party_text(name: str, code: str, values: Iterable[str]) -> str:
    """What a name search looks in for one party: folded name, code and contact values, one per line."""
    return searchable_text([name, code, *values])


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def record_text(record: Mapping[str, Any]) -> str:
    """`party_text` of a party read with PARTY_FIELDS (its dotted `contact_mechanisms.` rows)."""
    mechanisms = record.get("contact_mechanisms.")
    rows = [m for m in mechanisms if isinstance(m, dict)] if isinstance(mechanisms, list) else []
    return party_text(_text(record.get("name")), _text(record.get("code")), (_text(m.get("value")) for m in rows))

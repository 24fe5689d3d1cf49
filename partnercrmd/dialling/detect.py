"""Phone numbers in text: one detector for every click-to-dial technique.

Built on libphonenumber's matcher at VALID leniency, scanning each text on
its own (a whole page joined into one text makes the matcher stop early),
plus tel:/callto:/sip: URIs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

MAX_TEXT = 1_000_000
_URI = re.compile(r"(?i)\b(?:tel|callto|sip|sips):(?://)?([+\d][\d\-.() \u00a0]{2,40}\d)(?:;ext=(\d{1,7}))?")


@dataclass(frozen=True)
class FoundNumber:
    """A number found in text: where, as written, and normalised."""

    raw: str
    e164: str
    extension: str
    start: int
    end: int


def _from_match(raw: str, number: phonenumbers.PhoneNumber, start: int) -> FoundNumber:
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return FoundNumber(raw, e164, number.extension or "", start, start + len(raw))


def find_numbers(text: str, region: str | None) -> list[FoundNumber]:
    """Every valid phone number in `text`, in order of appearance, without repeats of the same number."""
    text = text[:MAX_TEXT]
    found: list[FoundNumber] = []
    for uri in _URI.finditer(text):
        try:
            parsed = phonenumbers.parse(uri.group(1), region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            parsed.extension = uri.group(2) or parsed.extension
            found.append(_from_match(uri.group(0), parsed, uri.start()))
    taken = [(f.start, f.end) for f in found]
    matcher = PhoneNumberMatcher(text, region or "ZZ", leniency=Leniency.VALID, max_tries=len(text) + 1)
    for match in matcher:
        if any(start <= match.start < end for start, end in taken):
            continue
        found.append(_from_match(match.raw_string, match.number, match.start))
    found.sort(key=lambda f: f.start)
    unique: dict[tuple[str, str], FoundNumber] = {}
    for number in found:
        unique.setdefault((number.e164, number.extension), number)
    return list(unique.values())


def parse_one(text: str, region: str | None) -> FoundNumber | None:
    """The number a single explicit request (a link, a URI, a selection) means, or None."""
    numbers = find_numbers(text, region)
    return numbers[0] if len(numbers) == 1 else None

"""Phone numbers: is a query a number, what forms a backend may store it in, do two numbers match.

Every backend stores numbers its own way ("+44 20 7946 0958", "020 7946 0958",
"0044-20-79460958", or a fictional "555-1234" that libphonenumber calls
invalid). The host compares numbers on normalised keys so that any input form
finds the contact and a loose backend search never returns a wrong person.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberFormat

# Characters people put in phone numbers besides digits (NBSP, en/em dashes, full-width forms…).
_SEPARATORS = re.compile(r"[\s\u00a0\u2007\u202f\-\u2010-\u2015\u2212./()\[\]\uff08\uff09\uff0d]+")
_URI_PREFIX = re.compile(r"^(?:tel|callto|sip|sips):(?://)?", re.IGNORECASE)
_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*(\d{1,7})\s*$", re.IGNORECASE)

MIN_DIGITS = 3
"""Shorter digit runs are not phone numbers (extensions have at least three digits)."""
MAX_DIGITS = 17
"""E.164 allows 15 digits; a couple more cover access codes such as 00 or 011."""
SUFFIX_DIGITS = 7
"""A number that cannot be parsed matches on this many trailing digits at least."""


@dataclass(frozen=True)
class PhoneKey:
    """A number reduced to the forms it is compared on."""

    raw: str
    digits: str
    """Every digit of the number (leading + dropped, extension removed)."""
    e164: str | None
    """+CC NSN when the number could be parsed (valid or not), else None."""
    national: str | None
    """The national significant number (no trunk prefix), when parsed."""
    valid: bool
    """libphonenumber considers it a real, assigned-range number."""
    extension: str = ""


def _strip(text: str) -> tuple[str, str]:
    """Return (number part, extension) of a number as typed, without URI prefix, host or parameters."""
    text = _URI_PREFIX.sub("", text.strip())
    if "@" in text:  # sip:+442079460958@pbx.example
        text = text.split("@", 1)[0]
    text, _, params = text.partition(";")
    extension = ""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "ext":
            extension = value.strip()
    match = _EXTENSION.search(text)
    if match:
        extension = extension or match.group(1)
        text = text[: match.start()]
    return text.strip(), extension


def looks_like_number(text: str) -> bool:
    """Whether a search query is a phone number rather than a name, company or email."""
    number, _ = _strip(text)
    body = _SEPARATORS.sub("", number)
    if body.startswith("+"):
        body = body[1:]
    digits = phonenumbers.normalize_digits_only(body)
    return bool(body) and len(digits) == len(body) and MIN_DIGITS <= len(digits) <= MAX_DIGITS


@lru_cache(maxsize=65536)
def phone_key(text: str, region: str | None) -> PhoneKey:
    """Normalise a number as typed or stored; `region` is the default region for numbers without +."""
    number, extension = _strip(text)
    digits = phonenumbers.normalize_digits_only(number)
    e164 = national = None
    valid = False
    if len(digits) >= MIN_DIGITS:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None and parsed.national_number:
            e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
            national = phonenumbers.national_significant_number(parsed)
            valid = phonenumbers.is_valid_number(parsed)
            extension = extension or (parsed.extension or "")
    return PhoneKey(text, digits, e164, national, valid, extension)


def is_extension(text: str, extension_lengths: Collection[int]) -> bool:
    """Whether a query is an internal extension (what a PBX shows for an internal caller, e.g. "4711").

    It is one: digits only (blank space around or inside ignored), no leading 0 or +, and as many digits as
    one of `extension_lengths` (the dialling setting `dial_extension_lengths`).
    """
    body = "".join(text.split())
    return body.isascii() and body.isdigit() and not body.startswith("0") and len(body) in extension_lengths


def query_key(text: str, region: str | None, extension_lengths: Collection[int] = ()) -> PhoneKey:
    """The key a number query is searched and verified by: an internal extension as itself, else `phone_key`.

    An extension must not be read as a national number of `region` ("4711" is not +44 4711): its key has its
    digits only (no E.164, no national number), so it matches only a stored number of exactly those digits,
    never the tail of a longer number, and `number_forms` hands the books the digits as they are.
    """
    if is_extension(text, extension_lengths):
        return PhoneKey(text, "".join(text.split()), None, None, False)
    return phone_key(text, region)


def numbers_match(a: PhoneKey, b: PhoneKey) -> bool:
    """Whether two numbers are the same line.

    Two valid numbers match only on equal E.164. Otherwise (a fictional or
    unparseable number on either side) the national significant numbers must
    be equal, or failing that the trailing digits, at least SUFFIX_DIGITS of
    them and all the digits of the shorter number (10 at most).
    Short internal numbers (extensions) match only on all their digits.
    """
    if not a.digits or not b.digits:
        return False
    if a.valid and b.valid:
        return a.e164 == b.e164
    if a.national and b.national and a.national == b.national:
        return True
    shorter = min(len(a.digits), len(b.digits))
    if shorter < SUFFIX_DIGITS:
        return a.digits == b.digits
    tail = min(shorter, 10)
    return a.digits[-tail:] == b.digits[-tail:]


def index_tail(text: str, region: str | None) -> str:
    """The index key of a stored number: its last SUFFIX_DIGITS national digits (all of them if fewer).

    Any two numbers that `numbers_match` share this key, so a backend can
    look candidates up by it and let the host verify them.
    """
    return key_tail(phone_key(text, region))


def key_tail(key: PhoneKey) -> str:
    """`index_tail` of a number already reduced to its key."""
    digits = key.national if key.national and len(key.national) >= SUFFIX_DIGITS else key.digits
    return digits[-SUFFIX_DIGITS:]


@lru_cache(maxsize=4096)
def number_forms(key: PhoneKey, region: str | None) -> tuple[str, ...]:
    """Ways a backend may have stored this number as text, most specific first, without repeats."""
    forms: list[str] = []
    if key.e164:
        parsed = phonenumbers.parse(key.e164, None)
        forms += [
            key.e164,
            phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL),
            phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL),
            key.e164[1:],
            "00" + key.e164[1:],
        ]
        if key.national:
            forms.append(key.national)
            national_digits = phonenumbers.normalize_digits_only(forms[2])
            forms.append(national_digits)
            if parsed.country_code == 1 and len(key.national) == 10:
                n = key.national
                forms += [f"{n[:3]}-{n[3:6]}-{n[6:]}", f"({n[:3]}) {n[3:6]}-{n[6:]}", f"{n[:3]}.{n[3:6]}.{n[6:]}"]
    forms.append(key.digits)
    seen: dict[str, None] = {}
    for form in forms:
        if form and form not in seen:
            seen[form] = None
    return tuple(seen)


def display_number(text: str, region: str | None) -> str:
    """A number formatted for people: national form for the default region, international otherwise."""
    key = phone_key(text, region)
    if not key.e164:
        return text.strip()
    parsed = phonenumbers.parse(key.e164, None)
    same_region = region is not None and phonenumbers.region_code_for_number(parsed) == region.upper()
    style = PhoneNumberFormat.NATIONAL if same_region else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)

"""Digit strings that look like phone numbers but are something else: dates, times, prices, IPs, cards, IBANs…

`lookalike(text, start, end, country_code)` says why the candidate
`text[start:end]` (found by libphonenumber's matcher in normalised text) is not
a phone number, or returns None. It only reads a short window around the
candidate, so its cost does not grow with the size of the text. `mask(text)`
blanks what can never be a number before the matcher runs, which saves the
matcher most of its work on digit-heavy text (logs, CSV exports).
"""

from __future__ import annotations

import re
from collections.abc import Callable

WINDOW = 48
"""Characters either side of a candidate that the checks read (an IBAN with spaces is at most 42)."""

_JOINERS = " -./"
"""Single characters that join digit groups into one longer number (card, tracking or account numbers)."""
_ANY_DIGIT = re.compile(r"\d")

_BEFORE_IN_TOKEN = set("#/\\=_@&?№$€£¥₹₽₩₺₴₪฿°")
_AFTER_IN_TOKEN = set("@_=&/\\°%‰'′″")

_CURRENCY_BEFORE = re.compile(
    r"(?:[$€£¥₹₽₩₺₴₪฿]|\b(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|NZD|INR|SEK|NOK|DKK|PLN|CZK|HUF|RUB|CNY|HKD|SGD|ZAR|BRL|MXN"
    r"|Rs\.?|kr\.?|R\$|zł|Fr\.|SFr\.?))\s?$"
)
_AFTER_AMOUNT = re.compile(
    r"^(?:[.,]\d{1,2}(?!\d)|\s?(?:[$€£¥₹₽₩₺₴₪฿]|(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|NZD|INR|SEK|NOK|DKK|PLN|CZK|HUF|RUB"
    r"|CNY|HKD|SGD|ZAR|BRL|MXN|kr|zł|Kč|Ft|dollars?|euros?|pounds?|yen)\b))"
)
_UNIT_AFTER = re.compile(
    r"^\s?(?:%|‰|°|(?:kg|mg|km|cm|mm|mi|ft|lbs?|oz|ml|bytes?|bits?|[KMGTP]i?B|ms|µs|ns|secs?|mins?|hrs?|px|pt|dpi"
    r"|mAh|kWh|kW|Hz|kHz|MHz|GHz|rpm|views|likes|followers|downloads|users|visitors|votes|times|items|pcs|units"
    r"|people|records|rows|words|pages|steps)\b)"
)
_TIME_AFTER = re.compile(r"^:\d")
_TIME_BEFORE = re.compile(r"\d:$")

_DATE_YMD = re.compile(r"(?<![\d.\-/])(?:1[89]|20)\d\d([-./])(0?[1-9]|1[0-2])\1(0?[1-9]|[12]\d|3[01])(?![\d]|[-./]\d)")
_DATE_DMY = re.compile(r"(?<![\d.\-/])(\d{1,2})([-./])(\d{1,2})\2((?:1[89]|20)?\d\d)(?!\d|[-./]\d)")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_COORDINATES = re.compile(r"-?\d{1,3}\.\d{3,}\s*°?\s*[NSns]?\s*[,;]\s*-?\d{1,3}\.\d{3,}")
_AMOUNT = re.compile(r"(?<![\d.,])\d{1,3}(?:(?:,\d{3})+(?:\.\d+)?|(?:\.\d{3})+,\d+|(?:[ ']\d{3})+[.,]\d{2})(?![\d])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_ISBN = re.compile(r"(?<![\d\-])(?:97[89](?:[\- ]?\d){10}|\d{1,5}-\d{1,7}-\d{1,7}-[\dX])(?![\d\-]|[ ]\d)")
_DOTTED = re.compile(r"(?<![\d.])\d+(?:\.\d+){3,}(?![\d.])")
_SSN = re.compile(r"(?<![\d\-])\d{3}-\d{2}-\d{4}(?![\d\-])")


_MASKED = re.compile(
    r"[^\s,;|()<>\"'\[\]]*(?:://|@)[^\s,;|()<>\"'\[\]]*"  # web and e-mail addresses
    r"|(?<![\w/])/(?=[\w\-./%~]*[A-Za-z])[\w\-./%~]+"  # paths with a letter (not "030/1234567", "089 /1234567")
    # key=value pairs, but not ";ext=12" (an extension) nor "phone=…"
    r"|\b(?!ext=|tel|phone|mobile|cell|fax)[A-Za-z_][\w.\-]*=[^\s,;|()<>\"'\[\]]*"
    r"|(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)"  # IPv4 addresses
    r"|(?<![\d.\-/])(?:(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12]\d|3[01])"  # dates
    r"|(?:0?[1-9]|[12]\d|3[01])[-./](?:0?[1-9]|[12]\d|3[01])[-./](?:19|20)\d\d)(?![\d]|[-./]\d)"
    r"|\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?(?!\d)"  # times
    r"|(?<![\d.])-?\d{1,3}\.\d{4,}(?![\d.])"  # decimals such as coordinates
    r"|\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"  # IBAN-shaped
    r"|\d(?:[ \-./]?\d){15,}"  # 16 digits or more: cards, tracking and account numbers
)


def mask(text: str) -> str:
    """`text` with what can never be a phone number blanked out (same length), so the matcher need not try it.

    Only the matcher sees the masked text: the judgement reads the real one. A
    digit-heavy log line costs the matcher 0.3-1 ms unmasked.
    """
    return _MASKED.sub(lambda m: " " * len(m.group()), text) if _ANY_DIGIT.search(text) else text


def lookalike(text: str, start: int, end: int, country_code: int) -> str | None:
    """Why `text[start:end]` is not a phone number (a short reason), or None when nothing speaks against it."""
    before = text[max(0, start - WINDOW) : start]
    after = text[end : end + WINDOW]
    for check in _ADJACENT:
        reason = check(before, after)
        if reason:
            return reason
    longer = _longer_number(text, start, end)
    if longer:
        return longer
    window_start = max(0, start - WINDOW)
    window = text[window_start : end + WINDOW]
    for pattern, reason, valid in _SHAPES:
        for shape in pattern.finditer(window):
            if shape.start() + window_start < end and shape.end() + window_start > start and valid(shape):
                return reason
    dotted = _DOTTED.fullmatch(text, start, end)
    if dotted and _version_like(dotted.group(), country_code):
        return "version string"
    return None


def _word_char(char: str) -> bool:
    """Letters and digits of scripts written with spaces between words (CJK and Thai text runs on without)."""
    return char.isdigit() or (char.isalpha() and char < "\u0530")


def _in_token(before: str, after: str) -> str | None:
    if (before and (_word_char(before[-1]) or before[-1] in _BEFORE_IN_TOKEN)) or (
        after and (_word_char(after[0]) or after[0] in _AFTER_IN_TOKEN)
    ):
        return "part of a word, URL, e-mail address or code"
    return None


def _time(before: str, after: str) -> str | None:
    return "time or ratio" if _TIME_AFTER.match(after) or _TIME_BEFORE.search(before) else None


def _price(before: str, after: str) -> str | None:
    return "price or amount" if _CURRENCY_BEFORE.search(before) or _AFTER_AMOUNT.match(after) else None


def _unit(before: str, after: str) -> str | None:
    return "quantity with a unit" if _UNIT_AFTER.match(after) else None


_ADJACENT: tuple[Callable[[str, str], str | None], ...] = (_in_token, _time, _price, _unit)


def _longer_number(text: str, start: int, end: int) -> str | None:
    """A candidate that is only part of a longer run of digit groups: card, tracking, account numbers."""
    first, last = start, end
    explicit_start = text[start] in "+("  # "+…" and "(…" begin a number: digits before them are something else
    while not explicit_start and first > 0 and (_joined(text, first - 1, -1)):
        first -= 1
    while last < len(text) and _joined(text, last, 1):
        last += 1
    if (first, last) == (start, end):
        return None
    digits = [int(c) for c in text[first:last] if c.isdigit()]
    if 13 <= len(digits) <= 19 and _luhn(digits):
        return "card number"
    return "part of a longer number"


def _joined(text: str, index: int, step: int) -> bool:
    """`text[index]` continues a digit run: a digit, or one joiner with a digit beyond it."""
    beyond = index + step
    return text[index].isdigit() or (text[index] in _JOINERS and 0 <= beyond < len(text) and text[beyond].isdigit())


def _luhn(digits: list[int]) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _always(_: re.Match[str]) -> bool:
    return True


def _real_date(match: re.Match[str]) -> bool:
    day_or_month, month_or_day = int(match.group(1)), int(match.group(3))
    return (1 <= day_or_month <= 31 and 1 <= month_or_day <= 12) or (
        1 <= day_or_month <= 12 and 1 <= month_or_day <= 31
    )


def _real_ip(match: re.Match[str]) -> bool:
    return all(int(part) <= 255 for part in match.group().split("."))


def _real_iban(match: re.Match[str]) -> bool:
    compact = match.group().replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _real_isbn(match: re.Match[str]) -> bool:
    raw = match.group()
    chars = [c for c in raw if c.isdigit() or c == "X"]
    if len(chars) == 13 and "X" not in chars and raw[:3] in ("978", "979"):
        total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(chars))
        return total % 10 == 0
    if len(chars) == 10:
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(chars))
        return total % 11 == 0
    return False


def _version_like(dotted: str, country_code: int) -> bool:
    """1.2.345.6789-style groups: a version unless written like a phone number (a trunk 0 or the country code first)."""
    first = dotted.split(".", 1)[0]
    return not first.startswith("0") and first != str(country_code)


_SHAPES: tuple[tuple[re.Pattern[str], str, Callable[[re.Match[str]], bool]], ...] = (
    (_DATE_YMD, "date", _always),
    (_DATE_DMY, "date", _real_date),
    (_IPV4, "IP address", _real_ip),
    (_COORDINATES, "coordinates", _always),
    (_AMOUNT, "price or amount", _always),
    (_IBAN, "IBAN", _real_iban),
    (_ISBN, "ISBN", _real_isbn),
    (_SSN, "social security number", _always),
)

"""Phone numbers in text: one detector for every click-to-dial technique.

Candidates come from libphonenumber's matcher at VALID leniency with the
configured default region (run line by line, so a long text never makes it
stop early), from tel:/callto:/sip: URIs and from North American vanity
numbers (1-800-FLOWERS). Each candidate is then judged in context: digit
strings that are something else (`lookalikes`) or that an anti-label names
(`number_labels`: "Ticket ID 4155550132") are dropped, and a bare digit run
is only offered with evidence that it is a phone number (a label, `+`, the
trunk 0, or being the whole text). docs/number-detection.md has the rules.

    python -m partnercrmd.dialling.detect --region GB --explain < text.txt
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import unquote

import phonenumbers
from phonenumbers import CountryCodeSource, Leniency, PhoneNumberFormat, PhoneNumberMatcher

from .lookalikes import lookalike, mask
from .number_labels import GAP, Context, CsvColumns, context_before, context_of_heading, label_after

SEGMENT = 2000
"""Longest piece of one line given to the matcher at once; longer lines are cut between words."""


class Evidence(StrEnum):
    """Why a candidate was taken for a phone number."""

    URI = "uri"
    LABEL = "label"
    INTERNATIONAL = "international"
    FORMATTED = "formatted"
    TRUNK_PREFIX = "trunk prefix"
    WHOLE_TEXT = "whole text"
    VANITY = "vanity"


@dataclass(frozen=True)
class FoundNumber:
    """A number found in text: where, as written, and normalised."""

    raw: str
    e164: str
    extension: str
    start: int
    end: int
    evidence: str = ""
    """Why it was taken for a phone number (an `Evidence` value)."""


@dataclass(frozen=True)
class Verdict:
    """A candidate and the decision on it: what `explain` reports."""

    number: FoundNumber
    accepted: bool
    reason: str


def find_numbers(text: str, region: str | None) -> list[FoundNumber]:
    """Every phone number in `text`, in order of appearance, without repeats of the same number."""
    unique: dict[tuple[str, str], FoundNumber] = {}
    for verdict in explain(text, region):
        if verdict.accepted:
            unique.setdefault((verdict.number.e164, verdict.number.extension), verdict.number)
    return list(unique.values())


def parse_one(text: str, region: str | None) -> FoundNumber | None:
    """The number a single explicit request (a link, a URI, a selection) means, or None."""
    numbers = find_numbers(text, region)
    return numbers[0] if len(numbers) == 1 else None


def explain(text: str, region: str | None) -> list[Verdict]:
    """Every candidate in `text` with the decision on it and the reason, in order of appearance."""
    region = (region or "ZZ").upper()
    clean = normalise(text)
    verdicts = list(_uris(text, clean, region))
    taken = [(v.number.start, v.number.end) for v in verdicts if v.accepted]
    verdicts += [v for v in _vanity(text, clean, region) if not _overlaps(v.number, taken)]
    taken = [(v.number.start, v.number.end) for v in verdicts if v.accepted]
    judge = _Judge(text, clean, region)
    for first, last in segments(clean):
        segment = clean[first:last]
        if not _DIGIT.search(segment):
            continue
        segment = mask(segment)
        matcher = PhoneNumberMatcher(
            segment, region, leniency=Leniency.VALID, max_tries=len(segment) + 1, min_candidate_length=7
        )
        for match in matcher:
            start = _number_start(clean, first + match.start, first + match.end)
            found = _found(text, start, first + match.end, match.number)
            if not _overlaps(found, taken):
                verdicts.append(judge(found, match.number))
    verdicts.sort(key=lambda v: v.number.start)
    return verdicts


# --- text preparation -------------------------------------------------------------------------------------------


def _normalising_table() -> dict[int, str]:
    """One character for one, so offsets in the normalised text are offsets in the original."""
    table: dict[int, str] = {}
    for code in range(0x80, 0x10000):
        char = chr(code)
        if unicodedata.category(char) == "Nd":
            table[code] = str(unicodedata.digit(char))
    spaces = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
    invisible = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
    table.update({ord(c): " " for c in spaces + invisible})
    table.update({ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"})
    table.update({ord(c): t for c, t in zip("＋（）．／＃：·", "+()./#:.", strict=True)})
    table.update({ord(c): chr(ord(c) - 0xFEE0) for c in "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"})
    return table


_TABLE = _normalising_table()
_DIGIT = re.compile(r"\d")
_SAFE_CUT = re.compile(r"(?<=[^\d\s])\s+(?=[^\W\d_])")


def normalise(text: str) -> str:
    """`text` with Unicode digits, spaces, dashes and full-width punctuation made ASCII, at the same offsets."""
    return text if text.isascii() else text.translate(_TABLE)


def segments(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, long lines cut between words into pieces of at most SEGMENT characters."""
    position, length = 0, len(text)
    while position <= length:
        newline = text.find("\n", position)
        line_end = length if newline < 0 else newline
        yield from _cut(text, position, line_end)
        position = line_end + 1


def _cut(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while end - start > SEGMENT:
        cuts = list(_SAFE_CUT.finditer(text, start + SEGMENT // 2, start + SEGMENT))
        cut = cuts[-1].end() if cuts else start + SEGMENT
        yield start, cut
        start = cut
    yield start, end


def _number_start(text: str, start: int, end: int) -> int:
    """Where a match's number begins. The matcher keeps an opening bracket that is not closed in the number
    ("(07400 123456)", "[020 …]"), and a number it found inside a longer candidate begins with the space after the
    separator it split at (")7911 123639 / 0117 496 0157": " 0117 496 0157"), which would judge it by the `/`."""
    while start < end and (
        text[start].isspace() or text[start] == "[" or (text[start] == "(" and ")" not in text[start:end])
    ):
        start += 1
    return start


def _overlaps(found: FoundNumber, spans: list[tuple[int, int]]) -> bool:
    return any(start < found.end and found.start < end for start, end in spans)


def _found(text: str, start: int, end: int, number: phonenumbers.PhoneNumber, evidence: str = "") -> FoundNumber:
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return FoundNumber(text[start:end], e164, number.extension or "", start, end, evidence)


# --- judging matcher candidates -----------------------------------------------------------------------------------

_MAIN_PART = re.compile(r"[^A-Za-z#;,]*")
_SEPARATOR = re.compile(r"\d[\s\-./()]+\d|^\(")
_EDGE = re.compile(r"[\s\"'.,;:<>\[\]()]*")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_LAST_DIGIT = re.compile(r".*\d", re.DOTALL)
_EXTENSION_WORD = re.compile(
    r"\s*[,;]?\s*(?:poste|interno|int\.|ramal|toestel|tst\.|wew\.|lok\.|anexo|app\.)\s*[.:]?\s*(\d{1,6})(?!\d)",
    re.IGNORECASE,
)
"""Extension words libphonenumber does not know (it reads ext, x, #, extension and some others itself)."""
_INTERNATIONAL = (CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN, CountryCodeSource.FROM_NUMBER_WITH_IDD)


class _Judge:
    """Decides on the matcher's candidates in one text (the CSV header, if any, is read once)."""

    def __init__(self, text: str, clean: str, region: str) -> None:
        self.text, self.clean, self.region = text, clean, region
        self.blocks: list[int] | None = None
        self.headers: dict[int, CsvColumns | None] = {}

    def __call__(self, found: FoundNumber, number: phonenumbers.PhoneNumber) -> Verdict:
        clean = self.clean
        why_not = lookalike(clean, found.start, found.end, number.country_code or 0)
        if why_not:
            return Verdict(found, False, why_not)
        context, word = self.context(found.start)
        if context is Context.ANTI_LABEL:
            return Verdict(found, False, f"anti-label {word!r}")
        if context is Context.LABEL or label_after(clean[found.end : found.end + 24]):
            return self.accept(found, Evidence.LABEL)
        main = _MAIN_PART.match(clean, found.start, found.end)
        written = main.group().strip() if main else ""
        if self.international(written):
            return self.accept(found, Evidence.INTERNATIONAL)
        if _SEPARATOR.search(written):
            return self.accept(found, Evidence.FORMATTED)
        if _EDGE.fullmatch(clean, 0, found.start) and _EDGE.fullmatch(clean, found.end):
            return self.accept(found, Evidence.WHOLE_TEXT)
        if written.startswith("0") and not written.startswith("00") and 9 <= len(written) <= 11:
            return self.accept(found, Evidence.TRUNK_PREFIX)
        return Verdict(found, False, "bare digits without a label")

    def accept(self, found: FoundNumber, evidence: Evidence) -> Verdict:
        extension = None if found.extension else _EXTENSION_WORD.match(self.clean, found.end)
        if extension:
            end = extension.end()
            found = replace(found, raw=self.text[found.start : end], extension=extension.group(1), end=end)
        return Verdict(replace(found, evidence=str(evidence)), True, str(evidence))

    def international(self, written: str) -> bool:
        if written.startswith("+"):
            return True
        try:
            source = phonenumbers.parse(written, self.region, keep_raw_input=True).country_code_source
        except phonenumbers.NumberParseException:
            return False
        return source in _INTERNATIONAL

    def context(self, start: int) -> tuple[Context, str]:
        """Labels before the candidate: on its line, its CSV column, or the line before if it starts a line."""
        clean = self.clean
        line_start = clean.rfind("\n", 0, start) + 1
        before = _after_last_digit(clean[max(line_start, start - GAP) : start])
        context = context_before(before)
        if context[0] is not Context.NONE:
            return context
        columns = self.columns(line_start)
        if columns:
            line_end = clean.find("\n", start)
            context = columns.context(clean[line_start : len(clean) if line_end < 0 else line_end], start - line_start)
            if context[0] is not Context.NONE:
                return context
        if not before.strip() and line_start > 0:
            previous = _after_last_digit(clean[max(0, line_start - 1 - GAP) : line_start - 1])
            return context_of_heading(previous)
        return Context.NONE, ""

    def columns(self, line_start: int) -> CsvColumns | None:
        """The CSV header of the block (text between blank lines) holding the line, if it starts with one."""
        if self.blocks is None:
            self.blocks = [0, *(blank.end() for blank in _BLANK_LINE.finditer(self.clean))]
        block_start = self.blocks[bisect.bisect_right(self.blocks, line_start) - 1]
        if block_start not in self.headers:
            header_end = self.clean.find("\n", block_start)
            header = self.clean[block_start : len(self.clean) if header_end < 0 else header_end]
            self.headers[block_start] = CsvColumns.from_line(header.strip())
        return self.headers[block_start]


def _after_last_digit(text: str) -> str:
    last = _LAST_DIGIT.match(text)
    return text[last.end() :] if last else text


# --- URIs and vanity numbers --------------------------------------------------------------------------------------

_URI = re.compile(r"(?<![\w.+\-])(tel|callto|sips?):(?://)?([^\s<>\"'\[\]{}|,]+)")
"""Lower-case schemes only: "Tel:+44…" in a signature is a label, and the matcher reads it as one."""


def _uris(text: str, clean: str, region: str) -> Iterator[Verdict]:
    for uri in _URI.finditer(clean):
        token = uri.group(2).rstrip(".,;:!?")
        if token.endswith(")") and token.count("(") < token.count(")"):
            token = token[:-1]
        end = uri.start(2) + len(token)
        scheme, token = uri.group(1).lower(), unquote(token)
        if scheme.startswith("sip"):
            dialled = token.split("@", 1)[0].split(":", 1)[0].split(";", 1)[0]
        elif scheme == "callto":
            dialled = token.split("?", 1)[0]
        else:
            dialled = "tel:" + token
        try:
            number = phonenumbers.parse(dialled, region)
        except phonenumbers.NumberParseException:
            continue
        found = _found(text, uri.start(), end, number, str(Evidence.URI))
        if phonenumbers.is_valid_number(number):
            yield Verdict(found, True, str(Evidence.URI))
        else:
            yield Verdict(found, False, "URI without a valid number")


_VANITY = re.compile(
    r"(?<![\w+\-.])(?P<one>\+?1[ .\-]|1(?=\())?(?P<area>\(\d{3}\)|\d{3})[ .\-]?"
    r"(?=[0-9 .\-]{0,8}[A-Za-z])"  # letters soon: most digit runs are not worth trying
    r"(?P<body>[A-Za-z0-9](?:[.\-]?[A-Za-z0-9]){6,9}|[A-Z0-9](?:[ .\-]?[A-Z0-9]){6,9})(?!\w|\.\w)"
)
_TOLL_FREE = {"800", "833", "844", "855", "866", "877", "888"}


def _vanity(text: str, clean: str, region: str) -> Iterator[Verdict]:
    """1-800-FLOWERS: North American numbers with letters, where a label or the toll-free 1-8XX form says so."""
    north_american = phonenumbers.country_code_for_region(region) == 1
    for vanity in _VANITY.finditer(clean):
        body = re.sub(r"[ .\-]", "", vanity.group("body"))
        letters = sum(c.isalpha() for c in body)
        if letters < 3 or not (vanity.group("one") or north_american):
            continue
        area = vanity.group("area").strip("()")
        digits = area + phonenumbers.convert_alpha_characters_in_number(body[:7])
        number = phonenumbers.parse("+1" + digits, None)
        found = _found(text, vanity.start(), vanity.end(), number, str(Evidence.VANITY))
        line_start = clean.rfind("\n", 0, vanity.start()) + 1
        context, word = context_before(_after_last_digit(clean[max(line_start, vanity.start() - GAP) : vanity.start()]))
        toll_free = bool(vanity.group("one")) and area in _TOLL_FREE and body.isupper()
        if not phonenumbers.is_valid_number(number):
            yield Verdict(found, False, "not a valid number")
        elif context is Context.ANTI_LABEL:
            yield Verdict(found, False, f"anti-label {word!r}")
        elif context is Context.LABEL or toll_free or label_after(clean[vanity.end() : vanity.end() + 24]):
            yield Verdict(found, True, str(Evidence.VANITY))
        else:
            yield Verdict(found, False, "letters without a label")


# --- python -m partnercrmd.dialling.detect -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Print the numbers found in stdin, or with --explain every candidate and why it was taken or not."""
    parser = argparse.ArgumentParser(prog="python -m partnercrmd.dialling.detect", description=main.__doc__)
    parser.add_argument("--region", help="default region, e.g. GB (without it only +… numbers are found)")
    parser.add_argument("--explain", action="store_true", help="show every candidate and the reason for the decision")
    args = parser.parse_args(argv)
    text = sys.stdin.read()
    if not args.explain:
        for found in find_numbers(text, args.region):
            print(found.e164 + (f";ext={found.extension}" if found.extension else ""))
        return 0
    for verdict in explain(text, args.region):
        found = verdict.number
        mark = "offered " if verdict.accepted else "rejected"
        extension = f";ext={found.extension}" if found.extension else ""
        print(f"{mark} {found.start:>7} {found.raw!r} -> {found.e164}{extension} ({verdict.reason})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

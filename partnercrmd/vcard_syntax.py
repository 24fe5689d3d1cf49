"""The content-line syntax vCard and iCalendar share (RFC 6350, RFC 5545): splitting, escaping, folding.

`group.NAME;PARAM=a,b:value` — used by the vCard importer and by add-ins that
read and write cards (CardDAV).
"""

from __future__ import annotations

import re

FOLD_OCTETS = 75
"""Lines SHOULD NOT be longer than 75 octets, excluding the line break."""
UNESCAPES = {"n": "\n", "N": "\n", "\\": "\\", ",": ",", ";": ";", ":": ":", '"': '"'}


def split_name_value(line: str) -> tuple[str, str] | None:
    """Split a content line at the first colon outside double quotes; None if there is none."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[:index], line[index + 1 :]
    return None


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split at separators that are not inside double quotes (parameters, parameter values)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def split_escaped(text: str, separator: str) -> list[str]:
    """Split at separators not escaped by a backslash; the parts keep their escapes."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(char + next(chars, ""))
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def unescape_text(text: str) -> str:
    r"""Undo `\n`, `\,`, `\;`, `\\` (and `\:`, `\"` that some writers add); keep other backslashes."""
    return re.sub(r"\\(.)", lambda match: UNESCAPES.get(match.group(1), match.group(0)), text)


def escape_text(value: str) -> str:
    r"""A TEXT value: backslash, newline, comma and semicolon escaped (`\\`, `\n`, `\,`, `\;`)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def fold(line: str) -> str:
    """One logical line as physical lines of at most 75 octets, never splitting a UTF-8 character."""
    parts: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > FOLD_OCTETS:
            parts.append(current)
            current, size = " ", 1
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts)

"""vCard and iCalendar components as content lines, for edits that keep what they do not touch.

`Component` keeps a card (or calendar component) as its logical lines, so an
edit changes only the lines it means to and leaves every property this add-in
does not know exactly as the server (or another client) wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from partnercrmd.sdk.vcard import (
    escape_text,
    fold,
    split_escaped,
    split_name_value,
    split_outside_quotes,
    unescape_text,
)

_PREF_NONE = 101


def unfold(text: str) -> list[str]:
    """Logical lines: physical lines (CRLF, LF or CR) joined where a line starts with a space or tab."""
    lines: list[str] = []
    for raw in re.split(r"\r\n|\n|\r", text.removeprefix("\ufeff")):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    return lines


@dataclass(frozen=True)
class Property:
    """One content line taken apart (the value still escaped)."""

    group: str
    name: str
    params: dict[str, list[str]]
    value: str

    @classmethod
    def parse(cls, line: str) -> Property | None:
        """None for a line that is not a property (no colon outside quotes)."""
        split = split_name_value(line)
        if split is None:
            return None
        head, value = split
        name_part, *param_parts = split_outside_quotes(head, ";")
        group, _, name = name_part.strip().rpartition(".")
        params: dict[str, list[str]] = {}
        for part in param_parts:
            key, equals, raw = part.partition("=")
            if not equals:  # vCard 2.1 bare parameter: TEL;WORK;VOICE
                key, raw = "TYPE", part
            values = [v.strip().strip('"') for v in split_outside_quotes(raw, ",")]
            params.setdefault(key.strip().upper(), []).extend(values)
        return cls(group, name.upper(), params, value)

    @property
    def types(self) -> set[str]:
        return {value.lower() for value in self.params.get("TYPE", []) if value}

    def pref_rank(self) -> int:
        """1 for the most preferred value, 101 when the line does not say (as the importer ranks them)."""
        for value in self.params.get("PREF", []):
            if value.strip().isdigit():
                return int(value)
        return 1 if "pref" in self.types else _PREF_NONE

    def head(self) -> str:
        """`group.NAME;PARAM=…` exactly as it is to be written back (parameter order kept)."""
        params = "".join(f";{key}={','.join(_quote(v) for v in values)}" for key, values in self.params.items())
        return f"{self.group + '.' if self.group else ''}{self.name}{params}"

    def with_value(self, value: str, drop_params: tuple[str, ...] = ()) -> str:
        """This property as a line with a new (already escaped) value."""
        params = {k: v for k, v in self.params.items() if k not in drop_params}
        return Property(self.group, self.name, params, value).head() + ":" + value


def _quote(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ",;:") else value


class Component:
    """The logical lines of one `BEGIN:X` … `END:X` block, editable line by line."""

    def __init__(self, kind: str, lines: list[str]) -> None:
        self.kind = kind.upper()
        self.lines = lines
        """Every line between BEGIN and END (both excluded)."""

    @classmethod
    def find(cls, text: str, kind: str) -> Component | None:
        """The first block of `kind` in a text (nested blocks of other kinds stay in its lines)."""
        begin, end = f"BEGIN:{kind}".upper(), f"END:{kind}".upper()
        inside: list[str] | None = None
        for line in unfold(text):
            marker = line.strip().upper()
            if inside is None:
                if marker == begin:
                    inside = []
            elif marker == end:
                return cls(kind, inside)
            else:
                inside.append(line)
        return None

    def properties(self, name: str) -> Iterator[tuple[int, Property]]:
        """(line index, property) of every line with this property name."""
        wanted = name.upper()
        for index, line in enumerate(self.lines):
            prop = Property.parse(line)
            if prop is not None and prop.name == wanted:
                yield index, prop

    def first(self, name: str) -> tuple[int, Property] | None:
        return next(self.properties(name), None)

    def preferred(self, name: str) -> tuple[int, Property] | None:
        """The most preferred line of a property (by PREF, then order), as the importer picks `emails[0]`."""
        found = list(self.properties(name))
        return min(found, key=lambda item: (item[1].pref_rank(), item[0])) if found else None

    def value(self, name: str) -> str:
        """The first such property's value, unescaped ("" when absent)."""
        found = self.first(name)
        return unescape_text(found[1].value) if found else ""

    def set(self, name: str, line: str) -> None:
        """Replace the first line of this property with `line`, or add `line` when there is none."""
        found = self.first(name)
        if found is None:
            self.lines.append(line)
        else:
            self.lines[found[0]] = line

    def remove(self, name: str) -> None:
        drop = {index for index, _ in self.properties(name)}
        self.lines = [line for index, line in enumerate(self.lines) if index not in drop]

    def serialize(self) -> str:
        body = [f"BEGIN:{self.kind}", *self.lines, f"END:{self.kind}"]
        return "".join(fold(line) + "\r\n" for line in body)


__all__ = ["Component", "Property", "escape_text", "fold", "split_escaped", "unescape_text", "unfold"]

"""SQL text: checked identifiers, and queries with `:name` parameters for either driver.

Table and column names come from the user's settings, so they are checked against a
strict pattern and always double-quoted; values are never written into SQL, only bound.
Queries the user writes use `:name` parameters (SQLite's own style); for PostgreSQL they
are rewritten to psycopg's `%(name)s` style, outside string literals, quoted names and
comments, so `'12:30'` and `x::text` stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from partnercrmd.sdk import ConfigError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
"""A plain SQL name: letters, digits and underscores, not starting with a digit, 63 characters at most."""
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_identifier(name: str, setting: str) -> str:
    """`name` unchanged when it is a plain SQL name; ConfigError naming the setting otherwise."""
    if not IDENTIFIER.fullmatch(name):
        raise ConfigError(
            f"The setting '{setting}' must be a plain table or column name (letters, digits and _, "
            f"not starting with a digit), not {name[:80]!r}."
        )
    return name


def quote(name: str) -> str:
    """A checked name as a standard quoted SQL identifier (the name is exact: quoting keeps its case)."""
    assert IDENTIFIER.fullmatch(name), name
    return f'"{name}"'


def quote_brackets(name: str) -> str:
    """A checked name quoted for SQLite: it reads an unknown "name" as the text 'name', never an unknown [name]."""
    assert IDENTIFIER.fullmatch(name), name
    return f"[{name}]"


@dataclass(frozen=True)
class TableName:
    """A table, optionally in a schema (`crm.contacts`); both parts checked."""

    name: str
    schema: str = ""

    @classmethod
    def parse(cls, text: str, setting: str) -> TableName:
        schema, dot, name = text.strip().rpartition(".")
        if dot:
            return cls(check_identifier(name, setting), check_identifier(schema, setting))
        return cls(check_identifier(name, setting))

    def sql(self, quoted: Callable[[str], str] = quote) -> str:
        return f"{quoted(self.schema)}.{quoted(self.name)}" if self.schema else quoted(self.name)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class Statement:
    """SQL with `:name` parameters and where it came from (for error messages)."""

    sql: str
    origin: str
    """Words for the user: "the setting 'search_name_query'" or "the table settings"."""

    @property
    def parameters(self) -> frozenset[str]:
        return frozenset(name for _, _, name in parameter_spans(self.sql))


def _skip_quoted(sql: str, start: int, quote_char: str) -> int:
    """Index just past the quoted text opening at `start` (a doubled quote stays inside)."""
    i = start + 1
    while i < len(sql):
        if sql[i] == quote_char:
            if i + 1 < len(sql) and sql[i + 1] == quote_char:
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def _skip_comment(sql: str, start: int) -> int:
    """Index just past a comment opening at `start`, or `start` when none opens there."""
    pair = sql[start : start + 2]
    if pair == "--":
        end = sql.find("\n", start)
        return len(sql) if end < 0 else end + 1
    if pair == "/*":
        end = sql.find("*/", start + 2)
        return len(sql) if end < 0 else end + 2
    return start


def parameter_spans(sql: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of every `:name` parameter outside literals, quoted names and comments."""
    spans: list[tuple[int, int, str]] = []
    i = 0
    while i < len(sql):
        char = sql[i]
        if char in "'\"`":  # strings, "names" and MySQL's `names`
            i = _skip_quoted(sql, i, char)
            continue
        after_comment = _skip_comment(sql, i)
        if after_comment != i:
            i = after_comment
            continue
        if char == ":":
            if sql[i + 1 : i + 2] == ":":  # a PostgreSQL cast, x::text
                i += 2
                continue
            match = _PARAM_NAME.match(sql, i + 1)
            if match and (i == 0 or sql[i - 1] != ":"):
                spans.append((i, match.end(), match.group()))
                i = match.end()
                continue
        i += 1
    return spans


@lru_cache(maxsize=256)
def to_pyformat(sql: str) -> str:
    """The statement in psycopg's style: `:name` becomes `%(name)s`, every literal `%` becomes `%%`."""
    parts: list[str] = []
    position = 0
    for start, end, name in parameter_spans(sql):
        parts.append(sql[position:start].replace("%", "%%"))
        parts.append(f"%({name})s")
        position = end
    parts.append(sql[position:].replace("%", "%%"))
    return "".join(parts)


def check_parameters(statement: Statement, allowed: frozenset[str]) -> None:
    """ConfigError when a user's query uses a parameter partnercrmd does not provide (a typo, usually)."""
    unknown = sorted(statement.parameters - allowed)
    if unknown:
        names = ", ".join(f":{n}" for n in sorted(allowed))
        raise ConfigError(
            f"{statement.origin[0].upper()}{statement.origin[1:]} uses the parameter :{unknown[0]}, "
            f"which partnercrmd does not provide; use {names}."
        )


def like_escape(text: str) -> str:
    """`text` for a LIKE pattern with ESCAPE '\\': its own %, _ and \\ match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""Templated values and response mappings: JMESPath, with a few functions REST APIs need.

A template string holds `{{ expression }}` parts; each expression is JMESPath over the
operation's context (settings, number, text, id, call, contact, page). A string that is one
expression keeps the value's type (a number stays a number in a JSON body); a null value
leaves its key out of a query, form or JSON object. Response mappings are plain JMESPath
over the answer. JMESPath (https://jmespath.org) was chosen over JSONPath because it has one
specification with a compliance suite, indices and slices, filters, and functions, so the same
language serves both the mappings and the templated values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jmespath
import jmespath.exceptions
import jmespath.functions
from jmespath.parser import ParsedResult

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


class Functions(jmespath.functions.Functions):
    """JMESPath's built-ins, plus text helpers templates use."""

    @jmespath.functions.signature({"types": ["string", "null"]})
    def _func_upper(self, text: str | None) -> str:
        return (text or "").upper()

    @jmespath.functions.signature({"types": ["string", "null"]})
    def _func_lower(self, text: str | None) -> str:
        return (text or "").lower()

    @jmespath.functions.signature({"types": ["string", "null"]})
    def _func_trim(self, text: str | None) -> str:
        return (text or "").strip()

    @jmespath.functions.signature({"types": ["string", "number", "null"]})
    def _func_digits(self, text: str | float | None) -> str:
        return "".join(ch for ch in str(text or "") if ch.isdigit())

    @jmespath.functions.signature({"types": ["string", "null"]}, {"types": ["number"]})
    def _func_truncate(self, text: str | None, length: float) -> str:
        return (text or "")[: int(length)]

    @jmespath.functions.signature({"types": ["string", "null"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_replace(self, text: str | None, old: str, new: str) -> str:
        return (text or "").replace(old, new)

    @jmespath.functions.signature({"types": ["string", "null"]}, {"types": ["string"]})
    def _func_escape(self, text: str | None, characters: str) -> str:
        """Backslash before each of `characters` (and before backslash): SOQL/SOSL and similar query languages."""
        special = set(characters) | {"\\"}
        return "".join("\\" + ch if ch in special else ch for ch in text or "")

    @jmespath.functions.signature({"types": ["string", "number", "null"]})
    def _func_odata_string(self, text: str | float | None) -> str:
        """An OData string literal: the text in single quotes, each quote inside doubled (`O'Brien` ->
        `'O''Brien'`), as OData v4's URL conventions (ABNF `string`: SQUOTE-in-string = SQUOTE SQUOTE) want in
        `$filter`; so a caller's text stays one value and cannot end the literal and add conditions."""
        return "'" + as_text(text).replace("'", "''") + "'"

    @jmespath.functions.signature({"types": ["string", "null"]})
    def _func_chars(self, text: str | None) -> list[str]:
        """The characters of a text, e.g. to join digits with a wildcard between them."""
        return list(text or "")

    @jmespath.functions.signature({"types": ["string", "number", "null"]})
    def _func_url_quote(self, text: str | float | None) -> str:
        """Percent-encoded for one part of a URL (a path segment or a query value)."""
        return quote(as_text(text), safe="")

    @jmespath.functions.signature({"types": []})
    def _func_json(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    @jmespath.functions.signature({"types": ["string", "null"]}, {"types": ["string"]})
    def _func_split_first(self, text: str | None, separator: str) -> str:
        return (text or "").split(separator, 1)[0]


OPTIONS = jmespath.Options(custom_functions=Functions())


class ExpressionError(ValueError):
    """An expression that does not compile; the message says why."""


def compile_path(expression: str) -> ParsedResult:
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise ExpressionError(" ".join(str(exc).split())) from None


def search(compiled: ParsedResult, data: Any) -> Any:
    """Evaluate; a type error in the data (a field of an unexpected kind) gives None, not an exception."""
    try:
        return compiled.search(data, options=OPTIONS)
    except jmespath.exceptions.JMESPathError:
        return None


@dataclass(frozen=True)
class Text:
    """A compiled template string: literal parts and expressions, alternating."""

    source: str
    parts: tuple[str | ParsedResult, ...]

    @classmethod
    def compile(cls, source: str) -> Text:
        parts: list[str | ParsedResult] = []
        position = 0
        for match in PLACEHOLDER.finditer(source):
            if match.start() > position:
                parts.append(source[position : match.start()])
            expression = match.group(1).strip()
            if not expression:
                raise ExpressionError("an empty {{ }}")
            parts.append(compile_path(expression))
            position = match.end()
        if position < len(source):
            parts.append(source[position:])
        if "{{" in "".join(p for p in parts if isinstance(p, str)):
            raise ExpressionError("a {{ without its }}")
        return cls(source, tuple(parts))

    @property
    def single(self) -> bool:
        return len(self.parts) == 1 and not isinstance(self.parts[0], str)

    def value(self, context: Mapping[str, Any]) -> Any:
        """The typed value of a one-expression string, otherwise the text."""
        if self.single:
            return search(self.parts[0], context)  # type: ignore[arg-type]
        return self.text(context)

    def text(self, context: Mapping[str, Any], *, escape_values: bool = False) -> str:
        """The filled-in text; with `escape_values` (URLs), values are percent-encoded, except one that
        opens the text (it gives the scheme and host, e.g. a setting holding the CRM's address)."""
        out: list[str] = []
        for index, part in enumerate(self.parts):
            if isinstance(part, str):
                out.append(part)
                continue
            shown = as_text(search(part, context))
            out.append(quote(shown, safe="") if escape_values and index > 0 else shown)
        return "".join(out)


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def compile_value(value: Any) -> Any:
    """A JSON-like value with every string compiled to `Text`."""
    if isinstance(value, str):
        return Text.compile(value)
    if isinstance(value, list):
        return [compile_value(v) for v in value]
    if isinstance(value, dict):
        return {k: compile_value(v) for k, v in value.items()}
    return value


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Fill a compiled value in; object keys whose value is null are left out."""
    if isinstance(value, Text):
        return value.value(context)
    if isinstance(value, list):
        return [render_value(v, context) for v in value]
    if isinstance(value, dict):
        rendered = {k: render_value(v, context) for k, v in value.items()}
        return {k: v for k, v in rendered.items() if v is not None}
    return value

"""The one check of text that comes from outside (request fields, headers) before any add-in sees it."""

from __future__ import annotations

import re

from .errors import BadRequest

BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""C0 controls other than tab, line feed and carriage return; DEL; UTF-16 surrogates (only a lone one can be in a
Python str: from a JSON escape such as \\ud800, or a header byte that is not UTF-8)."""


def clean_text(value: str, what: str) -> str:
    """`value` if it is text an add-in can store and send; BadRequest naming `what` (a field or header) otherwise."""
    bad = BAD_TEXT.search(value)
    if bad is None:
        return value
    char = bad.group()
    if char == "\x00":
        described = "a NUL byte"
    elif "\ud800" <= char <= "\udfff":
        described = "a lone UTF-16 surrogate (text that is not valid Unicode)"
    else:
        described = f"the control character U+{ord(char):04X}"
    raise BadRequest(f"{what} contains {described}; remove it and send again.", code="invalid_text")

"""LDAP search filters for number, name and id lookups, with every piece of user input escaped.

Numbers: directories store them as typed ("+44 20 7946 0958", "020-7946-0958",
"(020) 7946.0958"). slapd's telephoneNumber matching ignores spaces and
hyphens but not "+", "(", ")" or ".", and Active Directory compares phone
attributes as plain text. So a number is looked up by the last seven digits
of its national number, with a wildcard between every two digits
(`*9*4*6*0*9*5*8*`): that finds the number whatever separators the entry
holds. It can also find a few entries that only happen to contain those
digits in that order; the connector (and then the host) keeps only the
entries whose numbers really are the same line.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from partnercrmd.sdk import SUFFIX_DIGITS, index_tail, phone_key

from .ldap3_api import escape_bytes, escape_filter_chars

SHORT_NUMBER_DIGITS = SUFFIX_DIGITS
"""Numbers with fewer digits (internal extensions) must match from their first to their last digit."""


def number_pattern(number: str, region: str | None) -> str | None:
    """The substring assertion (after "attr=") that finds `number` however it is written; None if no digits.

    Seven digits or more: the last seven national digits anywhere in the value, separators allowed
    between them. Fewer (an extension such as "4711"): the value must start with the first digit and
    end with the last one, so "47-11" matches while "+49 30 1234 4711 0" does not.
    """
    digits = phone_key(number, region).digits
    if not digits:
        return None
    if len(digits) < SHORT_NUMBER_DIGITS:
        return "*".join(escape_filter_chars(d) for d in digits)
    tail = index_tail(number, region)
    return "*" + "*".join(escape_filter_chars(d) for d in tail) + "*"


def number_filter(attributes: Sequence[str], number: str, region: str | None) -> str | None:
    """`(|(telephoneNumber=*9*4*…)(mobile=*9*4*…)…)` over every phone attribute; None when there is nothing to find."""
    pattern = number_pattern(number, region)
    if pattern is None or not attributes:
        return None
    return any_of([f"({name}={pattern})" for name in attributes])


def name_filter(attributes: Sequence[str], text: str) -> str | None:
    """Every word of `text` in one of `attributes` (names, company, email); None for a query without words."""
    words = text.split()
    if not words or not attributes:
        return None
    per_word = [any_of([f"({name}=*{escape_filter_chars(word)}*)" for name in attributes]) for word in words]
    return all_of(per_word)


def id_filter(id_attribute: str, contact_id: str) -> str:
    """The filter finding one entry by its unique id (entryUUID text, or AD's objectGUID bytes)."""
    if is_guid_attribute(id_attribute):
        guid = uuid.UUID(contact_id)
        return f"({id_attribute}={escape_bytes(guid.bytes_le)})"
    return f"({id_attribute}={escape_filter_chars(contact_id)})"


def is_guid_attribute(name: str) -> bool:
    """Whether an id attribute holds a 16-byte GUID (Active Directory's objectGUID) rather than text."""
    return name.lower() == "objectguid"


def any_of(filters: Sequence[str]) -> str:
    return filters[0] if len(filters) == 1 else "(|" + "".join(filters) + ")"


def all_of(filters: Sequence[str]) -> str:
    present = [f for f in filters if f]
    return present[0] if len(present) == 1 else "(&" + "".join(present) + ")"


def contacts_filter(object_filter: str, extra_filter: str, inner: str, bound: str = "") -> str:
    """The preset's "is a contact" filter AND the user's extra filter (AND a time bound) AND the lookup itself.

    The bound comes before the lookup: a server without an index on it still tests it first, and one cheap
    comparison of a timestamp then spares it the number pattern on most entries (slapd evaluates an AND in
    order; measured with scripts/measure_number_index.py).
    """
    return all_of([object_filter, extra_filter, bound, inner])


def changed_since_filter(attribute: str, since: str) -> str:
    """`(modifyTimestamp>=20261126024500Z)`: entries changed at or after `since` (GeneralizedTime text)."""
    return f"({attribute}>={escape_filter_chars(since)})"


def check_filter_syntax(text: str) -> str | None:
    """Why a user-written filter cannot be used (None when it looks like one LDAP filter)."""
    if not text:
        return None
    if not (text.startswith("(") and text.endswith(")")):
        return "it must be one filter in parentheses, such as (department=Sales)"
    depth = 0
    escaped = False
    for position, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0 or (depth == 0 and position != len(text) - 1):
                return "its parentheses do not match"
    if depth != 0:
        return "its parentheses do not match"
    return None

"""The book's settings: the schema the configuration UI shows, and the checks the schema cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from partnercrmd.sdk import ConfigField, FieldKind

CONFIG = (
    ConfigField(
        "address_books",
        "Address books",
        FieldKind.TEXT,
        help="The names of the address books to search, separated by commas, as GNOME Contacts or Evolution show "
        "them. Empty: every address book that is switched on.",
    ),
)
"""The integration's settings schema (`Integration.config`)."""


@dataclass(frozen=True)
class EvolutionSettings:
    """A book's settings, checked: what the connector works with."""

    address_books: tuple[str, ...]
    """The address books searched, by name (folded to lower case); empty: every enabled one."""


def parse_settings(settings: Mapping[str, Any]) -> EvolutionSettings:
    """The settings as the book opens with them (there is nothing that can be wrong in them)."""
    names = dict.fromkeys(name.strip().casefold() for name in str(settings.get("address_books") or "").split(","))
    return EvolutionSettings(tuple(name for name in names if name))

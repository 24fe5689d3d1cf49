"""The book's settings: the schema the configuration UI shows, and the checks the schema cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partnercrmd.sdk import ConfigError, ConfigField, FieldKind

CONFIG = (
    ConfigField(
        "profile",
        "Thunderbird profile folder",
        FieldKind.PATH,
        help="The folder of the Thunderbird profile whose address books are searched. "
        "Empty: the profile Thunderbird itself starts with for this user.",
    ),
    ConfigField(
        "address_books",
        "Address books",
        FieldKind.TEXT,
        help="The names of the address books to search, separated by commas (as Thunderbird shows them). "
        "Empty: every address book of the profile, the collected addresses included.",
    ),
)
"""The integration's settings schema (`Integration.config`)."""


@dataclass(frozen=True)
class ThunderbirdSettings:
    """A book's settings, checked: what the connector works with."""

    profile: Path | None
    """The profile folder (absolute, `~` expanded); None: Thunderbird's default profile, found on each read."""
    address_books: tuple[str, ...]
    """The address books searched, by name (folded to lower case); empty: all of them."""


def parse_settings(settings: Mapping[str, Any]) -> ThunderbirdSettings:
    """The settings as the book opens with them; ConfigError saying what to change when they cannot work.

    The profile itself is not looked at: it is read on first use, so a profile made later is picked up.
    """
    given = str(settings.get("profile") or "").strip()
    profile: Path | None = None
    if given:
        profile = Path(given).expanduser()
        if not profile.is_absolute():
            # The daemon's working directory is not the user's; a relative path would point somewhere else.
            raise ConfigError(
                f"The setting 'profile' must be a full path (such as ~/.thunderbird/abcd1234.default-esr), "
                f"not {given[:200]!r}."
            )
    names = tuple(
        dict.fromkeys(name.strip().casefold() for name in str(settings.get("address_books") or "").split(","))
    )
    return ThunderbirdSettings(profile, tuple(name for name in names if name))

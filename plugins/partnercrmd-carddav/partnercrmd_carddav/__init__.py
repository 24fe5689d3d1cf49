"""partnercrmd add-in: a CardDAV address book (Nextcloud, iCloud, Fastmail, Radicale…).

Finds callers by number through a local phone index kept in step with the
server (CardDAV servers match TEL as literal text), searches names on the
server (addressbook-query), opens contacts on the server's web page or
partnercrmd's own, logs calls in the contact's NOTE or as VJOURNALs in a
calendar, and creates and changes contacts under their ETags.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from partnercrmd.sdk import BookContext, Capability, Integration, ReleaseNote, SettingsCheck, hookimpl

from .presets import GUIDE_URL, PRESETS, Preset, check_preset_settings, open_preset_book, preset_description
from .settings import CONFIG, preset_form
from .version import USER_AGENT, __version__

if TYPE_CHECKING:
    from .connector import CardDavBook


def open_book(context: BookContext) -> CardDavBook:
    """Opens one configured book; the connector (and its DAV client) is imported only now, not at every start."""
    from .connector import open_book as open_carddav_book

    return open_carddav_book(context)


async def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """The settings' rules and, with `connect`, the server reached (see checks.check_settings); imported only now."""
    from .checks import check_settings as check_carddav_settings

    return await check_carddav_settings(settings, connect, user_agent=USER_AGENT)


INTEGRATION_ID = "carddav"

CARDDAV = Integration(
    id=INTEGRATION_ID,
    # The services with a preset of their own are not in the name, so that searching for one leads to its preset.
    name="CardDAV address book (Radicale, Baïkal, any server)",
    version=__version__,
    open=open_book,
    capabilities=frozenset(Capability) - {Capability.CALL_EVENTS},  # all of them; a book narrows them by its settings
    description="Contacts on a CardDAV server: callers found by any number format, calls noted on the contact.",
    config=CONFIG,
    check_settings=check_settings,
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-carddav/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-12-07",
            "Named entries for Nextcloud, iCloud, Fastmail, SOGo, DAViCal, mailbox.org and Google Contacts: their "
            "forms ask for the server, user name or e-mail and password and build the address book's address; "
            "Google Contacts is listed as needing OAuth sign-in, which this add-in cannot do yet.",
        ),
        ReleaseNote(
            "0.1.0",
            "2026-11-25",
            "First release: find callers whatever the number format, search names, open and edit contacts, "
            "log calls in the contact's notes or a calendar, create contacts.",
        ),
    ),
)


def preset_integration(preset: Preset, base: Integration) -> Integration:
    """The catalogue entry of `preset`: the `carddav` integration with the preset's form, guide and name."""
    return Integration(
        id=preset.integration_id,
        name=f"{preset.service} (CardDAV)",
        version=base.version,
        open=functools.partial(open_preset_book, preset),
        # A preset that cannot sign in promises nothing it cannot do.
        capabilities=frozenset() if preset.missing else base.capabilities,
        description=preset_description(preset),
        config=preset_form(preset.service, preset.fields, preset.sign_in, preset.missing),
        check_settings=functools.partial(check_preset_settings, preset),
        guide_url=f"{GUIDE_URL}#{preset.key}",
        release_notes=base.release_notes,
        extra={
            "category": "Directory",
            "aliases": [preset.service, *preset.aliases, "CardDAV"],
            "url_pattern": preset.url_pattern,
            "sign_in": preset.sign_in,
            "vendor_docs": preset.vendor_docs,
            "missing": preset.missing,
        },
    )


def preset_integrations(base: Integration) -> Sequence[Integration]:
    """Every preset's catalogue entry, built on the `carddav` integration `base`."""
    return [preset_integration(p, base) for p in PRESETS]


PRESET_ENTRIES = tuple(preset_integrations(CARDDAV))
"""Nextcloud, iCloud, Fastmail, SOGo, DAViCal, mailbox.org and Google Contacts: `carddav` with the address built."""


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides `carddav` (any server) and one named entry per preset (see presets.py)."""
    return [CARDDAV, *PRESET_ENTRIES]


__all__ = [
    "CARDDAV",
    "INTEGRATION_ID",
    "PRESETS",
    "PRESET_ENTRIES",
    "__version__",
    "partnercrmd_integrations",
]

"""partnercrmd add-in: a CardDAV address book (Nextcloud, iCloud, Fastmail, Radicale…).

Finds callers by number through a local phone index kept in step with the
server (CardDAV servers match TEL as literal text), searches names on the
server (addressbook-query), opens contacts on the server's web page or
partnercrmd's own, logs calls in the contact's NOTE or as VJOURNALs in a
calendar, and creates and changes contacts under their ETags.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from partnercrmd.sdk import Capability, Integration, ReleaseNote, hookimpl

from .checks import check_settings
from .connector import USER_AGENT, CardDavBook, open_book
from .presets import PRESETS, preset_integrations
from .settings import CONFIG
from .version import __version__

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
    check_settings=functools.partial(check_settings, user_agent=USER_AGENT),
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
    "CardDavBook",
    "__version__",
    "partnercrmd_integrations",
]

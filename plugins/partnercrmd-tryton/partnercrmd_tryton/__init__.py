"""partnercrmd add-in for Tryton ERP: parties as an address book, over Tryton's JSON-RPC.

Caller preview finds parties by any format of a phone number (Tryton's E.164 `value_compact`, plus a
local index for numbers stored as typed) or by name; records open in Tryton's web client; calls are
logged as notes on the party; new contacts become parties. See README.md for the settings.
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd.sdk import Capability, Integration, ReleaseNote, hookimpl

from .checks import check_settings
from .connector import TrytonBook, open_book
from .settings import CONFIG
from .version import __version__

__all__ = ["INTEGRATION_ID", "TRYTON", "TrytonBook", "__version__", "open_book", "partnercrmd_integrations"]

INTEGRATION_ID = "tryton"

TRYTON = Integration(
    id=INTEGRATION_ID,
    name="Tryton ERP",
    version=__version__,
    open=open_book,
    capabilities=frozenset(Capability) - {Capability.CALL_EVENTS},  # all of them; a book narrows them by its settings
    description="Parties of a Tryton database: caller preview, opening in the web client, calls as notes.",
    config=CONFIG,
    check_settings=check_settings,
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-tryton/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-11-25",
            "First release: find parties by any number format or by name, open them in Tryton's web client, "
            "log calls as notes on the party, create and change parties.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `tryton`."""
    return [TRYTON]

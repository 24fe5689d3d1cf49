"""partnercrmd add-in for Tryton ERP: parties as an address book, over Tryton's JSON-RPC.

Caller preview finds parties by any format of a phone number (Tryton's E.164 `value_compact`, plus a
local index for numbers stored as typed) or by name; records open in Tryton's web client; calls are
logged as notes on the party; new contacts become parties. See README.md for the settings.
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd import hookimpl
from partnercrmd.integration import Integration

from .addin import TRYTON, TrytonBook, open_book
from .version import __version__

__all__ = ["TRYTON", "TrytonBook", "__version__", "open_book", "partnercrmd_integrations"]


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `tryton`."""
    return [TRYTON]

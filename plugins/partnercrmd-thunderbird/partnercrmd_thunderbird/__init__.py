"""partnercrmd add-in: caller preview from the user's Thunderbird address books, read while Thunderbird runs.

The layout every add-in shares: this module holds the hook and the `Integration`; `settings` the schema and its
checks, `client` reading the profile's files, `connector` the connector, `checks` Test connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd.sdk import Capability, Integration, ReleaseNote, hookimpl

from .checks import check_settings
from .connector import open_books
from .settings import CONFIG

__version__ = "0.1.0"

THUNDERBIRD = Integration(
    id="thunderbird",
    name="Thunderbird address books",
    version=__version__,
    open=open_books,
    capabilities=frozenset({Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.POP}),
    description="The contacts of your Thunderbird address books (personal, collected, synced CardDAV books), "
    "read safely while Thunderbird runs.",
    config=CONFIG,
    check_settings=check_settings,
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-thunderbird/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-12-07",
            "First release: search by number and by name in every address book of a Thunderbird profile, "
            "read while Thunderbird runs, changes picked up at the next search.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `thunderbird`."""
    return [THUNDERBIRD]

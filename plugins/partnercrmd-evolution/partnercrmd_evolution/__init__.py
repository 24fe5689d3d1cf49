"""partnercrmd add-in: caller preview from GNOME's address books, through Evolution Data Server on D-Bus.

The layout every add-in shares: this module holds the hook and the `Integration`; `settings` the schema and its
checks, `client` talking to EDS, `contacts` and `vcards` reading and writing its contacts, `connector` the
connector, `checks` Test connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd.sdk import Capability, Integration, ReleaseNote, hookimpl

from .checks import check_settings
from .connector import open_books
from .settings import CONFIG

__version__ = "0.1.0"

EVOLUTION = Integration(
    id="evolution",
    name="GNOME / Evolution address books",
    version=__version__,
    open=open_books,
    capabilities=frozenset(
        {Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.POP, Capability.CREATE_CONTACT}
    ),
    description="The address books of GNOME Contacts and Evolution (Evolution Data Server), with the Google, "
    "Exchange and CardDAV accounts set up in GNOME Online Accounts.",
    config=CONFIG,
    check_settings=check_settings,
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-evolution/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-12-07",
            "First release: search by number and by name in Evolution Data Server's address books over D-Bus, "
            "changes seen at the next search, new contacts added to the personal address book.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `evolution`."""
    return [EVOLUTION]

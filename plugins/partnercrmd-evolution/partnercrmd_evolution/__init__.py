"""partnercrmd add-in: caller preview from GNOME's address books, through Evolution Data Server on D-Bus.

The layout every add-in shares: this module holds the hook and the `Integration`; `settings` the schema and its
checks, `client` talking to EDS, `contacts` and `vcards` reading and writing its contacts, `connector` the
connector, `checks` Test connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from partnercrmd.sdk import BookContext, Capability, Integration, ReleaseNote, SettingsCheck, hookimpl

from .settings import CONFIG

if TYPE_CHECKING:
    from .connector import EvolutionBooks

__version__ = "0.1.0"


def open_books(context: BookContext) -> EvolutionBooks:
    """Opens the configured books; the D-Bus client (dbus-fast) is imported only now, not at every daemon start."""
    from .connector import open_books as open_evolution_books

    return open_evolution_books(context)


def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """The settings' rules (see checks.check_settings); the D-Bus client is imported only now."""
    from .checks import check_settings as check_evolution_settings

    return check_evolution_settings(settings, connect)


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

"""partnercrmd add-in: BottleCRM (the open-source `django-crm`) through its REST API.

Caller preview by number (from a local index of the book's numbers, see `index`) and by
name, popping the contact in BottleCRM's web app, calls logged as interactions of kind `call`,
contacts created and changed. `connector` is the address book, `client` the protocol, `mapping`
the translation between BottleCRM's records and partnercrmd's model, `settings` the schema and
the book's settings checked, `checks` Test connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd.sdk import Capability, Integration, ReleaseNote, hookimpl

from .checks import check_settings
from .connector import BottleCrmBook
from .settings import CONFIG

__version__ = "0.1.0"

INTEGRATION_ID = "bottlecrm"

BOTTLECRM = Integration(
    id=INTEGRATION_ID,
    name="BottleCRM (add-in)",  # the catalogue's template is "BottleCRM (template)": a user must tell them apart
    version=__version__,
    open=BottleCrmBook,
    capabilities=frozenset(
        {
            Capability.SEARCH_NUMBER,
            Capability.SEARCH_NAME,
            Capability.POP,
            Capability.POP_EDIT,
            Capability.LOG_ACTIVITY,
            Capability.SHOW_ACTIVITIES,
            Capability.CREATE_CONTACT,
            Capability.UPDATE_CONTACT,
        }
    ),
    description=(
        "Contacts of a BottleCRM (django-crm) server, found by number through a local index that is kept up to "
        "date; calls are logged on them as interactions."
    ),
    config=CONFIG,
    check_settings=check_settings,
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-bottlecrm/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-11-25",
            "First release: caller preview by number and name, open contacts in BottleCRM, log calls as "
            "interactions, create and change contacts.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `bottlecrm`."""
    return [BOTTLECRM]

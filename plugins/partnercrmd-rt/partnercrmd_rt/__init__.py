"""partnercrmd add-in: Request Tracker 5 (Best Practical's RT) through its REST2 API.

RT's users are the contacts: found by any of their four phone fields (through a local index of their numbers:
REST2 cannot search those fields, see `index`) and by name, popped on RT's user summary page, created; calls are
logged as comments on the caller's most recently updated open ticket, or as new tickets. `connector` is the
address book, `client` the protocol, `mapping` the translation between RT's records and partnercrmd's model,
`settings` the schema and the book's settings checked, `checks` Test connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from partnercrmd.sdk import Capability, Integration, ReleaseNote, hookimpl

from .checks import check_settings
from .connector import RtBook
from .settings import CONFIG

__version__ = "0.2.0"

RT = Integration(
    id="rt",
    name="Request Tracker (RT 5)",
    version=__version__,
    open=RtBook,
    capabilities=frozenset(
        {
            Capability.SEARCH_NUMBER,
            Capability.SEARCH_NAME,
            Capability.POP,
            Capability.LOG_ACTIVITY,
            Capability.CREATE_CONTACT,
        }
    ),
    description="The users of a Request Tracker 5 help desk (REST2 with an authentication token), found by any of "
    "their phone numbers and by name; calls are logged on their open ticket or as a new ticket.",
    config=CONFIG,
    check_settings=check_settings,
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-rt/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-12-07",
            "First release: RT users found by their work, mobile, home and pager numbers and by name, opened on "
            "RT's user page, calls logged as comments on the caller's open ticket or as new tickets, new users.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `rt`."""
    return [RT]

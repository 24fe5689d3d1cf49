"""partnercrmd add-in: LDAP directories and Active Directory as address books.

Caller preview by any phone attribute, search by name, the contact's record
page, calls logged into an attribute of the entry, new contacts and changes
where the book's settings allow them. Built on ldap3 (synchronous), so the
connector is a `BlockingConnector` run in the host's worker threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from partnercrmd.sdk import (
    BlockingConnector,
    BookContext,
    Capability,
    Integration,
    ReleaseNote,
    SettingsCheck,
    hookimpl,
)

from .settings import CONFIG

__version__ = "0.1.0"
__all__ = ["LDAP", "__version__"]

INTEGRATION_ID = "ldap"


def open_book(context: BookContext) -> BlockingConnector:
    """Opens one configured book; ldap3 is imported only now, not at every start of the daemon."""
    from .connector import open_book as open_ldap_book

    return open_ldap_book(context)


def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """The settings' rules and, with `connect`, a login (see checks.check_settings); ldap3 is imported only now."""
    from .checks import check_settings as check_ldap_settings

    return check_ldap_settings(settings, connect)


LDAP = Integration(
    id=INTEGRATION_ID,
    name="LDAP / Active Directory",
    version=__version__,
    open=open_book,
    capabilities=frozenset(
        {
            Capability.SEARCH_NUMBER,
            Capability.SEARCH_NAME,
            Capability.POP,
            Capability.POP_EDIT,
            Capability.LOG_ACTIVITY,
            Capability.CREATE_CONTACT,
            Capability.UPDATE_CONTACT,
            Capability.PICTURES,
        }
    ),
    description="People and contacts in an LDAP directory (OpenLDAP inetOrgPerson, Active Directory), "
    "found by any of their phone numbers or by name.",
    config=CONFIG,
    check_settings=check_settings,
    guide_url="https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-ldap/README.md",
    release_notes=(
        ReleaseNote(
            __version__,
            "2026-11-26",
            "First release: search OpenLDAP and Active Directory by number (every phone attribute, any format) "
            "and by name, photos, record pages, calls logged into an attribute, new and changed contacts.",
        ),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides one integration: `ldap`."""
    return [LDAP]

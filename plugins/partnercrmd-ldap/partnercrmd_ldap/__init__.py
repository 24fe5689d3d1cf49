"""partnercrmd add-in: LDAP directories and Active Directory as address books.

Caller preview by any phone attribute, search by name, the contact's record
page, calls logged into an attribute of the entry, new contacts and changes
where the book's settings allow them. Built on ldap3 (synchronous), so the
connector is a `BlockingConnector` run in the host's worker threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
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

from .presets import ACTIVE_DIRECTORY
from .settings import CONFIG

__version__ = "0.4.0"
__all__ = ["ACTIVE_DIRECTORY_ENTRY", "LDAP", "__version__"]

INTEGRATION_ID = "ldap"
AD_INTEGRATION_ID = "active-directory"


def open_book(context: BookContext) -> BlockingConnector:
    """Opens one configured book; ldap3 is imported only now, not at every start of the daemon."""
    from .connector import open_book as open_ldap_book

    return open_ldap_book(context)


def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """The settings' rules and, with `connect`, a login (see checks.check_settings); ldap3 is imported only now."""
    from .checks import check_settings as check_ldap_settings

    return check_ldap_settings(settings, connect)


def as_active_directory(settings: Mapping[str, Any]) -> dict[str, Any]:
    """An "Active Directory" book's settings as the `ldap` integration reads them: always the AD preset."""
    return {**settings, "preset": ACTIVE_DIRECTORY}


def open_active_directory_book(context: BookContext) -> BlockingConnector:
    """Opens an "Active Directory" book: an `ldap` book whose preset is fixed to active-directory."""
    return open_book(replace(context, settings=as_active_directory(context.settings)))


def check_active_directory_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
    return check_settings(as_active_directory(settings), connect)


CAPABILITIES = frozenset(
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
)
GUIDE_URL = "https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-ldap/README.md"
RELEASE_NOTES = (
    ReleaseNote(
        __version__,
        "2026-12-07",
        "On Active Directory, a number the index does not know is answered from the index after one read of the "
        "DC's change counter (highestCommittedUSN), catching up on the users changed since (uSNChanged).",
    ),
    ReleaseNote(
        "0.2.0",
        "2026-12-07",
        'Tested against a real Samba Active Directory domain controller; the "Active Directory" entry (the ldap '
        "add-in with the AD preset); 'tls_server_name' for a DC reached by its IP address or another name; plain "
        "words for a DC that wants an encrypted connection or whose certificate names another host.",
    ),
    ReleaseNote(
        "0.1.0",
        "2026-11-26",
        "First release: search OpenLDAP and Active Directory by number (every phone attribute, any format) "
        "and by name, photos, record pages, calls logged into an attribute, new and changed contacts.",
    ),
)

LDAP = Integration(
    id=INTEGRATION_ID,
    name="LDAP directory",
    version=__version__,
    open=open_book,
    capabilities=CAPABILITIES,
    description="People and contacts in an LDAP directory (OpenLDAP inetOrgPerson, Active Directory), "
    "found by any of their phone numbers or by name.",
    config=CONFIG,
    check_settings=check_settings,
    guide_url=GUIDE_URL,
    release_notes=RELEASE_NOTES,
)


ACTIVE_DIRECTORY_ENTRY = Integration(
    id=AD_INTEGRATION_ID,
    name="Active Directory",
    version=__version__,
    open=open_active_directory_book,
    capabilities=CAPABILITIES,
    description="Users and contacts of a Microsoft Active Directory domain (or Samba AD), found by any of their "
    "phone numbers (telephoneNumber, otherTelephone, mobile, homePhone, ipPhone…) or by name: the LDAP add-in "
    "with its Active Directory preset.",
    # The ldap settings without 'preset' (always active-directory here), with AD's examples.
    config=tuple(
        f
        if f.key != "bind_dn"
        else replace(
            f,
            help="The account this address book logs in with: phonebook@corp.example.com "
            "(userPrincipalName), CORP\\phonebook (domain\\sAMAccountName) or its DN.",
        )
        for f in CONFIG
        if f.key != "preset"
    ),
    check_settings=check_active_directory_settings,
    guide_url=GUIDE_URL + "#active-directory",
    release_notes=RELEASE_NOTES,
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """This add-in provides `ldap` (any directory, a preset to choose) and "Active Directory" (the AD preset)."""
    return [LDAP, ACTIVE_DIRECTORY_ENTRY]

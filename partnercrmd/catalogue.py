"""Which integrations this user sees: the partner's shipped set, Standard ones, and Controlled ones unlocked.

Controlled integrations stay hidden until the user enters an unlock code
signed by the partner (see `unlock.py`); the ids unlocked are kept in the
vault under ``unlocked``. `GET Integrations`, the configuration UI and the CRM
viewer all list integrations through `visible_integrations`; address books of integrations the user may not
use are refused at save and kept closed (see `withheld` and books.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

from .addin_host import AddinHost
from .branding import Branding
from .integration import Classification, Integration

UNLOCKED_KEY = "unlocked"
"""Vault key: {integration id: {"code_id": ..., "at": ISO time}} of unlocked Controlled integrations."""


def unlocked_ids(doc: Mapping[str, Any]) -> set[str]:
    unlocked = doc.get(UNLOCKED_KEY, {})
    return set(unlocked) if isinstance(unlocked, dict) else set()


LOCKED = "Locked"
"""`Withheld.status` of a Controlled integration no unlock code has unlocked yet."""
NOT_SHIPPED = "NotShipped"
"""`Withheld.status` of an integration the partner's branding does not ship."""


@dataclass(frozen=True)
class Withheld:
    """Why an installed integration may not be used here: a stable `status` word and a message for the user."""

    status: str
    message: str


def withheld(integration: Integration, branding: Branding, unlocked: Set[str]) -> Withheld | None:
    """Why the user may not configure or search `integration` (not shipped, or still locked); None when they may.

    The one rule behind every list of integrations and every address book: adding one (CLI, UI, API,
    `partnercrmd.testing`), changing one and opening one found in the vault.
    """
    if not branding.ships(integration.id):
        return Withheld(
            NOT_SHIPPED,
            f"{integration.name} ({integration.id}) is not part of {branding.product_name}: "
            f"{branding.vendor} does not ship it.",
        )
    if integration.classification is not Classification.STANDARD and integration.id not in unlocked:
        return Withheld(
            LOCKED,
            f"{integration.name} ({integration.id}) is locked until you enter the unlock code your provider "
            "gave you: `partnercrmd unlock CODE`, or Unlock on the Integrations page.",
        )
    return None


def is_visible(integration: Integration, branding: Branding, unlocked: Set[str]) -> bool:
    return withheld(integration, branding, unlocked) is None


def visible_integrations(host: AddinHost, branding: Branding, doc: Mapping[str, Any]) -> list[Integration]:
    """The integrations the user may configure, by name."""
    unlocked = unlocked_ids(doc)
    shown = [i for i in host.integrations.values() if is_visible(i, branding, unlocked)]
    return sorted(shown, key=lambda i: i.name.lower())


def integration_json(integration: Integration, host: AddinHost) -> dict[str, Any]:
    """One integration as `GET Integrations` gives it."""
    provider = host.provider(integration.id)
    return {
        "Id": integration.id,
        "Name": integration.name,
        "Version": integration.version,
        "Classification": str(integration.classification),
        "Description": integration.description,
        "Capabilities": sorted(str(c) for c in integration.capabilities),
        "GuideUrl": integration.guide_url,
        "RecordTypes": list(integration.record_types),
        "Addin": {"Name": provider.name, "Distribution": provider.distribution, "Version": provider.version}
        if provider
        else None,
        "ReleaseNotes": [{"Version": n.version, "Date": n.date, "Text": n.text} for n in integration.release_notes],
    }


# --- categories and other names, for the start page's "Which CRM do you use?" ---------------------------

CATEGORIES = ("CRM", "Help desk", "Accounting", "Directory", "Desktop")
"""The groups the start page shows integrations in, in this order."""
OTHER_CATEGORY = "Other"
"""The group of an integration neither its add-in nor `KNOWN_INTEGRATIONS` places in one of CATEGORIES."""

KNOWN_INTEGRATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "local": ("Desktop", ("address book", "contacts", "vCard", "CSV", "Outlook export", "Google Contacts export")),
    "carddav": ("Directory", ("Radicale", "Baikal", "xandikos", "vCard server")),
    # The CardDAV add-in's presets (they place themselves too; the same words here keep both in step).
    "carddav-nextcloud": ("Directory", ("Nextcloud", "Nextcloud Contacts", "ownCloud", "self-hosted", "CardDAV")),
    "carddav-icloud": ("Directory", ("iCloud", "Apple", "iPhone contacts", "Apple ID", "CardDAV")),
    "carddav-fastmail": ("Directory", ("Fastmail", "FastMail", "CardDAV")),
    "carddav-sogo": ("Directory", ("SOGo", "Alinto", "Inverse", "groupware", "CardDAV")),
    "carddav-davical": ("Directory", ("DAViCal", "CalDAV server", "PostgreSQL", "CardDAV")),
    "carddav-mailbox-org": ("Directory", ("mailbox.org", "mailbox", "Heinlein", "CardDAV")),
    "carddav-google": ("Directory", ("Google Contacts", "Google", "Gmail", "Google Workspace", "G Suite", "CardDAV")),
    "ldap": ("Directory", ("OpenLDAP", "389 Directory Server", "FreeIPA", "phone book")),
    "active-directory": ("Directory", ("AD", "Microsoft", "Windows Server", "Samba AD", "domain controller", "LDAP")),
    "sql": ("Directory", ("database", "PostgreSQL", "MySQL", "MariaDB", "SQL Server", "SQLite")),
    "json-directory": ("Directory", ("company directory", "JSON file", "phone list")),
    "evolution": ("Desktop", ("GNOME Contacts", "Evolution", "Evolution Data Server", "EDS", "GNOME Online Accounts")),
    "thunderbird": ("Desktop", ("Mozilla Thunderbird", "Thunderbird contacts", "email address book", "abook")),
    "tryton": ("Accounting", ("ERP", "GNU Health")),
    "bottlecrm": ("CRM", ("django-crm",)),
    "bottlecrm-template": ("CRM", ("django-crm",)),
    "salesforce": ("CRM", ("Sales Cloud", "SFDC", "Service Cloud")),
    "hubspot": ("CRM", ("HubSpot CRM", "Sales Hub")),
    "zoho-crm": ("CRM", ("Zoho",)),
    "dynamics365": ("CRM", ("Microsoft Dynamics", "Dynamics CRM", "D365", "Dataverse")),
    "pipedrive": ("CRM", ()),
    "bitrix24": ("CRM", ("Bitrix",)),
    "zendesk": ("Help desk", ("Zendesk Support", "Zendesk Talk", "ticketing")),
    "freshdesk": ("Help desk", ("Freshworks", "ticketing")),
    "intercom": ("Help desk", ("customer messaging", "Intercom Inbox", "live chat")),
    "servicenow": ("Help desk", ("Customer Service Management", "CSM", "ITSM", "Now Platform")),
    "halopsa": ("Help desk", ("HaloITSM", "HaloServiceDesk", "Halo", "PSA")),
    "rt": ("Help desk", ("Request Tracker", "RT5", "Best Practical", "ticketing")),
    "front": ("Help desk", ("Front app", "shared inbox")),
    "suitecrm": ("CRM", ("SuiteCRM 8", "SuiteCRM 7", "SugarCRM CE")),
    "suitecrm-database": ("CRM", ("SuiteCRM", "MySQL", "MariaDB", "database")),
    "vtiger-database": ("CRM", ("vtiger", "vtiger CRM", "MySQL", "MariaDB", "database")),
    "capsule": ("CRM", ("Capsule CRM",)),
    "twenty": ("CRM", ("Twenty CRM", "open-source CRM")),
    "clio": ("CRM", ("Clio Manage", "legal", "law practice")),
    "activecampaign": ("CRM", ("marketing automation", "email marketing")),
    "brevo": ("CRM", ("Sendinblue", "email marketing")),
    "klaviyo": ("CRM", ("email marketing", "SMS marketing")),
    "outreach": ("CRM", ("sales engagement",)),
    "salesloft": ("CRM", ("sales engagement",)),
    "teamleader": ("CRM", ("Teamleader Focus",)),
    "monday": ("CRM", ("monday.com", "monday CRM")),
    "xero": ("Accounting", ("Xero Accounting",)),
    "microsoft365": ("Directory", ("Outlook", "Office 365", "Exchange Online", "Microsoft Graph")),
    "microsoft365-contacts": ("Directory", ("Outlook", "Office 365", "Exchange Online", "Microsoft Graph")),
    # The templates add-in's Google Contacts (People API, Sign in with Google): where the start page sends Google users.
    "google-contacts": ("Directory", ("Google", "Gmail", "Google Workspace", "Android contacts", "People API")),
}
"""Category and other names (aliases, products, vendors) of the integrations shipped with partnercrmd, by id.

An add-in places its own integrations with `Integration.extra["category"]` (one of CATEGORIES) and
`Integration.extra["aliases"]` (a list of names); those win over this table."""


@dataclass(frozen=True)
class Listing:
    """An integration as the start page lists and searches it."""

    integration: Integration
    category: str
    aliases: tuple[str, ...]

    @property
    def search_text(self) -> str:
        """Everything a search matches against, lower-cased: name, id, category and aliases."""
        words = (self.integration.name, self.integration.id, self.category, *self.aliases)
        return " ".join(words).lower()

    def matches(self, query: str) -> bool:
        """Whether every word of `query` is part of the name, id, category or an alias (case ignored)."""
        text = self.search_text
        return all(word in text for word in query.lower().split())


def listing(integration: Integration) -> Listing:
    """Where the start page lists `integration` and which other names find it (its add-in's word first)."""
    known_category, known_aliases = KNOWN_INTEGRATIONS.get(integration.id, (OTHER_CATEGORY, ()))
    given = integration.extra.get("category")
    category = next((c for c in CATEGORIES if isinstance(given, str) and c.lower() == given.strip().lower()), None)
    aliases = integration.extra.get("aliases")
    own = (
        tuple(a.strip() for a in aliases if isinstance(a, str) and a.strip())
        if isinstance(aliases, (list, tuple))
        else ()
    )
    return Listing(integration, category or known_category, own or known_aliases)

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

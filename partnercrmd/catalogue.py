"""Which integrations this user sees: the partner's shipped set, Standard ones, and Controlled ones unlocked.

Controlled integrations stay hidden until the user enters an unlock code
signed by the partner (see `unlock.py`); the ids unlocked are kept in the
vault under ``unlocked``. `GET Integrations`, the configuration UI and the CRM
viewer all list integrations through `visible_integrations`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .addin_host import AddinHost
from .branding import Branding
from .integration import Classification, Integration

UNLOCKED_KEY = "unlocked"
"""Vault key: {integration id: {"code_id": ..., "at": ISO time}} of unlocked Controlled integrations."""


def unlocked_ids(doc: Mapping[str, Any]) -> set[str]:
    unlocked = doc.get(UNLOCKED_KEY, {})
    return set(unlocked) if isinstance(unlocked, dict) else set()


def is_visible(integration: Integration, branding: Branding, unlocked: set[str]) -> bool:
    if not branding.ships(integration.id):
        return False
    return integration.classification is Classification.STANDARD or integration.id in unlocked


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

"""What a template can do (its integration's capabilities), read from the operations it defines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partnercrmd.sdk import Capability

OPERATION_CAPABILITIES = {
    "lookup": Capability.SEARCH_NUMBER,
    "search": Capability.SEARCH_NAME,
    "pop": Capability.POP,
    "log_call": Capability.LOG_ACTIVITY,
    "activities": Capability.SHOW_ACTIVITIES,
    "create_contact": Capability.CREATE_CONTACT,
    "update_contact": Capability.UPDATE_CONTACT,
    "call_event": Capability.CALL_EVENTS,
}
"""The capability each operation of a template gives; `pop` with `edit` gives POP_EDIT too."""


def capabilities_of(data: Mapping[str, Any]) -> frozenset[Capability]:
    """What a template can do, from the operations it defines."""
    ops = data.get("operations", {})
    found = {capability for operation, capability in OPERATION_CAPABILITIES.items() if operation in ops}
    if "edit" in ops.get("pop", {}):
        found.add(Capability.POP_EDIT)
    return frozenset(found)

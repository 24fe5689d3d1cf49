"""What a template can do (its integration's capabilities), read from the operations it defines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partnercrmd.sdk import Capability


def capabilities_of(data: Mapping[str, Any]) -> frozenset[Capability]:
    """What a template can do, from the operations it defines."""
    ops = data.get("operations", {})
    found: set[Capability] = set()
    if "lookup" in ops:
        found.add(Capability.SEARCH_NUMBER)
    if "search" in ops:
        found.add(Capability.SEARCH_NAME)
    if "pop" in ops:
        found.add(Capability.POP)
        if "edit" in ops["pop"]:
            found.add(Capability.POP_EDIT)
    if "log_call" in ops:
        found.add(Capability.LOG_ACTIVITY)
    if "activities" in ops:
        found.add(Capability.SHOW_ACTIVITIES)
    if "create_contact" in ops:
        found.add(Capability.CREATE_CONTACT)
    if "update_contact" in ops:
        found.add(Capability.UPDATE_CONTACT)
    if "call_event" in ops:
        found.add(Capability.CALL_EVENTS)
    return frozenset(found)

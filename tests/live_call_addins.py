"""Add-ins that take live call events (`Connector.call_event`), registered through the real hook, for tests.

`feed` records every event it is told in `FeedConnector.received`, keyed by its `channel` setting; its
`mode` says how the CRM behind it behaves right now ("up", "down": refuses, "hang": never answers),
and tests change it while calls are going on. `no-hook` declares the capability but has no hook.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from partnercrmd import hookimpl
from partnercrmd.errors import AddinError, Unsupported
from partnercrmd.integration import (
    BookContext,
    CallEvent,
    Capability,
    ConfigField,
    Connector,
    FieldKind,
    Integration,
)
from partnercrmd.model import Activity, Contact, Phone, SearchQuery

CHRIS_NUMBER = "571-441-5956"
RECEIVED: dict[str, list[CallEvent]] = {}
"""Events each channel was told, in the order they arrived."""
MODES: dict[str, str] = {}
"""How each channel's CRM behaves now: up, down, hang, broken (call_event always raises), unsupported."""
LOGGED: dict[str, list[Activity]] = {}
"""End-of-call activities each channel logged."""
ATTEMPTS: dict[str, int] = {}


class FeedConnector(Connector):
    """Knows one contact (Chris Huffman), logs calls, and takes live call events as its mode allows."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        return [Contact(id="feed-chris", display_name="Chris Huffman", phones=[Phone(CHRIS_NUMBER)])]

    async def log_activity(self, contact_id: str, activity: Activity) -> str:
        LOGGED.setdefault(self.channel, []).append(activity)
        return f"act-{len(LOGGED[self.channel])}"

    async def call_event(self, event: CallEvent) -> None:
        ATTEMPTS[self.channel] = ATTEMPTS.get(self.channel, 0) + 1
        mode = MODES.get(self.channel, "up")
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "down":
            raise ConnectionRefusedError("the CRM is down")
        if mode == "broken":
            raise AddinError("the CRM refused the call event", code="invalid_data")
        if mode == "unsupported":
            raise Unsupported("this CRM has no live call events after all")
        RECEIVED.setdefault(self.channel, []).append(event)


class NoHook(FeedConnector):
    """Declares live call events (see NO_HOOK) but never implemented the hook."""

    call_event = Connector.call_event


CAPABILITIES = frozenset(
    {Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.LOG_ACTIVITY, Capability.CALL_EVENTS}
)
CHANNEL = ConfigField("channel", "Channel", FieldKind.TEXT, required=True)


def _open_feed(context: BookContext) -> Connector:
    return FeedConnector(str(context.settings["channel"]))


def _open_no_hook(context: BookContext) -> Connector:
    return NoHook(str(context.settings["channel"]))


FEED = Integration(id="feed", name="Feed", version="1.0", open=_open_feed, capabilities=CAPABILITIES, config=(CHANNEL,))
NO_HOOK = Integration(
    id="no-hook", name="No hook", version="1.0", open=_open_no_hook, capabilities=CAPABILITIES, config=(CHANNEL,)
)


class LiveCallAddins:
    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        return [FEED, NO_HOOK]


def reset() -> None:
    for store in (RECEIVED, MODES, LOGGED, ATTEMPTS):
        store.clear()


def now() -> datetime:
    return datetime.now(UTC)

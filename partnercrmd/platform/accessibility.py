"""The focused text field, through the desktop's accessibility API: what focus dialling watches.

Linux: AT-SPI over D-Bus (`AtspiFocusWatcher`, with dbus-fast on the daemon's event loop, no compiled
bindings): the accessibility bus's address comes from `org.a11y.Bus.GetAddress` on the session bus; the
registry is told which events we listen to (applications send only those), then each `StateChanged`
"focused" signal names the accessible that took the focus, and `TextChanged` signals say its text changed.
Windows (UI Automation: a focus-changed event handler, `IUIAutomationValuePattern`, `CurrentBoundingRectangle`)
and macOS (AX: `kAXFocusedUIElementChangedNotification`, `kAXValueAttribute`, `kAXPositionAttribute`/
`kAXSizeAttribute`, after the Accessibility permission) implement the same `FocusWatcher` protocol; until
they exist, `focus_watcher` says so (docs/click-to-dial.md, "Focus dialling").

What is read, and what never is: text is read only from text-entry roles (`TEXT_FIELD_ROLES`), never from
a password field (`ROLE_PASSWORD_TEXT`), and only when it is at most `MAX_FIELD_CHARS` long (a document is
not a phone field). Focus events are frequent: each look at a field is a handful of calls, each bounded by
`CALL_TIMEOUT`, and a newer event cancels the look at an older one. The text is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import LINUX, MACOS, system
from .screen import display_problem

log = logging.getLogger("partnercrmd.dialling.focus")

CALL_TIMEOUT = 0.5
"""Seconds one accessibility call may take (an application that hangs must not hold focus dialling up)."""
CONNECT_TIMEOUT = 5.0
MAX_FIELD_CHARS = 200
"""A focused field with more text than this is not read (a document or a chat log, not a phone field)."""
TEXT_CHANGE_DELAY = 0.15
"""Seconds of quiet after the focused field's text changed before it is read again (typing is many events)."""

# AT-SPI's role numbers (AtspiRole, at-spi2-core's atspi-constants.h).
ROLE_PASSWORD_TEXT = 40
ROLE_TEXT = 61
ROLE_ENTRY = 79
TEXT_FIELD_ROLES = frozenset({ROLE_TEXT, ROLE_ENTRY})
"""Roles whose text is read: GTK and Qt line edits (TEXT), web page inputs and text areas (ENTRY)."""
COORDS_SCREEN = 0
"""ATSPI_COORD_TYPE_SCREEN: extents in screen pixels."""
ROOT = "/org/a11y/atspi/accessible/root"
"""The registry's desktop: its children are the applications on the bus."""
MAX_APPLICATIONS = 50
"""Applications asked for their focused accessible when watching starts."""
STATE_FOCUSED = 12
MATCH_ALL = 1
"""ATSPI_Collection_MATCH_ALL: an empty list matches all of nothing (any other match type refuses every accessible)."""
SORT_CANONICAL = 1
"""ATSPI_Collection_SORT_ORDER_CANONICAL (INVALID, 0, finds nothing)."""
FOCUSED_RULE = [[1 << STATE_FOCUSED, 0], MATCH_ALL, {}, MATCH_ALL, [], MATCH_ALL, [], MATCH_ALL, False]
"""A Collection match rule: every accessible whose states include FOCUSED."""

A11Y_BUS = ("org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus")
REGISTRY = ("org.a11y.atspi.Registry", "/org/a11y/atspi/registry", "org.a11y.atspi.Registry")
DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
EVENTS = ("object:state-changed:focused", "object:text-changed")
EVENT_INTERFACE = "org.a11y.atspi.Event.Object"

NOT_YET = {
    "win32": (
        "Focus dialling is not available on Windows yet: it will read the focused field through UI Automation "
        "(docs/click-to-dial.md). Copy the number or use tel: links meanwhile."
    ),
    "darwin": (
        "Focus dialling is not available on macOS yet: it will read the focused field through the Accessibility "
        "API (docs/click-to-dial.md). Copy the number or use tel: links meanwhile."
    ),
}
NO_SESSION_BUS = (
    "Focus dialling needs the desktop session's D-Bus (DBUS_SESSION_BUS_ADDRESS is not set): start partnercrmd "
    "from the desktop session (its autostart entry or systemd user unit)."
)
NO_A11Y_BUS = (
    "Focus dialling needs the desktop's accessibility bus (AT-SPI), which does not answer: install at-spi2-core "
    "(Debian/Ubuntu: apt install at-spi2-core) and log in again."
)


@dataclass(frozen=True)
class Extents:
    """Where a field is on screen, in screen pixels."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class FocusedField:
    """The text field that has the keyboard focus: its text (never logged) and where it is, if known."""

    text: str
    extents: Extents | None

    def __repr__(self) -> str:  # the text stays out of logs and tracebacks
        return f"FocusedField(<{len(self.text)} characters>, {self.extents})"


FocusChanged = Callable[[FocusedField | None], None]
"""Called on the event loop with the newly focused text field, or None when no readable text field has focus."""


class AccessibilityUnavailable(Exception):
    """The accessibility API cannot be used here; the message says why and what to do."""


class FocusWatcher(Protocol):
    """Follows the keyboard focus through the platform's accessibility API (the seam for Windows and macOS)."""

    async def start(self, changed: FocusChanged) -> None:
        """Begin watching; `changed` hears each change of the focused field. AccessibilityUnavailable if it cannot."""

    async def focused_field(self) -> FocusedField | None:
        """The focused text field read afresh (for the hotkey), or None."""

    async def stop(self) -> None:
        """Stop watching and let go of what `start` opened."""


def accessibility_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why focus dialling cannot watch the focused field here (before trying), or None."""
    name = system(platform)
    if name != LINUX:
        return NOT_YET["darwin" if name == MACOS else "win32"]
    env = os.environ if environ is None else environ
    problem = display_problem(env, platform)
    if problem:
        return problem
    return None if env.get("DBUS_SESSION_BUS_ADDRESS") else NO_SESSION_BUS


def focus_watcher(platform: str | None = None) -> FocusWatcher:
    """The focus watcher of this platform; AccessibilityUnavailable where there is none yet."""
    problem = accessibility_problem(platform=platform)
    if problem:
        raise AccessibilityUnavailable(problem)
    return AtspiFocusWatcher()


# --- Linux: AT-SPI over D-Bus ------------------------------------------------------------------------------


class AtspiFocusWatcher:
    """The focused text field on Linux, from AT-SPI's focus and text events on the accessibility bus."""

    def __init__(self, *, call_timeout: float = CALL_TIMEOUT, max_chars: int = MAX_FIELD_CHARS) -> None:
        self.call_timeout = call_timeout
        self.max_chars = max_chars
        self._bus: Any = None
        self._changed: FocusChanged | None = None
        self._focus: tuple[str, str] | None = None
        """(application's bus name, object path) of the accessible that has the focus."""
        self._look: asyncio.Task[None] | None = None

    async def start(self, changed: FocusChanged) -> None:
        from dbus_fast import BusType
        from dbus_fast.aio import MessageBus

        self._changed = changed
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                session = await MessageBus(bus_type=BusType.SESSION).connect()
                try:  # the bus launcher may be started on demand: the set-up calls get the whole connect time
                    (address,) = await self._call(session, *A11Y_BUS, "GetAddress", within=CONNECT_TIMEOUT)
                finally:
                    session.disconnect()
                self._bus = await MessageBus(bus_address=str(address)).connect()
                for event in EVENTS:
                    await self._register(event)
                    rule = f"type='signal',interface='{EVENT_INTERFACE}',member='{_member(event)}'"
                    await self._call(self._bus, *DBUS, "AddMatch", "s", [rule], within=CONNECT_TIMEOUT)
        except Exception as exc:  # noqa: BLE001  (no bus, refused, timed out, dbus-fast's errors: all mean "not here")
            await self.stop()
            log.info("the accessibility bus is unavailable (%s)", type(exc).__name__)
            raise AccessibilityUnavailable(NO_A11Y_BUS) from None
        self._bus.add_message_handler(self._on_message)
        self._look = asyncio.get_running_loop().create_task(self._find_focus())

    async def _register(self, event: str) -> None:
        """Ask the registry to have applications send `event` (at-spi2-core ≥ 2.36 takes (sas s), older ones (s))."""
        try:
            await self._call(self._bus, *REGISTRY, "RegisterEvent", "sass", [event, [], ""], within=CONNECT_TIMEOUT)
        except _DBusFailure:
            await self._call(self._bus, *REGISTRY, "RegisterEvent", "s", [event], within=CONNECT_TIMEOUT)

    async def stop(self) -> None:
        self._cancel_look()
        self._focus = None
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.remove_message_handler(self._on_message)
            bus.disconnect()
            with contextlib.suppress(Exception):  # already gone: nothing more to let go of
                await asyncio.wait_for(bus.wait_for_disconnect(), self.call_timeout)

    async def focused_field(self) -> FocusedField | None:
        focus = self._focus
        return None if focus is None else await self._read(*focus)

    # --- events (on the loop) ---

    def _on_message(self, message: Any) -> None:
        if message.interface != EVENT_INTERFACE or not message.body:
            return
        source = (str(message.sender), str(message.path))
        kind = str(message.body[0])
        if message.member == "StateChanged" and kind == "focused":
            if message.body[1] == 1:
                self._focus = source
                self._look_at(source, 0.0)
            elif source == self._focus:
                self._focus = None
                self._cancel_look()
                self._tell(None)
        elif message.member == "TextChanged" and source == self._focus:
            self._look_at(source, TEXT_CHANGE_DELAY)

    def _look_at(self, source: tuple[str, str], delay: float) -> None:
        """Read the field at `source` (after `delay`) and tell what it holds; a newer look replaces this one."""
        self._cancel_look()
        self._look = asyncio.get_running_loop().create_task(self._looking(source, delay))

    async def _looking(self, source: tuple[str, str], delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        field = await self._read(*source)
        if source == self._focus:
            self._tell(field)

    async def _find_focus(self) -> None:
        """At start: the accessible that has the focus already (no event will say so until the focus moves).

        Each application on the bus (at most `MAX_APPLICATIONS`) is asked once for an accessible in the
        focused state (Collection.GetMatches); a focus event that arrives meanwhile wins."""
        bus = self._bus
        try:
            applications = await self._call(bus, REGISTRY[0], ROOT, "org.a11y.atspi.Accessible", "GetChildren")
        except (TimeoutError, _DBusFailure):
            return
        for name, path in list(applications[0])[:MAX_APPLICATIONS]:
            if self._focus is not None:
                return
            try:
                (found,) = await self._call(
                    bus,
                    str(name),
                    str(path),
                    "org.a11y.atspi.Collection",
                    "GetMatches",
                    "(aiia{ss}iaiiasib)uib",
                    [FOCUSED_RULE, SORT_CANONICAL, 1, True],
                )
            except (TimeoutError, _DBusFailure, ValueError, TypeError):
                continue  # an application without Collection, or one that does not answer
            if found and self._focus is None:
                self._focus = source = (str(found[0][0]), str(found[0][1]))
                field = await self._read(*source)
                if source == self._focus:
                    self._tell(field)
                return

    def _cancel_look(self) -> None:
        if self._look is not None:
            self._look.cancel()
            self._look = None

    def _tell(self, field: FocusedField | None) -> None:
        if self._changed is not None:
            self._changed(field)

    # --- reading one accessible ---

    async def _read(self, sender: str, path: str) -> FocusedField | None:
        """The text and extents of the accessible, if it is a text field we may read; None otherwise or on failure."""
        bus = self._bus
        if bus is None:
            return None
        try:
            (role,) = await self._call(bus, sender, path, "org.a11y.atspi.Accessible", "GetRole")
            if role == ROLE_PASSWORD_TEXT or role not in TEXT_FIELD_ROLES:
                return None  # a password field is never read; neither is anything that is not a text field
            (count,) = await self._call(
                bus,
                sender,
                path,
                "org.freedesktop.DBus.Properties",
                "Get",
                "ss",
                ["org.a11y.atspi.Text", "CharacterCount"],
            )
            count = int(count.value)
            if not 0 < count <= self.max_chars:
                return None
            (text,) = await self._call(bus, sender, path, "org.a11y.atspi.Text", "GetText", "ii", [0, count])
            extents = await self._extents(bus, sender, path)
        except (TimeoutError, _DBusFailure, ValueError, TypeError):
            return None  # the application went away, hangs or answers nonsense: no field
        return FocusedField(str(text)[: self.max_chars], extents)

    async def _extents(self, bus: Any, sender: str, path: str) -> Extents | None:
        try:
            ((x, y, width, height),) = await self._call(
                bus, sender, path, "org.a11y.atspi.Component", "GetExtents", "u", [COORDS_SCREEN]
            )
        except (TimeoutError, _DBusFailure, ValueError, TypeError):
            return None
        if width <= 0 or height <= 0:
            return None
        return Extents(int(x), int(y), int(width), int(height))

    async def _call(
        self,
        bus: Any,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        body: list[Any] | None = None,
        *,
        within: float | None = None,
    ) -> list[Any]:
        """One method call, bounded by `within` (default `call_timeout`); its reply values, or _DBusFailure on error."""
        from dbus_fast import Message, MessageType

        message = Message(
            destination=destination,
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=body or [],
        )
        async with asyncio.timeout(self.call_timeout if within is None else within):
            reply = await bus.call(message)
        if reply.message_type == MessageType.ERROR:
            raise _DBusFailure(str(reply.error_name))
        return list(reply.body)


class _DBusFailure(Exception):
    """A D-Bus call answered with an error (its name is the message)."""


def _member(event: str) -> str:
    """An AT-SPI event name's D-Bus signal: object:state-changed:focused → StateChanged."""
    return "".join(part.capitalize() for part in event.split(":")[1].split("-"))

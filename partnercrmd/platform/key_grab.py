"""Keeping Escape from the focused window while the capture box is up: a passive key grab (X11).

The capture box never takes focus, so Escape, which closes it, would go to the user's window too (and
close a dialog there). While the box is up the daemon holds a passive grab of Escape on the root window
(XGrabKey): the key then goes to no window at all, while the hotkeys' keyboard listener (XRecord) still sees
it and closes the box. The grab lives on an X connection of its own: releasing it is closing that
connection, and a daemon that dies loses it with its connection, so Escape can never stay grabbed.

One grab per modifier combination (none, Shift, Ctrl, Ctrl+Shift, each also with Caps Lock and Num Lock):
a combination another client already grabbed (a window manager's Alt+Escape) is left to it.
Windows and macOS: no grab (the listener still sees Escape, which also reaches the focused window).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from . import LINUX, system

log = logging.getLogger(__name__)


class KeyGrab(Protocol):
    def release(self) -> None:
        """Give the key back to the focused window (blocking: call it off the event loop)."""


class NoGrab:
    """Where there is no passive grab: nothing to release."""

    def release(self) -> None:
        return None


class X11EscapeGrab:
    """Escape grabbed on the root window of an X connection of its own, until `release`."""

    def __init__(self, display: Any, grabbed: int) -> None:
        self._display = display
        self.grabbed = grabbed
        """How many modifier combinations of Escape are held (the others belong to another client)."""

    def release(self) -> None:
        self._display.close()  # the server drops the connection's grabs with it


def _x11_grab_escape() -> KeyGrab:
    # python-xlib comes with pynput on Linux; it ships no type information
    from Xlib import XK, X, display, error  # type: ignore[import-untyped]

    connection = display.Display()
    try:
        root = connection.screen().root
        keycode = connection.keysym_to_keycode(XK.string_to_keysym("Escape"))
        refused = []
        for modifiers in (0, X.ShiftMask, X.ControlMask, X.ControlMask | X.ShiftMask):
            for locks in (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask):
                catch = error.CatchError(error.BadAccess)
                root.grab_key(keycode, modifiers | locks, False, X.GrabModeAsync, X.GrabModeAsync, onerror=catch)
                refused.append(catch)
        connection.sync()
    except BaseException:
        connection.close()
        raise
    return X11EscapeGrab(connection, sum(1 for catch in refused if catch.get_error() is None))


def grab_escape(platform: str | None = None) -> KeyGrab:
    """Hold Escape away from the focused window until the returned grab is released (blocking; X11 only).

    A grab that cannot be made (the display went away) is logged and Escape is left as it was.
    """
    if system(platform) != LINUX:
        return NoGrab()
    try:
        return _x11_grab_escape()
    except Exception as exc:  # noqa: BLE001  (python-xlib raises its own errors for a lost display; Escape still closes the box)
        log.warning("Escape could not be held from the focused window (%s)", type(exc).__name__)
        return NoGrab()

"""The global keyboard listener (pynput) per platform, and whether the system delivers its keys.

Linux (X11): pynput's XRecord listener, with a stop that does not wait for the next key press.
Windows: pynput's low-level keyboard hook; no permission is needed. macOS: pynput's event tap, which
receives keys only once the user has allowed Input Monitoring (Accessibility) for the program;
`listener.IS_TRUSTED` says whether that is so.
"""

from __future__ import annotations

import functools
from typing import Any

from . import LINUX, MACOS, system

MACOS_INPUT_MONITORING = (
    "macOS has not given partnercrmd the Input Monitoring (Accessibility) permission that global hotkeys need: "
    "allow it in System Settings → Privacy & Security → Input Monitoring, then restart partnercrmd."
)


def hotkey_problem(trusted: bool = True, platform: str | None = None) -> str | None:
    """Why global hotkeys are not delivered; `trusted` is what pynput's listener says on macOS."""
    if system(platform) == MACOS and not trusted:
        return MACOS_INPUT_MONITORING
    return None


def listener_class(platform: str | None = None) -> type[Any]:
    """pynput's keyboard listener for this platform (imported late: on X11 the import needs a display)."""
    return _x11_listener_class() if system(platform) == LINUX else _pynput_listener_class()


def _pynput_keyboard() -> Any:
    from pynput import keyboard  # type: ignore[import-untyped]  # pynput ships no type information

    return keyboard


def _pynput_listener_class() -> type[Any]:
    listener: type[Any] = _pynput_keyboard().Listener
    return listener


@functools.cache
def _x11_listener_class() -> type[Any]:
    """pynput's X11 listener, with a stop that works at once."""

    class KeyboardListener(_pynput_listener_class()):  # type: ignore[misc]  # an untyped base class
        def _stop_platform(self) -> None:
            # pynput 1.8 disables the XRecord context on the recording connection without flushing it,
            # so the listener only stops at the next key press (pynput PR #583). Disable it from a
            # connection of our own: the listener's thread closes its two when the recording ends.
            listening = getattr(self, "_display_stop", None)
            context = getattr(self, "_context", None)
            if listening is None or context is None:
                super()._stop_platform()
                return
            import Xlib.display  # type: ignore[import-untyped]  # python-xlib (pynput's) ships no type information

            display = Xlib.display.Display(listening.get_display_name())
            try:
                display.record_disable_context(context)
                display.sync()
            finally:
                display.close()

    return KeyboardListener

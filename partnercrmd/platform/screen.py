"""Whether the screen can be captured here: an X11 display on Linux, the Screen Recording permission on macOS.

Capture itself is `mss` on every platform (X11 XGetImage, Windows GDI BitBlt, macOS CoreGraphics) and the
pointer is pynput's; what differs is what the system demands first, answered here without asking
the user anything. Each check returns None when all is well, else a message for people.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Mapping

from . import LINUX, MACOS, system

WAYLAND = (
    "This is a Wayland session: screen capture (mss) and global hotkeys only work on X11 "
    "(Wayland needs the desktop portal, which partnercrmd does not use). Log in to an X11 session "
    "(e.g. 'GNOME on Xorg'), or use the clipboard, tel: links or the browser extension instead."
)
NO_DISPLAY = (
    "There is no X display (DISPLAY is not set): partnercrmd runs outside a graphical session. "
    "Start it from the desktop session (its autostart entry or systemd user unit)."
)
MACOS_SCREEN_RECORDING = (
    "macOS has not given partnercrmd the Screen Recording permission: allow it in System Settings → "
    "Privacy & Security → Screen Recording, then restart partnercrmd."
)
CORE_GRAPHICS = "/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics"


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why screen capture and global hotkeys cannot work in this session (None: they can)."""
    if system(platform) != LINUX:
        return None  # Windows and macOS always have their one display server
    env = os.environ if environ is None else environ
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        return WAYLAND  # XWayland sets DISPLAY too, but shows X11 clients only the X11 windows
    if not env.get("DISPLAY"):
        return NO_DISPLAY
    return None


def _core_graphics_preflight() -> bool:
    """CGPreflightScreenCaptureAccess (macOS 10.15+): whether capture is allowed, without prompting."""
    graphics = ctypes.CDLL(CORE_GRAPHICS)
    return bool(graphics.CGPreflightScreenCaptureAccess())


def screen_recording_problem(platform: str | None = None, preflight: Callable[[], bool] | None = None) -> str | None:
    """macOS: whether the Screen Recording permission is granted (without asking for it); elsewhere None."""
    if system(platform) != MACOS:
        return None
    try:
        granted = (preflight or _core_graphics_preflight)()
    except (OSError, AttributeError):
        return None  # an older macOS without the permission, or no way to ask: capture will tell
    return None if granted else MACOS_SCREEN_RECORDING


def capture_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why the screen cannot be captured here (no display, Wayland, no permission), or None."""
    return display_problem(environ, platform) or screen_recording_problem(platform)

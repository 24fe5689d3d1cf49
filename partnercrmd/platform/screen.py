"""Whether the screen can be captured here: an X11 display on Linux, the Screen Recording permission on macOS.

Capture itself is `mss` on every platform (X11 XGetImage, Windows GDI BitBlt, macOS CoreGraphics) and the
pointer is pynput's; what differs is what the system demands first, answered here without asking
the user anything. Each check returns None when all is well, else a message for people.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import sys
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


MAX_DISPLAY_SCALE = 4.0


def display_scale(environ: Mapping[str, str] | None = None, platform: str | None = None) -> float:
    """Device pixels per logical pixel of the desktop (its display scaling, 1.0 at 100 %), when it says.

    X11: the `Xft.dpi` resource (what GNOME, KDE and Xfce set for their scaling) over 96; Windows: the system DPI
    over 96; otherwise 1 (macOS: not yet). The screen read's capture box is that many times larger, so it covers
    the same text at 125 % or 150 % as at 100 % (the screen is grabbed at device pixels). Runs `xrdb` on X11: call
    it off the event loop.
    """
    env = os.environ if environ is None else environ
    name = system(platform)
    dpi = 96.0
    if name not in (LINUX, MACOS):
        dpi = _windows_system_dpi()
    elif name == LINUX and env.get("DISPLAY") and shutil.which("xrdb"):
        try:
            query = subprocess.run(["xrdb", "-query"], capture_output=True, text=True, timeout=1, check=False)
        except (OSError, subprocess.SubprocessError):
            query = None
        for line in query.stdout.splitlines() if query is not None else ():
            key, _, value = line.partition(":")
            if key.strip() == "Xft.dpi":
                with contextlib.suppress(ValueError):
                    dpi = float(value.strip())
    return min(max(dpi / 96.0, 1.0), MAX_DISPLAY_SCALE)


def _windows_system_dpi() -> float:
    if sys.platform != "win32":
        return 96.0
    with contextlib.suppress(AttributeError, OSError):  # GetDpiForSystem: Windows 10 and later
        return float(ctypes.windll.user32.GetDpiForSystem())
    return 96.0

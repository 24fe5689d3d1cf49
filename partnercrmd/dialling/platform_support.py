"""Whether this desktop session lets partnercrmd read the screen, watch global hotkeys and read the selection.

Each check returns None when all is well, else a message for people saying what
is missing and what to do: these techniques are never unavailable silently.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import sys
from collections.abc import Mapping

TESSERACT = "tesseract"

_WAYLAND = (
    "This is a Wayland session: screen capture (mss) and global hotkeys only work on X11 "
    "(Wayland needs the desktop portal, which partnercrmd does not use). Log in to an X11 session "
    "(e.g. 'GNOME on Xorg'), or use the clipboard, tel: links or the browser extension instead."
)
_NO_DISPLAY = (
    "There is no X display (DISPLAY is not set): partnercrmd runs outside a graphical session. "
    "Start it from the desktop session (its autostart entry or systemd user unit)."
)
_NO_TESSERACT = (
    "tesseract is not installed (or not on PATH): install it to read numbers from the screen "
    "(Debian/Ubuntu: apt install tesseract-ocr; macOS: brew install tesseract; Windows: the UB Mannheim installer)."
)
_MACOS_SCREEN_RECORDING = (
    "macOS has not given partnercrmd the Screen Recording permission: allow it in System Settings → "
    "Privacy & Security → Screen Recording, then restart partnercrmd."
)
_MACOS_INPUT_MONITORING = (
    "macOS has not given partnercrmd the Input Monitoring (Accessibility) permission that global hotkeys need: "
    "allow it in System Settings → Privacy & Security → Input Monitoring, then restart partnercrmd."
)
_NO_PRIMARY = (
    "Selection dialling reads the PRIMARY selection (the highlighted text), which exists on X11 only; "
    "copy the number instead (clipboard dialling) on this system."
)
_NO_XCLIP = (
    "Selection dialling needs xclip to read the highlighted text: install it (Debian/Ubuntu: apt install xclip)."
)


def display_problem(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """Why screen capture and global hotkeys cannot work in this session (None: they can)."""
    env = os.environ if environ is None else environ
    if platform in ("darwin", "win32"):
        return None
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        return _WAYLAND  # XWayland sets DISPLAY too, but shows X11 clients only the X11 windows
    if not env.get("DISPLAY"):
        return _NO_DISPLAY
    return None


OCR_MODULES = ("mss", "pytesseract", "PIL")
"""What the `ocr` extra installs (screen capture, the tesseract bridge, images)."""
NO_OCR_EXTRA = (
    "Reading numbers from the screen or an image needs the OCR extra: pip install 'partnercrmd[ocr]' "
    "(and tesseract itself)."
)


def ocr_modules_problem() -> str | None:
    """Why OCR cannot run with the Python packages installed (the `ocr` extra left out), or None."""
    missing = [name for name in OCR_MODULES if importlib.util.find_spec(name) is None]
    return NO_OCR_EXTRA if missing else None


def tesseract_problem(command: str = TESSERACT, environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return None if shutil.which(command, path=env.get("PATH", os.defpath)) else _NO_TESSERACT


def screen_recording_problem(platform: str = sys.platform) -> str | None:
    """macOS: whether the Screen Recording permission is granted (without asking for it)."""
    if platform != "darwin":
        return None
    try:
        graphics = ctypes.CDLL("/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics")
        granted = bool(graphics.CGPreflightScreenCaptureAccess())  # macOS 10.15+
    except (OSError, AttributeError):
        return None  # an older macOS without the permission, or no way to ask: capture will tell
    return None if granted else _MACOS_SCREEN_RECORDING


def screen_read_problem(
    environ: Mapping[str, str] | None = None, tesseract: str = TESSERACT, platform: str = sys.platform
) -> str | None:
    """Why the screen cannot be read here (no display, Wayland, no permission, no tesseract), or None."""
    return (
        ocr_modules_problem()
        or display_problem(environ, platform)
        or screen_recording_problem(platform)
        or tesseract_problem(tesseract, environ)
    )


def hotkey_problem(trusted: bool = True, platform: str = sys.platform) -> str | None:
    """Why global hotkeys are not delivered; `trusted` is what pynput's listener says on macOS."""
    if platform == "darwin" and not trusted:
        return _MACOS_INPUT_MONITORING
    return None


def selection_problem(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """Why the PRIMARY selection cannot be read here, or None."""
    env = os.environ if environ is None else environ
    if platform in ("darwin", "win32"):
        return _NO_PRIMARY
    problem = display_problem(env, platform)
    if problem:
        return problem
    return None if shutil.which("xclip", path=env.get("PATH", os.defpath)) else _NO_XCLIP

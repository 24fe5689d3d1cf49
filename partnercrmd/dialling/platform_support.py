"""Whether this desktop session lets partnercrmd read the screen, watch global hotkeys and read the selection.

Each check returns None when all is well, else a message for people saying what
is missing and what to do: these techniques are never unavailable silently. What
differs per platform lives in `partnercrmd.platform` (screen, hotkeys, clipboard,
tesseract); this module puts the checks together for the dialling features.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

from ..platform.clipboard import selection_problem
from ..platform.hotkeys import hotkey_problem
from ..platform.screen import display_problem, screen_recording_problem
from ..platform.tesseract import TESSERACT, tesseract_problem

__all__ = [
    "NO_OCR_EXTRA",
    "OCR_MODULES",
    "TESSERACT",
    "display_problem",
    "hotkey_problem",
    "ocr_modules_problem",
    "screen_read_problem",
    "screen_recording_problem",
    "selection_problem",
    "tesseract_problem",
]

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


def screen_read_problem(
    environ: Mapping[str, str] | None = None, tesseract: str = TESSERACT, platform: str | None = None
) -> str | None:
    """Why the screen cannot be read here (no display, Wayland, no permission, no tesseract), or None."""
    return (
        ocr_modules_problem()
        or display_problem(environ, platform)
        or screen_recording_problem(platform)
        or tesseract_problem(tesseract, environ, platform)
    )

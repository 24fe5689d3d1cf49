"""Reading the clipboard and the highlighted text, per platform.

The clipboard: pyperclip on every platform; on Linux it needs a helper program (wl-clipboard on
Wayland, xclip or xsel on X11), on macOS it uses pbpaste, on Windows the Win32 clipboard API.

The highlighted text (selection dialling): the PRIMARY selection, which exists on X11 only, read with
`xclip -selection primary -o`. Windows and macOS have no such selection: selection dialling says so
(copying the number, i.e. clipboard dialling, is the way there).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from . import LINUX, MACOS, NO_GRAPHICAL_SESSION, WINDOWS, system
from .screen import display_problem

log = logging.getLogger("partnercrmd.dialling.hotkeys")  # selection dialling logs under one name, wherever it reads

NO_PRIMARY = (
    "Selection dialling reads the PRIMARY selection (the highlighted text), which exists on X11 only; "
    "copy the number instead (clipboard dialling) on this system."
)
NO_XCLIP = "Selection dialling needs xclip to read the highlighted text: install it (Debian/Ubuntu: apt install xclip)."


@dataclass(frozen=True)
class ClipboardHelper:
    """How the clipboard can be read in this session: a helper's name, or the problem."""

    name: str
    problem: str = ""


def find_clipboard_helper(environ: Mapping[str, str], platform: str | None = None) -> ClipboardHelper:
    """The helper pyperclip will use under `environ`, or why there is none (the order is pyperclip's)."""
    name = system(platform)
    if name == MACOS:
        return ClipboardHelper("pbpaste")
    if name == WINDOWS:
        return ClipboardHelper("windows")  # the Win32 clipboard API, through ctypes
    path = environ.get("PATH", os.defpath)

    def installed(*tools: str) -> bool:
        return all(shutil.which(tool, path=path) for tool in tools)

    wayland, x11 = environ.get("WAYLAND_DISPLAY"), environ.get("DISPLAY")
    if wayland and installed("wl-copy", "wl-paste"):
        return ClipboardHelper("wl-clipboard")
    if x11:
        for tool in ("xclip", "xsel"):
            if installed(tool):
                return ClipboardHelper(tool)
    if wayland:
        return ClipboardHelper(
            "",
            "Clipboard dialling needs wl-clipboard on Wayland: install it (Debian/Ubuntu: apt install wl-clipboard).",
        )
    if x11:
        return ClipboardHelper(
            "", "Clipboard dialling needs xclip or xsel on X11: install one (Debian/Ubuntu: apt install xclip)."
        )
    return ClipboardHelper("", f"The clipboard cannot be read: {NO_GRAPHICAL_SESSION}")


def selection_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why the highlighted text (the PRIMARY selection) cannot be read here, or None."""
    env = os.environ if environ is None else environ
    if system(platform) != LINUX:
        return NO_PRIMARY
    problem = display_problem(env, platform)
    if problem:
        return problem
    return None if shutil.which("xclip", path=env.get("PATH", os.defpath)) else NO_XCLIP


def read_primary_selection(limit: int, timeout: float) -> str | None:
    """The highlighted text through `xclip -selection primary -o` (blocking); None when there is none or too much."""
    with subprocess.Popen(
        ["xclip", "-selection", "primary", "-o"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as process:
        assert process.stdout is not None
        timer = threading.Timer(timeout, process.kill)  # a selection owner that never answers
        timer.start()
        try:
            data = process.stdout.read(limit + 1)
            if len(data) > limit:
                process.kill()
                log.info("the selection is over %d bytes: ignored", limit)
                return None
            status = process.wait()
        finally:
            timer.cancel()
    if status != 0:
        log.info("nothing is selected (or the selection is not text)")
        return None
    return data.decode("utf-8", "replace")

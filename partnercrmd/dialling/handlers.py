"""`partnercrmd handlers install|uninstall|status`: tel:, callto: and sip: links run `partnercrmd dial URI`.

How each platform registers the handler is `partnercrmd.platform.url_handlers`; this module picks the
one for this system and says in words what it found.
"""

from __future__ import annotations

from pathlib import Path

from .. import PRODUCT_NAME
from ..platform import WINDOWS, system
from ..platform.url_handlers import (
    DESKTOP_ID,
    SCHEMES,
    HandlerStatus,
    XdgDirs,
    desktop_entry,
    for_platform,
    mime_type,
)
from ..platform.xdg import exec_argument

__all__ = [
    "DESKTOP_ID",
    "SCHEMES",
    "TAPI_NOTE",
    "TAPI_NOTE_WINDOWS",
    "HandlerStatus",
    "XdgDirs",
    "describe",
    "desktop_entry",
    "exec_argument",
    "install",
    "mime_type",
    "status",
    "uninstall",
]

TAPI_NOTE = "TAPI (the Windows telephony API) is Windows-only: it is not offered on this system."
TAPI_NOTE_WINDOWS = (
    "TAPI: partnercrmd has no TAPI component; Windows programs reach it through these links or the API "
    "(docs/click-to-dial.md)."
)


def install(dirs: XdgDirs | None = None, command: Path | None = None, product: str = PRODUCT_NAME) -> HandlerStatus:
    """Make tel:, callto: and sip: links run `partnercrmd dial` (again: no change); `product` names the handler."""
    return for_platform(dirs=dirs, command=command, product=product).install()


def uninstall(dirs: XdgDirs | None = None) -> HandlerStatus:
    """Give the links back to whatever opened them before (or nothing)."""
    return for_platform(dirs=dirs).uninstall()


def status(dirs: XdgDirs | None = None) -> HandlerStatus:
    """Whether partnercrmd is registered and which handler each scheme opens now."""
    return for_platform(dirs=dirs).status()


def describe(state: HandlerStatus) -> list[str]:
    """Lines for `partnercrmd handlers …`: the registration and which handler each scheme opens."""
    lines = [f"{state.kind}: {state.location} ({'installed' if state.installed else 'not installed'})"]
    if state.command:
        lines.append(f"Runs: {state.command}")
    for scheme in SCHEMES:
        handler = state.defaults.get(scheme) or "(none)"
        lines.append(f"{scheme}: links open {handler}{' (partnercrmd)' if handler == state.ours else ''}")
    lines.extend(state.notes)
    lines.append(TAPI_NOTE_WINDOWS if system() == WINDOWS else TAPI_NOTE)
    return lines

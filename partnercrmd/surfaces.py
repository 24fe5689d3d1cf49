"""Which click-to-dial surfaces partnercrmd draws itself: one answer, `daemon_draws`, for every surface.

A surface is something partnercrmd can show on the user's desktop: dial offers as notifications, the Ctrl+Shift
capture box, focus dialling's dial button, the tray icon. The partner's branding file decides who draws each
(`[surfaces]`: "daemon", the default, or "client": the phone client draws it from the events); for a surface the
partner left to partnercrmd, the user can switch it off (the Dialling page, settings `draw_<surface>`). Whatever
is drawn or not, the events (`DialOffer`, `MakeCallRequest`…) are emitted as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol


class Surface(StrEnum):
    OFFERS = "offers"
    """Dial offers as desktop notifications with a Dial button per number."""
    CAPTURE_BOX = "capture_box"
    """The window that outlines what Ctrl+Shift reads and lists the numbers as buttons."""
    FOCUS_DIALLING = "focus_dialling"
    """The dial button beside a focused text field that holds a number."""
    TRAY = "tray"
    """The tray icon with its menu."""


class Drawer(StrEnum):
    """Who draws a surface (the partner's choice in `[surfaces]`)."""

    DAEMON = "daemon"
    CLIENT = "client"


LABELS = {
    Surface.OFFERS: "Show numbers I copy or read as notifications with Dial buttons",
    Surface.CAPTURE_BOX: "Show the capture box while I hold Ctrl+Shift",
    Surface.FOCUS_DIALLING: "Show a dial button beside a text field that holds a number",
    Surface.TRAY: "Show the tray icon",
}
"""What the Dialling page's switch of each surface says."""


class PartnerSurfaces(Protocol):
    """What the branding says about surfaces (branding.Branding)."""

    @property
    def client_surfaces(self) -> frozenset[Surface]: ...


class SurfaceSettings(Protocol):
    """What the daemon's configuration says about surfaces (config.DaemonConfig)."""

    @property
    def branding(self) -> PartnerSurfaces: ...

    @property
    def surfaces_off(self) -> frozenset[Surface]: ...


def daemon_draws(config: SurfaceSettings, surface: Surface) -> bool:
    """Whether partnercrmd draws `surface` now: the partner left it to partnercrmd and the user has not switched it
    off. Asked each time a surface would be shown (the user's switch changes while the daemon runs)."""
    return surface not in config.branding.client_surfaces and surface not in config.surfaces_off


def partner_leaves_to_client(config: SurfaceSettings, surface: Surface) -> bool:
    """Whether the partner's phone client draws `surface` (the user has no switch for it then)."""
    return surface in config.branding.client_surfaces


def setting_key(surface: Surface) -> str:
    """The user's switch of `surface` in the settings: draw_offers, draw_tray…"""
    return f"draw_{surface.value}"


def switched_off(settings: Mapping[str, Any]) -> frozenset[Surface]:
    """The surfaces the user switched off, from the stored settings (a switch not stored is on)."""
    return frozenset(s for s in Surface if settings.get(setting_key(s)) is False)


def parse_partner_surfaces(table: Any) -> frozenset[Surface]:
    """The branding file's `[surfaces]` table → the surfaces the phone client draws; ValueError says what is wrong."""
    if not isinstance(table, dict):
        raise ValueError('[surfaces] must be a table such as offers = "client".')
    names = ", ".join(s.value for s in Surface)
    client: set[Surface] = set()
    for key, value in table.items():
        if key not in Surface.__members__.values():
            raise ValueError(f"[surfaces] has no surface '{str(key)[:40]}' (surfaces: {names}).")
        if value not in (Drawer.DAEMON.value, Drawer.CLIENT.value):
            raise ValueError(f'[surfaces] {key} must be "daemon" or "client".')
        if value == Drawer.CLIENT.value:
            client.add(Surface(key))
    return frozenset(client)

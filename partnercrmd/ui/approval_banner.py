"""The banner on every configuration page while applications wait for approval: "<App> wants to use <Product>".

base.html shows it on the pages of a signed-in session (they carry the navigation and the session's anti-forgery
token); its Allow and Deny post to the Applications page's decision form, which approves or denies exactly as
`partnercrmd apps approve|revoke` does, so the waiting `Register` answers at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .. import appkeys
from ..client_apps import AppRecord, AppStatus

if TYPE_CHECKING:
    import jinja2


def waiting_applications(app: web.Application) -> list[AppRecord]:
    """The applications waiting for the user's approval, oldest request first."""
    registry = app.get(appkeys.APPS)
    if registry is None:  # the daemon is still starting
        return []
    waiting = [a for a in registry.apps.values() if a.status is AppStatus.PENDING]
    return sorted(waiting, key=lambda a: (a.registered, a.name.lower(), a.id))


def install_approval_banner(env: jinja2.Environment, app: web.Application) -> None:
    """Give base.html `waiting_applications()`, read when each page is drawn."""
    env.globals["waiting_applications"] = lambda: waiting_applications(app)

"""The configuration UI the daemon serves to the user's browser, one module per page group.

`add_ui_routes` adds every page; `app.create_app` calls it before the generic
windows of `pages.py`, so these pages answer their own paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .. import appkeys
from . import (
    about,
    applications,
    dialling,
    explorer,
    integration_requests,
    integrations,
    local_book,
    signin,
    start,
    viewer,
)
from .approval_banner import install_approval_banner
from .common import branding_logo, branding_stylesheet, install_branding

if TYPE_CHECKING:
    import jinja2


def prepare_templates(environment: jinja2.Environment, app: web.Application) -> None:
    """What every page's template may use: the branding and its filters, the approval banner's waiting list."""
    install_branding(environment, app[appkeys.CONFIG].branding)
    install_approval_banner(environment, app)


def add_ui_routes(app: web.Application) -> None:
    app.router.add_get("/branding/style.css", branding_stylesheet)
    app.router.add_get("/branding/logo", branding_logo)
    for module in (
        start,
        integrations,
        local_book,
        integration_requests,
        dialling,
        applications,
        about,
        viewer,
        explorer,
        signin,
    ):
        module.add_routes(app)

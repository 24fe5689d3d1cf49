"""The configuration UI the daemon serves to the user's browser, one module per page group.

`add_ui_routes` adds every page; `app.create_app` calls it before the generic
windows of `pages.py`, so these pages answer their own paths.
"""

from __future__ import annotations

import aiohttp_jinja2
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


def add_ui_routes(app: web.Application) -> None:
    install_branding(aiohttp_jinja2.get_env(app), app[appkeys.CONFIG].branding)
    install_approval_banner(aiohttp_jinja2.get_env(app), app)
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

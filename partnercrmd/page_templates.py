"""The daemon's page templates (partnercrmd/templates), drawn through aiohttp-jinja2, with Jinja loaded by the
first page drawn.

A client of the API may never ask for a page, and every daemon start imported Jinja and aiohttp-jinja2 for them
(15 ms and 2 MiB). `PageTemplates` stands in the application where aiohttp-jinja2 looks for its environment
(under `PAGE_TEMPLATES`; aiohttp-jinja2 asks it only for `get_template`) and makes the real environment
when the first template is asked for; `render_template` and `render_string` are aiohttp-jinja2's, imported then.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

if TYPE_CHECKING:
    import jinja2


def new_environment() -> jinja2.Environment:
    """A Jinja environment of the daemon's templates, escaping what it fills in."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("partnercrmd", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )


class PageTemplates:
    """The templates of one application; `prepare` adds its globals and filters to the environment once made."""

    def __init__(self, prepare: Callable[[jinja2.Environment], None]) -> None:
        self._prepare = prepare

    @functools.cached_property
    def environment(self) -> jinja2.Environment:
        environment = new_environment()
        self._prepare(environment)
        return environment

    def get_template(self, name: str) -> jinja2.Template:
        return self.environment.get_template(name)


PAGE_TEMPLATES: web.AppKey[PageTemplates] = web.AppKey("page_templates")
"""The application's PageTemplates (re-exported by appkeys, with every other key)."""


def _key() -> web.AppKey[jinja2.Environment]:
    """Where aiohttp-jinja2 finds the environment: the application's PageTemplates, which answers what it asks."""
    return cast("web.AppKey[jinja2.Environment]", PAGE_TEMPLATES)


def render_template(
    template: str, request: web.Request, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """The page `template` filled with `context`, as an HTML response."""
    import aiohttp_jinja2

    return aiohttp_jinja2.render_template(template, request, context, app_key=_key(), status=status)


def render_string(template: str, request: web.Request, context: Mapping[str, Any]) -> str:
    """The page `template` filled with `context`, as text."""
    import aiohttp_jinja2

    return aiohttp_jinja2.render_string(template, request, context, app_key=_key())

"""The Dialling page: clipboard, screen-read and selection switches, the dialling rules with a live
"type a number, see what the PBX gets" preview, and the dialling helpers (browser extension,
tel:/callto:/sip: links, TAPI)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from aiohttp import web

from .. import appkeys
from ..dialling import handlers
from ..dialling.focus_dialling import focus_problem
from ..dialling.platform_support import screen_read_problem, selection_problem
from ..errors import ConfigError, PartnerError
from ..settings import change_settings, read_settings
from ..surfaces import LABELS, Surface, partner_leaves_to_client, setting_key
from ..vault_sync import reload_vault
from .common import branding_of, checked_form, page, render, secure, see_other

SWITCHES = (
    ("clipboard_dialling", "Offer numbers I copy to the clipboard"),
    ("screen_read_dialling", "Read the number under the pointer while I hold Ctrl+Shift"),
    ("selection_dialling", "Dial the text I select when I press the selection hotkey"),
    ("focus_dialling", "Offer to dial a number in the text field I am typing in"),
)
RULE_KEYS = ("default_region", "dial_format", "dial_outside_prefix", "dial_extension_lengths")
MAX_NUMBER_CHARS = 64
EXTENSION_PAGE = "/extension/"
"""The browser extension's download and install pages (extension_pages.py)."""


def preview(app: web.Application, number: str) -> dict[str, str]:
    """What the PBX gets for `number` under the dialling rules in force: Destination/E164/DisplayNumber, or Error."""
    number = number.strip()[:MAX_NUMBER_CHARS]
    if not number:
        return {}
    try:
        return {"Number": number, **app[appkeys.DIAL].target(number).event()}
    except PartnerError as exc:
        return {"Number": number, "Error": exc.message}


def _handler_state() -> dict[str, Any]:
    """Whether tel:, callto: and sip: links open this program (blocks: xdg-mime, the registry or LaunchServices)."""
    try:
        state = handlers.status(handlers.XdgDirs.from_env())
    except (ConfigError, OSError) as exc:
        return {"supported": False, "message": str(getattr(exc, "message", exc))}
    return {
        "supported": True,
        "registered": state.registered,
        "notes": list(state.notes),
        "schemes": [{"scheme": s, "ours": state.defaults.get(s) == state.ours} for s in handlers.SCHEMES],
    }


async def _dialling_page(
    request: web.Request,
    *,
    error: str = "",
    posted: dict[str, str] | None = None,
    pairing: dict[str, Any] | None = None,
    status: int = 200,
) -> web.StreamResponse:
    app = request.app
    config = app[appkeys.CONFIG]
    doc = await asyncio.to_thread(app[appkeys.VAULT].read)
    stored = read_settings(doc)
    values = {
        "clipboard_dialling": config.clipboard_dialling,
        "screen_read_dialling": config.screen_read_dialling,
        "selection_dialling": config.selection_dialling,
        "focus_dialling": config.focus_dialling,
        "default_region": stored.get("default_region", app[appkeys.REGION]),
        "dial_format": config.dial_format,
        "dial_outside_prefix": config.dial_outside_prefix,
        "dial_extension_lengths": ",".join(str(n) for n in config.dial_extension_lengths),
    }
    values.update(posted or {})
    problems = {
        "screen_read_dialling": await asyncio.to_thread(screen_read_problem),
        "selection_dialling": await asyncio.to_thread(selection_problem),
        "focus_dialling": focus_problem(app.get(appkeys.FOCUS_DIALLING)),
    }
    context = {
        "switches": SWITCHES,
        "surfaces": [
            {
                "key": setting_key(s),
                "label": LABELS[s],
                "on": s not in config.surfaces_off,
                "client": partner_leaves_to_client(config, s),
            }
            for s in Surface
        ],
        "paused_until": app[appkeys.DIAL].paused_until,
        "values": values,
        "problems": problems,
        "region_in_force": app[appkeys.REGION],
        "number": request.query.get("number", "")[:MAX_NUMBER_CHARS],
        "preview": preview(app, request.query.get("number", "")),
        "handlers": await asyncio.to_thread(_handler_state),
        "extension_page": EXTENSION_PAGE,
        "pairing": pairing,
        "windows": sys.platform == "win32",
        "error": error,
        "message": "Saved." if "saved" in request.query else "",
    }
    return render(request, "ui_dialling.html", context, current="dialling", status=status)


@page
async def pairing_submit(request: web.Request) -> web.StreamResponse:
    """A new one-time code for pairing the browser extension, shown on the page."""
    await checked_form(request)
    from ..extension_pairing import new_pairing_code

    code = await new_pairing_code(request.app)
    pairing = {"code": code.text, "minutes": max(1, round(code.expires_in() / 60))}
    return await _dialling_page(request, pairing=pairing)


@page
async def dialling_page(request: web.Request) -> web.StreamResponse:
    return await _dialling_page(request)


@page
async def settings_submit(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    given = {key: ("on" if "1" in form.getall(key, []) else "off") for key, _ in SWITCHES}
    config = request.app[appkeys.CONFIG]
    for surface in Surface:  # a surface the partner left to the phone client has no switch here
        if not partner_leaves_to_client(config, surface):
            key = setting_key(surface)
            given[key] = "on" if "1" in form.getall(key, []) else "off"
    for key in RULE_KEYS:
        given[key] = str(form.get(key, "")).strip()[:40]
    if not given["default_region"]:
        del given["default_region"]
    try:
        await asyncio.to_thread(change_settings, request.app[appkeys.VAULT], given)
    except ConfigError as exc:
        return await _dialling_page(request, error=exc.message, posted=given, status=400)

    await reload_vault(request.app)
    raise see_other("/ui/dialling?saved=1")


@page
async def preview_json(request: web.Request) -> web.StreamResponse:
    """The live preview's answer for the page's script (the page itself works without it)."""
    request.app[appkeys.UI].csrf(request)  # a session is needed, as for the page
    return secure(web.json_response(preview(request.app, request.query.get("number", ""))))


@page
async def pause_submit(request: web.Request) -> web.StreamResponse:
    """Pause click-to-dial for an hour, or resume it (as the tray's menu does)."""
    form = await checked_form(request)
    action = str(form.get("action", ""))
    if action not in ("pause", "resume"):
        raise ConfigError("Choose pause or resume.")
    dial = request.app[appkeys.DIAL]
    if action == "pause":
        dial.pause()
    else:
        dial.resume()
    raise see_other("/ui/dialling#pause")


@page
async def handlers_submit(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    action = str(form.get("action", ""))
    if action not in ("enable", "disable"):
        raise ConfigError("Choose enable or disable.")
    dirs = handlers.XdgDirs.from_env()
    try:
        if action == "enable":
            await asyncio.to_thread(handlers.install, dirs, product=branding_of(request.app).product_name)
        else:
            await asyncio.to_thread(handlers.uninstall, dirs)
    except ConfigError as exc:
        return await _dialling_page(request, error=exc.message, status=400)
    raise see_other("/ui/dialling?saved=1#helpers")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui/dialling", dialling_page)
    app.router.add_post("/ui/dialling/settings", settings_submit)
    app.router.add_get("/ui/dialling/preview", preview_json)
    app.router.add_post("/ui/dialling/handlers", handlers_submit)
    app.router.add_post("/ui/dialling/pause", pause_submit)
    app.router.add_post("/ui/dialling/pair", pairing_submit)

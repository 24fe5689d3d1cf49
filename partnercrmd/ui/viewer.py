"""The CRM viewer: every integration the user can use, with what each can do; searchable.

The same table is written as static HTML for the partner's web site by
`partnercrmd viewer export DIR` (`export_viewer`), limited to the integrations
the partner ships (Standard ones only: Controlled ones are given by code).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from .. import __version__, appkeys
from ..addin_host import AddinHost
from ..branding import Branding
from ..catalogue import visible_integrations
from ..integration import Classification, Integration
from ..page_templates import new_environment
from .common import branding_css, branding_of, guide_link, install_branding, page, partner_link, render
from .integrations import CAPABILITY_LABELS

STATIC = Path(__file__).resolve().parent.parent / "static"
MAX_QUERY_CHARS = 100


def viewer_rows(integrations: Sequence[Integration], branding: Branding, query: str = "") -> list[dict[str, Any]]:
    """One row per integration matching `query` (name, id, description or a capability), by name."""
    words = query.lower().split()
    rows = []
    for integration in sorted(integrations, key=lambda i: i.name.lower()):
        caps = [label for cap, label in CAPABILITY_LABELS.items() if cap in integration.capabilities]
        haystack = " ".join([integration.name, integration.id, integration.description, *caps]).lower()
        if all(w in haystack for w in words):
            rows.append(
                {
                    "integration": integration,
                    "has": {label: label in caps for label in CAPABILITY_LABELS.values()},
                    "guide": guide_link(branding, integration.guide_url),
                    "search_text": haystack,
                }
            )
    return rows


@page
async def viewer_page(request: web.Request) -> web.StreamResponse:
    app = request.app
    branding = branding_of(app)
    doc = await asyncio.to_thread(app[appkeys.VAULT].read)
    query = request.query.get("q", "")[:MAX_QUERY_CHARS]
    integrations = visible_integrations(app[appkeys.HOST], branding, doc)
    context = {
        "rows": viewer_rows(integrations, branding, query),
        "columns": list(CAPABILITY_LABELS.values()),
        "query": query,
        "total": len(integrations),
    }
    return render(request, "ui_viewer.html", context, current="viewer")


def exported_integrations(host: AddinHost, branding: Branding) -> list[Integration]:
    """What the partner's site lists: shipped, Standard integrations."""
    return [
        i for i in host.integrations.values() if branding.ships(i.id) and i.classification is Classification.STANDARD
    ]


def export_viewer(host: AddinHost, branding: Branding, target: Path) -> list[Path]:
    """Write the viewer as static HTML (index.html, its CSS, script and logo) into `target`; the files written."""
    env = new_environment()
    install_branding(env, branding)
    integrations = exported_integrations(host, branding)
    target.mkdir(parents=True, exist_ok=True)
    logo_name = f"logo{branding.logo.suffix}" if branding.logo else ""
    html = env.get_template("viewer_export.html").render(
        branding=branding,
        rows=viewer_rows(integrations, branding),
        columns=list(CAPABILITY_LABELS.values()),
        total=len(integrations),
        version=__version__,
        logo=logo_name,
        generated=datetime.now(UTC).strftime("%Y-%m-%d"),
        request_url=partner_link(branding, branding.request_integration_url),
    )
    written = [target / "index.html", target / "style.css", target / "branding.css", target / "viewer.js"]
    written[0].write_text(html, encoding="utf-8")
    shutil.copyfile(STATIC / "style.css", written[1])
    written[2].write_text(branding_css(branding), encoding="utf-8")
    shutil.copyfile(STATIC / "viewer.js", written[3])
    if branding.logo is not None:
        shutil.copyfile(branding.logo, target / logo_name)
        written.append(target / logo_name)
    return written


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui/viewer", viewer_page)

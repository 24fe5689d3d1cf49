"""The start page, "Which CRM do you use?": the integrations the user may add, grouped by category, searchable by
name, alias and category, each leading straight to its add form.

The pages open on it (`/ui/configuration`, where ShowWindow and Register point) while no address book beyond
the local one is set up; after that they open on the Integrations page. It works without JavaScript (the
search is a GET form; one match goes straight to its form); with it, /static/start.js filters as you type.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

from aiohttp import web

from .. import appkeys
from ..catalogue import CATEGORIES, OTHER_CATEGORY, Listing, listing, visible_integrations
from ..local_book.addin import INTEGRATION_ID as LOCAL
from .common import branding_of, page, render, see_other
from .integrations import integrations_page

BADGE_COLOURS = 10
"""Badge colour classes in style.css (`badge-c0` … `badge-c9`), each dark enough for white initials."""


def badge_initials(name: str) -> str:
    """Up to two letters that stand for a name: its words' first letters ("Zoho CRM" → "ZC"), or a single word's
    first letter and next capital ("HubSpot" → "HS") or second letter ("Pipedrive" → "Pi")."""
    words: list[str] = re.findall(r"[^\W_]+", name)
    if not words:
        return "?"
    if len(words) > 1:
        return (words[0][0] + words[1][0]).upper()
    word = words[0]
    capital = next((c for c in word[1:] if c.isupper()), "")
    return word[0].upper() + (capital or word[1:2].lower())


def badge_colour(name: str) -> str:
    """The badge's colour class: the same for a name every time, on every machine (no vendor's colours)."""
    digest = hashlib.sha256(name.strip().lower().encode("utf-8")).digest()
    return f"badge-c{digest[0] % BADGE_COLOURS}"


def setup_beyond_local(request: web.Request) -> bool:
    """Whether any address book other than a local one is configured (then the pages open on Integrations)."""
    return any(book.config.type != LOCAL for book in request.app[appkeys.BOOKS].books())


async def listings(request: web.Request) -> list[Listing]:
    """The integrations this user may add (shipped, unlocked), each with its category and aliases."""
    doc = await asyncio.to_thread(request.app[appkeys.VAULT].read)
    return [listing(i) for i in visible_integrations(request.app[appkeys.HOST], branding_of(request.app), doc)]


def target(item: Listing) -> str:
    """Where choosing an integration leads: its add form; the local book's contacts for the local book."""
    if item.integration.id == LOCAL:
        return "/ui/contacts"
    return f"/ui/integrations/{item.integration.id}/add"


def groups(items: list[Listing]) -> list[dict[str, Any]]:
    """The listings by category (CATEGORIES' order, then Other), each group in name order."""
    order = [*CATEGORIES, OTHER_CATEGORY]
    found = []
    for category in order:
        members = sorted((i for i in items if i.category == category), key=lambda i: i.integration.name.lower())
        if members:
            found.append({"category": category, "id": re.sub(r"\W+", "-", category.lower()), "items": members})
    return found


def card(item: Listing) -> dict[str, Any]:
    name = item.integration.name
    return {
        "id": item.integration.id,
        "name": name,
        "description": item.integration.description,
        "aliases": item.aliases,
        "category": item.category,
        "initials": badge_initials(name),
        "colour": badge_colour(name),
        "href": target(item),
        "search": item.search_text,
    }


async def _start_page(request: web.Request) -> web.StreamResponse:
    query = request.query.get("q", "").strip()[:100]
    everything = await listings(request)
    shown = [i for i in everything if i.matches(query)] if query else everything
    if query and len(shown) == 1 and "all" not in request.query:
        raise see_other(target(shown[0]))  # the one integration searched for: straight to its form
    context = {
        "query": query,
        "groups": [{**g, "cards": [card(i) for i in g["items"]]} for g in groups(shown)],
        "count": len(shown),
        "setup_beyond_local": setup_beyond_local(request),
    }
    return render(request, "ui_start.html", context, current="start")


@page
async def start_page(request: web.Request) -> web.StreamResponse:
    return await _start_page(request)


@page
async def configuration_page(request: web.Request) -> web.StreamResponse:
    """Where the pages open (ShowWindow's default window): the start page until an integration beyond the
    local book is set up, the Integrations page from then on."""
    if setup_beyond_local(request):
        return await integrations_page(request)
    return await _start_page(request)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ui/configuration", configuration_page)
    app.router.add_get("/ui/start", start_page)

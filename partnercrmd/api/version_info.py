"""The Version response object: `GET Version` answers it and the `Initial` event carries it, built here alone."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import __version__, appkeys


async def version_object(app: web.Application, user_id: str) -> dict[str, Any]:
    """`{ProductName, ProductVersion, Licenses: [{Key, Name, Value (a number), Description, ExpiresAt?}]}` as seen
    by `user_id` (the user's own licence entry is there when a user is named)."""
    return {
        "ProductName": app[appkeys.CONFIG].branding.product_name,
        "ProductVersion": __version__,
        "Licenses": await app[appkeys.LICENCES].licenses(user_id),
    }

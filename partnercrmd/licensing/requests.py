"""Licensing applied to an API request: whose request it is, and whether that user holds a licence (402 if not)."""

from __future__ import annotations

from aiohttp import web

from .. import appkeys
from ..input_text import clean_text

USER_HEADER = "UserId"
MAX_USER_ID = 128


def request_user_id(request: web.Request, *, registered: bool = True) -> str:
    """The user a request is for: its `UserId` header, else (`registered`) the user its application registered with."""
    header = clean_text(request.headers.get(USER_HEADER, "").strip()[:MAX_USER_ID], f"The {USER_HEADER} header")
    if header or not registered:
        return header
    app_id = request.headers.get("ApplicationId", "").strip()
    if app_id and appkeys.APPS in request.app:
        record = request.app[appkeys.APPS].apps.get(app_id)
        if record is not None:
            return record.user_id
    return ""


async def require_licence(request: web.Request) -> None:
    """Refuse (402) a request whose user has no licence; used by Search and DoAction."""
    await request.app[appkeys.LICENCES].require(request_user_id(request))

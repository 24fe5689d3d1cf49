"""Every `web.AppKey` of the daemon, in one place."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .actions import ActionService
    from .addin_host import AddinHost
    from .apps import AppRegistry
    from .books import BookManager
    from .config import DaemonConfig
    from .events import EventHub
    from .pages import UiSessions
    from .search import SearchEngine
    from .signing import Signer
    from .vault import Vault

CONFIG = web.AppKey("config", "DaemonConfig")
VAULT = web.AppKey("vault", "Vault")
HOST = web.AppKey("host", "AddinHost")
BOOKS = web.AppKey("books", "BookManager")
SEARCH = web.AppKey("search", "SearchEngine")
ACTIONS = web.AppKey("actions", "ActionService")
HUB = web.AppKey("hub", "EventHub")
APPS = web.AppKey("apps", "AppRegistry")
SIGNER = web.AppKey("signer", "Signer")
UI = web.AppKey("ui", "UiSessions")
INSTALL_TOKEN = web.AppKey("install_token", str)
REGION = web.AppKey("region", str)
WEBSOCKETS = web.AppKey("websockets", "weakref.WeakSet[web.WebSocketResponse]")

__all__ = ["weakref"]

"""Every `web.AppKey` of the daemon, in one place."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from .page_templates import PAGE_TEMPLATES as PAGE_TEMPLATES  # defined where the page renderers look it up

if TYPE_CHECKING:
    from .actions import ActionService
    from .addin_host import AddinHost
    from .books import BookManager
    from .call_log.calls import CallService
    from .call_log.live_events import LiveEventPolicy
    from .call_log.outbox_worker import OutboxPolicy, OutboxWorker
    from .client_apps import AppRegistry
    from .config import DaemonConfig
    from .dialling.clipboard import ClipboardMonitor
    from .dialling.focus_dialling import FocusDialling
    from .dialling.hotkeys import DesktopHotkeys
    from .dialling.screen import ScreenReader
    from .dialling.service import DialService
    from .discovery import InstallToken
    from .draft_records import DraftRecords
    from .events import EventHub
    from .licensing.service import LicenceService
    from .oauth_signin import SignIns
    from .search import SearchEngine
    from .signing import Signer
    from .tray import Tray
    from .ui_sessions import UiSessions
    from .vault import Vault

CONFIG: web.AppKey[DaemonConfig] = web.AppKey("config")
VAULT: web.AppKey[Vault] = web.AppKey("vault")
VAULT_RELOAD: web.AppKey[asyncio.Lock] = web.AppKey("vault_reload")
"""Held while the vault is read and applied (vault_sync.reload_vault): an older read never undoes a newer one."""
HOST: web.AppKey[AddinHost] = web.AppKey("host")
BOOKS: web.AppKey[BookManager] = web.AppKey("books")
SEARCH: web.AppKey[SearchEngine] = web.AppKey("search")
ACTIONS: web.AppKey[ActionService] = web.AppKey("actions")
HUB: web.AppKey[EventHub] = web.AppKey("hub")
APPS: web.AppKey[AppRegistry] = web.AppKey("apps")
SIGNER: web.AppKey[Signer] = web.AppKey("signer")
UI: web.AppKey[UiSessions] = web.AppKey("ui")
DIAL: web.AppKey[DialService] = web.AppKey("dial")
CLIPBOARD_MONITOR: web.AppKey[ClipboardMonitor] = web.AppKey("clipboard_monitor")
SCREEN_READER: web.AppKey[ScreenReader] = web.AppKey("screen_reader")
DESKTOP_HOTKEYS: web.AppKey[DesktopHotkeys] = web.AppKey("desktop_hotkeys")
FOCUS_DIALLING: web.AppKey[FocusDialling] = web.AppKey("focus_dialling")
INSTALL_TOKEN: web.AppKey[InstallToken] = web.AppKey("install_token")
REGION: web.AppKey[str] = web.AppKey("region")
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse[bool]]] = web.AppKey("websockets")
LICENCES: web.AppKey[LicenceService] = web.AppKey("licences")
CALLS: web.AppKey[CallService] = web.AppKey("calls")
SIGN_INS: web.AppKey[SignIns] = web.AppKey("sign_ins")
DRAFTS: web.AppKey[DraftRecords] = web.AppKey("drafts")
OUTBOX: web.AppKey[OutboxWorker] = web.AppKey("outbox")
OUTBOX_POLICY: web.AppKey[OutboxPolicy] = web.AppKey("outbox_policy")
"""Set before the app starts (tests, benchmarks) to change retry delays and rate limits."""
TRAY: web.AppKey[Tray] = web.AppKey("tray")
STOP_DAEMON: web.AppKey[Callable[[], None]] = web.AppKey("stop_daemon")
"""Stops the daemon cleanly (set by `run_daemon`; the tray's Quit)."""
LIVE_EVENT_POLICY: web.AppKey[LiveEventPolicy] = web.AppKey("live_event_policy")
"""Set before the app starts (tests) to change the deadline and window of live call events."""

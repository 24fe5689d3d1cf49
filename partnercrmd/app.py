"""The application factory: routes, middlewares and every service, started and stopped by cleanup contexts."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import weakref
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSCloseCode, web

from . import appkeys
from .actions import ActionService
from .addin_host import create_host
from .approval_prompts import approval_prompts
from .books import BookManager, ensure_default_book
from .call_log.lifecycle import call_logging
from .client_apps import AppRegistry
from .config import DaemonConfig, region_from_locale
from .dialling.lifecycle import clipboard_monitor, desktop_dialling, offers_on_screen
from .dialling.rules import DialFormat, DiallingRules
from .dialling.service import DialService
from .discovery import InstallToken, new_token
from .draft_records import DATABASE_NAME as DRAFTS_DATABASE
from .draft_records import DraftRecords, DraftStore
from .events import EventHub
from .integration_request_sending import retry_unsent
from .licensing.lifecycle import licensing
from .oauth_signin import SignIns
from .page_templates import PageTemplates
from .pages import record_page_url, window_login_url
from .redact import LOG_REDACTOR
from .search import SearchEngine
from .settings import apply_settings, read_settings
from .signing import Signer
from .tray import Tray
from .ui_sessions import UiSessions
from .vault import Vault
from .vault_sync import vault_watcher

log = logging.getLogger(__name__)


def create_app(config: DaemonConfig) -> web.Application:
    from .api.middleware import cross_origin_headers, error_middleware, security_middleware
    from .api.routes import add_api_routes
    from .call_log.history_page import add_call_history_routes
    from .call_log.log_call_page import add_log_call_routes
    from .pages import add_page_routes
    from .ui import add_ui_routes, prepare_templates

    app = web.Application(
        middlewares=[error_middleware, security_middleware],
        client_max_size=config.max_body_bytes,
    )
    app.on_response_prepare.append(cross_origin_headers)  # CORS on every answer to an allowed origin
    app[appkeys.CONFIG] = config
    app[appkeys.HUB] = EventHub()
    app[appkeys.VAULT_RELOAD] = asyncio.Lock()
    app[appkeys.DIAL] = DialService(app[appkeys.HUB], lambda: dialling_rules(app))
    app[appkeys.WEBSOCKETS] = weakref.WeakSet()
    app[appkeys.UI] = UiSessions()
    app[appkeys.PAGE_TEMPLATES] = PageTemplates(lambda environment: prepare_templates(environment, app))
    add_api_routes(app)
    add_call_history_routes(app)  # before add_page_routes: /ui/callhistory is its own page
    add_log_call_routes(app)
    add_ui_routes(app)  # before add_page_routes: these pages answer their own paths
    add_page_routes(app)
    app.cleanup_ctx.append(services)
    app.cleanup_ctx.append(licensing)
    app.cleanup_ctx.append(retry_unsent)
    app.cleanup_ctx.append(call_logging)
    app.cleanup_ctx.append(draft_records)
    app.cleanup_ctx.append(vault_watcher)
    app.cleanup_ctx.append(approval_prompts)
    app.cleanup_ctx.append(offers_on_screen)  # before the sources of offers: it is ready when they start
    app.cleanup_ctx.append(clipboard_monitor)
    app.cleanup_ctx.append(desktop_dialling)
    app.cleanup_ctx.append(tray_icon)
    app.on_shutdown.append(close_websockets)
    return app


def dialling_rules(app: web.Application) -> DiallingRules:
    """The dialling rules as the settings stand now (they change at runtime)."""
    config = app[appkeys.CONFIG]
    return DiallingRules(
        region=app[appkeys.REGION] if appkeys.REGION in app else (config.region or region_from_locale()),
        number_format=DialFormat(config.dial_format),
        outside_prefix=config.dial_outside_prefix,
        extension_lengths=frozenset(config.dial_extension_lengths),
    )


def _install_secrets(doc: dict[str, Any]) -> dict[str, str]:
    """The per-install API token and signing key, created on first start."""
    install = doc.setdefault("install", {})
    install.setdefault("token", new_token())
    install.setdefault("signing_key", base64.b64encode(secrets.token_bytes(32)).decode("ascii"))
    return dict(install)


def _books_changed(app: web.Application) -> None:
    """Tell clients a book's status changed (a Test, a refused search) as a change of configuration would."""
    app[appkeys.HUB].publish("AddressBooksChanged", {})


async def services(app: web.Application) -> AsyncIterator[None]:
    """Open the vault, load add-ins, open the address books; close them all at shutdown."""
    config = app[appkeys.CONFIG]
    await asyncio.to_thread(config.paths.ensure)
    vault = await asyncio.to_thread(Vault.open, config.paths.config_dir)
    await asyncio.to_thread(ensure_default_book, vault)
    install = await asyncio.to_thread(vault.update, _install_secrets)
    LOG_REDACTOR.set_secrets("install", (install["token"], install["signing_key"]))
    doc = await asyncio.to_thread(vault.read)
    apply_settings(config, doc)
    region = config.region or read_settings(doc).get("default_region") or region_from_locale()
    host = await asyncio.to_thread(create_host, config.extra_plugins, use_entry_points=config.use_entry_points)
    signer = Signer(base64.b64decode(install["signing_key"]))
    books = BookManager(
        vault,
        host,
        config.paths,
        region,
        config.branding,
        status_changed=lambda: _books_changed(app),
    )
    apps = AppRegistry(vault)
    books.sign_ins = app[appkeys.SIGN_INS] = SignIns(
        vault, config.branding, lambda: _publish(app, "AddressBooksChanged")
    )
    app[appkeys.VAULT] = vault
    app[appkeys.HOST] = host
    app[appkeys.REGION] = region
    app[appkeys.SIGNER] = signer
    app[appkeys.INSTALL_TOKEN] = InstallToken(install["token"])
    app[appkeys.BOOKS] = books
    app[appkeys.APPS] = apps
    engine = SearchEngine(books, region, lambda: config.dial_extension_lengths)
    app[appkeys.SEARCH] = engine
    app[appkeys.ACTIONS] = ActionService(
        books,
        signer,
        config.opener,
        app[appkeys.HUB],
        lambda book_id, contact_id, edit: record_page_url(app, book_id, contact_id, edit),
        changed=engine.cache.invalidate,
    )
    await apps.refresh(doc)
    await books.sync(doc)
    log.info("vault key: %s; region %s; %d address books", vault.key_location, region, len(books.books()))
    yield
    await books.close()


async def tray_icon(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the tray icon while the daemon runs (and partnercrmd draws it: tray.py)."""
    tray = app[appkeys.TRAY] = Tray(
        app[appkeys.CONFIG], app[appkeys.DIAL], lambda page: window_login_url(app, page), app.get(appkeys.STOP_DAEMON)
    )
    following = asyncio.create_task(tray.follow_switch())
    try:
        yield
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        await tray.close()


async def draft_records(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: open the table of saved draft records with the daemon, close it at shutdown."""
    store = await asyncio.to_thread(DraftStore, app[appkeys.CONFIG].paths.data_dir / DRAFTS_DATABASE)
    app[appkeys.DRAFTS] = DraftRecords(store)
    yield
    await asyncio.to_thread(store.close)


def _publish(app: web.Application, event_type: str) -> None:
    app[appkeys.HUB].publish(event_type, {})


async def close_websockets(app: web.Application) -> None:
    app[appkeys.HUB].close_all()
    sockets = app[appkeys.WEBSOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"partnercrmd is shutting down")

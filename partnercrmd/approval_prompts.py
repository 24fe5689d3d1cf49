"""Approval where the user is: a registration that waits raises a desktop notification with Allow and Deny.

The registry calls `ApprovalPrompts.waiting` when a `Register` starts to wait for the user. One notification per
waiting application (a client that asks again while it is shown gets no second one). Allow approves and Deny
denies, through the same vault change as `partnercrmd apps approve|revoke` and the Applications page, so the
waiting `Register` answers 200 or 403 at once. Decided some other way (the banner on the configuration pages,
the CLI), the notification is taken off the screen. Where the desktop cannot ask, the banner and the CLI remain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web

from . import appkeys
from .client_apps import AppRecord, AppStatus, set_app_status
from .platform.notifications import Asker, Choice, asker
from .vault_sync import reload_vault

log = logging.getLogger(__name__)

CHOICES = (Choice("allow", "Allow"), Choice("deny", "Deny"))
DECISIONS = {"allow": AppStatus.APPROVED, "deny": AppStatus.REVOKED}


class ApprovalPrompts:
    """The desktop notifications of applications waiting for approval, one per application."""

    def __init__(self, app: web.Application, notifications: Asker) -> None:
        self.app = app
        self.notifications = notifications
        self.shown: dict[str, str] = {}
        """application id → the notification asking about it."""
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def waiting(self, record: AppRecord) -> None:
        """A registration of `record` waits for the user (called by the registry, on the event loop)."""
        if record.id not in self.shown:
            self.shown[record.id] = ""  # being shown: a second Register meanwhile asks nothing more
            self._spawn(self._ask(record))

    def refreshed(self) -> None:
        """The applications changed (the vault was read again): take answered questions off the screen."""
        apps = self.app[appkeys.APPS].apps
        for app_id, notification in list(self.shown.items()):
            record = apps.get(app_id)
            if notification and (record is None or record.status is not AppStatus.PENDING):
                del self.shown[app_id]
                self._spawn(self.notifications.withdraw(notification))

    async def _ask(self, record: AppRecord) -> None:
        product = self.app[appkeys.CONFIG].branding.product_name
        title = f"{record.name} wants to use {product}"
        message = f"Allow the application '{record.name}' ({record.id}) to search your address books and log calls?"
        notification = await self.notifications.ask(title, message, CHOICES, lambda key: self._answered(record, key))
        if notification is None:
            self.shown.pop(record.id, None)  # could not ask: the next Register tries again
            return
        self.shown[record.id] = notification
        self.refreshed()  # decided while the notification was on its way

    def _answered(self, record: AppRecord, key: str) -> None:
        """The user pressed a button (`key`), or closed the notification without one ('': the next Register asks)."""
        self.shown.pop(record.id, None)
        status = DECISIONS.get(key)
        if status is not None:
            self._spawn(self._decide(record, status))

    async def _decide(self, record: AppRecord, status: AppStatus) -> None:
        try:
            await asyncio.to_thread(set_app_status, self.app[appkeys.VAULT], record.id, status)
            await reload_vault(self.app)
        except Exception:
            log.exception("could not record the user's answer about the application '%s'", record.id)
        else:
            answer = "allowed" if status is AppStatus.APPROVED else "denied"
            log.info("the user %s the application '%s' through the desktop notification", answer, record.id)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.notifications.close()


async def approval_prompts(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: ask on the desktop about each waiting registration while the daemon runs."""
    prompts = ApprovalPrompts(app, asker(app[appkeys.CONFIG].branding.product_name))
    registry = app[appkeys.APPS]
    registry.on_waiting.append(prompts.waiting)
    registry.on_refresh.append(prompts.refreshed)
    try:
        yield
    finally:
        registry.on_waiting.remove(prompts.waiting)
        registry.on_refresh.remove(prompts.refreshed)
        await prompts.close()

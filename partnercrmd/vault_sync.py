"""Keeping the running daemon in step with the vault: changes other processes make (`partnercrmd apps approve`,
`books add`, a rotated token) are noticed and applied, and the pages apply their own changes the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from . import appkeys
from .discovery import refresh_token
from .redact import LOG_REDACTOR
from .settings import apply_settings

log = logging.getLogger(__name__)


async def vault_watcher(app: web.Application) -> AsyncIterator[None]:
    """Pick up changes other processes (`partnercrmd apps approve`, `books add`…) make to the vault."""
    task = asyncio.create_task(_watch_vault(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _watch_vault(app: web.Application) -> None:
    config = app[appkeys.CONFIG]
    vault = app[appkeys.VAULT]
    last = await asyncio.to_thread(vault.stamp)
    while True:
        await asyncio.sleep(config.vault_poll_interval)
        try:
            stamp = await asyncio.to_thread(vault.stamp)
            if stamp == last:
                continue
            last = stamp
            await reload_vault(app)
        except Exception:
            log.exception("could not reload the vault")


async def reload_vault(app: web.Application) -> None:
    """Re-read the vault: refresh applications, re-open changed books, tell clients.

    One reload at a time, each reading the vault once it holds the lock: the watcher's reload, which read the vault
    before a page or `books add` wrote it, would otherwise apply its older document after theirs and close the book
    just added until its next poll."""
    async with app[appkeys.VAULT_RELOAD]:
        doc = await asyncio.to_thread(app[appkeys.VAULT].read)
        apply_settings(app[appkeys.CONFIG], doc)
        token = app[appkeys.INSTALL_TOKEN]
        rotated = doc.get("install", {}).get("token")
        if rotated and rotated != token.value:
            token.value = rotated
            LOG_REDACTOR.set_secrets("install", (rotated, doc["install"].get("signing_key", "")))
            await asyncio.to_thread(refresh_token, app[appkeys.CONFIG].paths.discovery_file, rotated)
            log.info("the install token was rotated")
        await app[appkeys.APPS].refresh(doc)
        if await app[appkeys.BOOKS].sync(doc):
            app[appkeys.HUB].publish("AddressBooksChanged", {})

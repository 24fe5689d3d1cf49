"""Licensing's life with the daemon: the partner's provider started after the vault opens, stopped at shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from .. import appkeys
from .service import LicenceService, make_provider

log = logging.getLogger(__name__)


async def licensing(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: start the partner's licensing provider after the vault is open; stop it at shutdown."""
    config = app[appkeys.CONFIG]
    provider = make_provider(config.branding, app[appkeys.VAULT], config.paths.config_dir)
    await provider.start()
    service = LicenceService(provider, app[appkeys.HUB])
    app[appkeys.LICENCES] = service
    log.info("licensing: %s", provider.describe())
    yield
    await service.close()

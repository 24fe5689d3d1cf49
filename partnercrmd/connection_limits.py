"""Limits on client connections: how long a client may take to send a request, how many may be open at once.

aiohttp closes a keep-alive connection that stays idle `keepalive_timeout` seconds after a response (a
request line and headers must be complete by then; trickled bytes do not count), but releases older than
the one this was written against (3.14.5; 3.10, for one) time out nothing before a new connection's first
request (slowloris), and none caps how many connections are open. `LimitedServer` adds both;
`DaemonRunner` serves the app through it. The settings are DaemonConfig's `request_head_timeout`,
`keepalive_timeout` and `max_connections` (lowered to half the process's limit on open files when that is
lower, so the cap is reached first).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader

from .config import DaemonConfig
from .logging_setup import CONNECTION_LIMITED
from .platform.process import open_file_limit

log = logging.getLogger(__name__)


class LimitedServer(web.Server):
    """aiohttp's low-level server, with a deadline for a new connection's first request and a connection cap.

    A connection that has not sent a complete request line and headers `request_head_timeout` seconds after
    it opened is closed; a connection beyond `max_connections` open ones is closed as soon as it is accepted
    (so file descriptors stay bounded whatever a local program opens). Both are logged as CONNECTION records,
    which the log's flood limiter keeps to a few lines.
    """

    def __init__(
        self,
        handler: Any,
        *,
        request_head_timeout: float,
        max_connections: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self.request_head_timeout = request_head_timeout
        self.max_connections = max_connections
        self._waiting: set[web.RequestHandler] = set()
        """Open connections that have not sent a complete request head yet (aiohttp built no request for them)."""
        make_request = self.request_factory

        def request_factory(
            message: RawRequestMessage,
            payload: StreamReader,
            protocol: web.RequestHandler,
            writer: AbstractStreamWriter,
            task: asyncio.Task[None],
        ) -> web.BaseRequest:
            self._waiting.discard(protocol)
            return make_request(message, payload, protocol, writer, task)

        # every connection's RequestHandler takes the factory from its server when it is created
        self.request_factory = request_factory

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if len(self.connections) > self.max_connections:
            log.warning(
                "refused a connection from %s: %d connections are open already (the limit)",
                _peer(transport),
                self.max_connections,
                extra=CONNECTION_LIMITED,
            )
            handler.force_close()
            return
        self._waiting.add(handler)
        # RequestHandler has no weak references: the timer holds this one for request_head_timeout at most
        asyncio.get_running_loop().call_later(
            self.request_head_timeout, self._close_if_still_waiting, handler, _peer(transport)
        )

    def connection_lost(self, handler: web.RequestHandler, exc: BaseException | None = None) -> None:
        self._waiting.discard(handler)
        super().connection_lost(handler, exc)

    def _close_if_still_waiting(self, handler: web.RequestHandler, peer: str) -> None:
        if handler not in self._waiting:
            return
        self._waiting.discard(handler)
        log.warning(
            "closed a connection from %s: no complete request line and headers within %g s",
            peer,
            self.request_head_timeout,
            extra=CONNECTION_LIMITED,
        )
        handler.force_close()


def _peer(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"


def connection_cap(configured: int) -> int:
    """`configured`, or half the process's file-descriptor limit when that is lower (macOS starts programs with
    256): the other half stays for the daemon's own files, databases and add-ins' connections."""
    soft = open_file_limit()  # None on Windows: no such per-process limit on sockets
    if soft is None:
        return configured
    return max(1, min(configured, soft // 2))


class DaemonRunner(web.AppRunner):
    """The daemon's `web.AppRunner`: no access log, keep-alive closed after `keepalive_timeout`, and the app
    served by a `LimitedServer`."""

    def __init__(self, app: web.Application, config: DaemonConfig) -> None:
        self.handler_options: dict[str, Any] = {"access_log": None, "keepalive_timeout": config.keepalive_timeout}
        """What every connection's RequestHandler is built with."""
        super().__init__(app, handle_signals=False, **self.handler_options)
        self.request_head_timeout = config.request_head_timeout
        self.max_connections = connection_cap(config.max_connections)
        if self.max_connections < config.max_connections:
            log.info(
                "at most %d connections at once (half the limit on open files), not %d",
                self.max_connections,
                config.max_connections,
            )

    async def _make_server(self) -> web.Server:
        # AppRunner starts the app and builds aiohttp's own Server for it; the same handler and request factory
        # are served through the limited one (_make_server is the method every BaseRunner subclass implements)
        plain = await super()._make_server()
        return LimitedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            request_head_timeout=self.request_head_timeout,
            max_connections=self.max_connections,
            **self.handler_options,
        )

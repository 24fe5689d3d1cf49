"""Runs the daemon in the foreground: one instance per user, loopback only, discovery file, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import __version__, appkeys
from .addin_host import AddinHost
from .app import create_app
from .config import DaemonConfig
from .connection_limits import DaemonRunner
from .discovery import remove_discovery, write_discovery
from .errors import PartnerError
from .logging_setup import REQUEST_LOG_LIMITER, flush_request_log_summaries, log_startup_record, setup_logging
from .paths import Paths
from .platform import files, process
from .settings import read_settings
from .tls_files import TlsFiles, https_port, utc_now

if TYPE_CHECKING:
    from .tls import ServerTls

log = logging.getLogger(__name__)

BIND_ADDRESS = "127.0.0.1"


class StartError(PartnerError):
    code = "cannot_start"


@contextmanager
def instance_lock(paths: Paths) -> Iterator[None]:
    """Hold the per-user instance lock while the daemon runs; StartError if another instance holds it."""
    with contextlib.ExitStack() as held_while_running:
        try:
            lock_file = held_while_running.enter_context(files.exclusive_lock(paths.instance_lock, wait=False))
        except files.LockHeld as held:
            raise StartError(
                f"partnercrmd is already running for this user (pid {held.note or '?'}, home {paths.config_dir})."
            ) from None
        files.write_lock_note(lock_file, str(os.getpid()))  # what the next start names in its error
        yield


def candidate_ports(port: int, span: int) -> list[int]:
    """The ports to try in order: the configured one, then the next ones of its range (terminal servers)."""
    if port == 0:
        return [0]
    return list(range(port, min(port + max(span, 1), 65536)))


class HandshakeLimitedSite(web.TCPSite):
    """A TCPSite whose TLS handshakes must end within `handshake_timeout` seconds (slowloris).

    aiohttp leaves asyncio's 60 s, and a connection still in its handshake is not yet one of the
    LimitedServer's (which times out request heads and caps connections), so a local program could hold
    many open that long; this closes them as a slow request head is closed.
    """

    def __init__(self, *args: Any, handshake_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handshake_timeout = handshake_timeout

    async def start(self) -> None:
        if self._ssl_context is None:
            await super().start()
            return
        await web.BaseSite.start(self)  # what TCPSite.start does, with the handshake's time limit added
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            server,
            self._host,
            self._port,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self.handshake_timeout,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port


async def bind(
    runner: web.AppRunner, config: DaemonConfig, port: int | None = None, ssl_context: ssl.SSLContext | None = None
) -> int:
    """Listen on the first free port of the configured range from `port` (default: config.port; HTTPS with
    `ssl_context`); the port bound. StartError naming the range if none is free."""
    ports = candidate_ports(config.port if port is None else port, config.port_span)
    reason = ""
    for candidate in ports:
        site = HandshakeLimitedSite(
            runner,
            BIND_ADDRESS,
            candidate,
            ssl_context=ssl_context,
            reuse_address=process.server_reuse_address(),
            handshake_timeout=config.request_head_timeout,
        )
        try:
            await site.start()
            return site.port
        except OSError as exc:
            reason = exc.strerror or str(exc)
            log.info("port %d on %s is taken (%s)", candidate, BIND_ADDRESS, reason)
    where = f"Port {ports[0]}" if len(ports) == 1 else f"Ports {ports[0]}-{ports[-1]}"
    option = "--https-port (0: no HTTPS)" if ssl_context else "--port"
    raise StartError(
        f"{where} on {BIND_ADDRESS} taken ({reason}); start with {option} to choose another, or widen the range "
        "with `partnercrmd settings set port_span=N` (many users on one host)."
    )


async def start_https(runner: web.AppRunner, config: DaemonConfig, app: web.Application) -> ServerTls | None:
    """Serve the same app over HTTPS too when tls.https_port says so (the certificate made or renewed first);
    the ServerTls that keeps its certificate fresh, None when HTTPS is off. Sets config.https_port.

    HTTPS asked for (`--https-port`, the setting) that cannot start stops the daemon (StartError); HTTPS on
    by default whose port is taken (another user's daemon on a shared host) is logged and left off, and
    plain HTTP serves as before.
    """
    files = TlsFiles.of(config.paths)
    doc = await asyncio.to_thread(app[appkeys.VAULT].read)
    exists = await asyncio.to_thread(files.authority_exists)
    port, asked = https_port(config.https_port, read_settings(doc).get("https_port"), exists)
    config.https_port = None
    if not port:
        return None
    from .tls import ServerTls  # cryptography's X.509 only when HTTPS is on (tls_files.py)

    server_tls = ServerTls(files, config.branding.product_name, config.tls_clock or utc_now)
    try:
        await asyncio.to_thread(server_tls.start, asked)
    except PartnerError as exc:
        raise StartError(f"HTTPS cannot start: {exc.message}") from None
    try:
        config.https_port = await bind(runner, config, port, server_tls.context)
    except StartError as exc:
        if asked:
            raise
        log.warning("HTTPS is off: %s", exc.message)
        return None
    return server_tls


def describe_addins(host: AddinHost) -> str:
    """The add-ins line of the start-up record: each add-in's name, distribution and version, and whether it
    failed to load or is disabled."""
    described = []
    for info in sorted(host.addins.values(), key=lambda addin: addin.name):
        text = f"{info.name} ({info.distribution} {info.version})".replace(" )", ")")
        if info.disabled:
            text += " disabled"
        elif info.error:
            text += " failed to load"
        described.append(text)
    return "add-ins: " + (", ".join(described) or "none")


def startup_record(app: web.Application, config: DaemonConfig) -> list[str]:
    """What the log keeps at the top of every file: who is running, with which add-ins, listening where."""
    return [
        f"partnercrmd {__version__} started (pid {os.getpid()}, Python {platform.python_version()} on "
        f"{platform.system()}, home {config.paths.config_dir})",
        describe_addins(app[appkeys.HOST]),
        f"listening on http://{BIND_ADDRESS}:{config.port}/api/v1/ (discovery file {config.paths.discovery_file})",
        *([f"and on https://localhost:{config.https_port}/api/v1/"] if config.https_port else []),
    ]


async def run_daemon(
    config: DaemonConfig, stop: asyncio.Event | None = None, announce: Callable[[DaemonConfig], None] | None = None
) -> None:
    """Serve until SIGTERM/SIGINT (or `stop` is set); the start-up record is logged once the daemon listens, and
    `announce` (what `serve` tells the user) is called once the discovery file names it."""
    stop = stop or asyncio.Event()
    stop_watching_signals = process.stop_on_signals(asyncio.get_running_loop(), stop.set)
    app = create_app(config)
    app[appkeys.STOP_DAEMON] = stop.set  # the tray's Quit
    runner = DaemonRunner(app, config)
    await runner.setup()
    flusher = asyncio.create_task(flush_request_log_summaries())
    renewing: asyncio.Task[None] | None = None
    try:
        config.port = await bind(runner, config)
        server_tls = await start_https(runner, config, app)
        if server_tls is not None:
            renewing = asyncio.create_task(server_tls.keep_fresh(config.tls_check_interval))
        log_startup_record(startup_record(app, config))  # before the discovery file: clients find it logged
        discovery = config.paths.discovery_file
        token = app[appkeys.INSTALL_TOKEN].value
        await asyncio.to_thread(write_discovery, discovery, config.port, token, __version__, config.https_port)
        if announce is not None:
            announce(config)
        try:
            await stop.wait()
        finally:
            await asyncio.to_thread(remove_discovery, discovery)
    finally:
        log.info("shutting down")
        if renewing is not None:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        await runner.cleanup()
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        REQUEST_LOG_LIMITER.flush(all_windows=True)
        stop_watching_signals()


def serve(config: DaemonConfig, verbose: bool = False, announce: Callable[[DaemonConfig], None] | None = None) -> None:
    config.paths.ensure()
    setup_logging(config.paths, verbose, branding=config.branding)
    with instance_lock(config.paths), asyncio.Runner(loop_factory=process.new_event_loop) as runner:
        runner.run(run_daemon(config, announce=announce))

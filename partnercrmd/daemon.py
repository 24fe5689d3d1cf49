"""Runs the daemon in the foreground: one instance per user, loopback only, discovery file, clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from aiohttp import web

from . import __version__, appkeys
from .app import create_app
from .config import DaemonConfig
from .discovery import remove_discovery, write_discovery
from .errors import PartnerError
from .paths import Paths

log = logging.getLogger(__name__)

BIND_ADDRESS = "127.0.0.1"


class StartError(PartnerError):
    code = "cannot_start"


WINDOWS_LOCK_OFFSET = 1 << 20
"""Windows locks byte ranges mandatorily: lock a byte far past the pid, so a second start can still read it."""


def _try_lock(handle: TextIO) -> bool:
    """Take the lock without waiting (flock on POSIX, a byte-range lock on Windows); False if it is held."""
    if sys.platform == "win32":
        import msvcrt

        handle.seek(WINDOWS_LOCK_OFFSET)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def instance_lock(paths: Paths) -> Iterator[None]:
    """Hold the per-user instance lock while the daemon runs; StartError if another instance holds it."""
    handle = open(paths.instance_lock, "a+", encoding="utf-8")  # noqa: SIM115  (held for the daemon's lifetime)
    if not _try_lock(handle):
        handle.seek(0)
        other = handle.read().strip() or "?"
        handle.close()
        raise StartError(
            f"partnercrmd is already running for this user (pid {other}, home {paths.config_dir})."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()


def setup_logging(paths: Paths, verbose: bool) -> None:
    handler = logging.handlers.RotatingFileHandler(
        paths.log_dir / "partnercrmd.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("partnercrmd: %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler, console]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def candidate_ports(port: int, span: int) -> list[int]:
    """The ports to try in order: the configured one, then the next ones of its range (terminal servers)."""
    if port == 0:
        return [0]
    return list(range(port, min(port + max(span, 1), 65536)))


async def bind(runner: web.AppRunner, config: DaemonConfig) -> None:
    """Listen on the first free port of the configured range; StartError naming the range if none is free."""
    reason = ""
    for port in candidate_ports(config.port, config.port_span):
        site = web.TCPSite(runner, BIND_ADDRESS, port, reuse_address=True)
        try:
            await site.start()
            return
        except OSError as exc:
            reason = exc.strerror or str(exc)
            log.info("port %d on %s is taken (%s)", port, BIND_ADDRESS, reason)
    ports = candidate_ports(config.port, config.port_span)
    where = f"Port {ports[0]}" if len(ports) == 1 else f"Ports {ports[0]}-{ports[-1]}"
    raise StartError(
        f"{where} on {BIND_ADDRESS} taken ({reason}); start with --port to choose another, or widen the range "
        "with `partnercrmd settings set port_span=N` (many users on one host)."
    )


async def run_daemon(config: DaemonConfig, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or `stop` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await bind(runner, config)
        config.port = runner.addresses[0][1]
        discovery = config.paths.discovery_file
        await asyncio.to_thread(write_discovery, discovery, config.port, app[appkeys.INSTALL_TOKEN].value, __version__)
        log.info("listening on http://%s:%d/api/v1/ (discovery file %s)", BIND_ADDRESS, config.port, discovery)
        try:
            await stop.wait()
        finally:
            await asyncio.to_thread(remove_discovery, discovery)
    finally:
        log.info("shutting down")
        await runner.cleanup()


def serve(config: DaemonConfig, verbose: bool = False) -> None:
    config.paths.ensure()
    setup_logging(config.paths, verbose)
    with instance_lock(config.paths):
        asyncio.run(run_daemon(config))

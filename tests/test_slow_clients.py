"""Slow and idle clients (issue #14, item 7; SECURITY.md rule 14): a connection that never completes its request
head is closed within the limit (slowloris), idle keep-alive connections close, and connections beyond the cap
are closed at once, so the daemon's file descriptors stay bounded.

The real `partnercrmd serve` process runs with its default limits (10 s, 10 s, 256 connections); its open
file descriptors are counted in /proc. One in-process test shortens the first-request limit to show it is
the daemon's own, apart from aiohttp's keep-alive timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from partnercrmd.config import DaemonConfig
from partnercrmd.paths import Paths
from tests.daemon_process import Daemon, open_file_descriptors, running_daemon, status_of, wait_until
from tests.in_process_daemon import daemon_in_this_loop

DEFAULT_HEAD_TIMEOUT = 10.0
DEFAULT_KEEPALIVE_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 256
SLACK = 3.0
"""How much later than its limit a connection may be seen closed (timer rounding, a busy 2-core machine)."""
SLOWLORIS_CONNECTIONS = 200
CONNECT_BATCH = 50
"""Connections opened at once, well below the listen backlog (128): a full accept queue drops the handshake's last
packet, which the kernel sends again only after 1, 3, 7 s, so the daemon would see those connections seconds later."""
FD_MARGIN = 8
"""File descriptors the daemon may open besides client connections meanwhile (a database, the log)."""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_daemon(tmp_path_factory.mktemp("slow-clients") / "partnercrmd-home") as running:
        yield running


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the daemon has closed this connection (data it sent before closing is read and dropped)."""
    try:
        while True:
            if not sock.recv(65536):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def holding(daemon: Daemon, descriptors: int) -> Callable[[], bool]:
    """Whether the daemon holds at least `descriptors` open file descriptors."""
    return lambda: open_file_descriptors(daemon.pid) >= descriptors


def serves(daemon: Daemon) -> bool:
    """Whether the daemon answers Version (while it is at its cap it closes new connections at once)."""
    try:
        return daemon.request("GET", "Version", timeout=2).status == 200
    except OSError:
        return False


def request_head(port: int) -> bytes:
    return f"GET /api/v1/Version HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()


def wait_until_all_closed(socks: list[socket.socket], limit: float, trickle: bool = False) -> float:
    """Seconds until the daemon has closed every connection (each sends one more header byte a second if
    `trickle`); AssertionError naming how many are still open after `limit` + SLACK."""
    start = time.monotonic()
    still_open = set(range(len(socks)))
    last_trickle = start
    while still_open:
        still_open = {i for i in still_open if not closed_by_peer(socks[i])}
        now = time.monotonic()
        assert now - start < limit + SLACK, f"{len(still_open)} of {len(socks)} connections still open after {limit} s"
        if trickle and now - last_trickle >= 1.0:
            last_trickle = now
            for i in still_open:
                with contextlib.suppress(OSError):  # closed meanwhile: seen on the next round
                    socks[i].send(b"X")
        time.sleep(0.1)
    return time.monotonic() - start


def test_the_limits_default_to_ten_seconds_and_256_connections(tmp_path: Path) -> None:
    config = DaemonConfig(paths=Paths.under(tmp_path))
    assert config.request_head_timeout == DEFAULT_HEAD_TIMEOUT
    assert config.keepalive_timeout == DEFAULT_KEEPALIVE_TIMEOUT
    assert config.max_connections == DEFAULT_MAX_CONNECTIONS


def test_slowloris_connections_are_closed_within_the_limit_and_their_file_descriptors_freed(daemon: Daemon) -> None:
    fds_before = open_file_descriptors(daemon.pid)
    socks: list[socket.socket] = []
    try:
        while len(socks) < SLOWLORIS_CONNECTIONS:
            batch = [connect(daemon.port) for _ in range(CONNECT_BATCH)]
            socks += batch
            for sock in batch:
                sock.send(request_head(daemon.port) + b"X-Slow: ")  # a header that never ends
            wait_until(
                holding(daemon, fds_before + len(socks)),
                timeout=5,
                what=f"the daemon holding {len(socks)} slow connections",
            )
        took = wait_until_all_closed(socks, DEFAULT_HEAD_TIMEOUT, trickle=True)
        assert took > DEFAULT_HEAD_TIMEOUT - SLACK, f"closed after {took:.1f} s: too early for a 10 s limit"
    finally:
        for sock in socks:
            sock.close()
    wait_until(
        lambda: open_file_descriptors(daemon.pid) <= fds_before + FD_MARGIN,
        timeout=5,
        what=f"the daemon's file descriptors back near {fds_before}",
    )
    assert "closed a connection from 127.0.0.1: no complete request line and headers within 10 s" in daemon.log_text()
    assert daemon.request("GET", "Version").status == 200


def test_an_idle_keep_alive_connection_is_closed_after_the_limit(daemon: Daemon) -> None:
    sock = connect(daemon.port)
    try:
        sock.setblocking(True)
        sock.sendall(request_head(daemon.port) + b"\r\n")
        response = sock.recv(65536)
        assert status_of(response) == 200, response
        assert b"Connection: close" not in response, "the daemon must keep the connection alive first"
        sock.setblocking(False)
        took = wait_until_all_closed([sock], DEFAULT_KEEPALIVE_TIMEOUT)
        assert took > DEFAULT_KEEPALIVE_TIMEOUT - SLACK, f"closed after {took:.1f} s: too early for a 10 s limit"
    finally:
        sock.close()


def test_connections_beyond_the_cap_are_closed_at_once(daemon: Daemon) -> None:
    fds_before = open_file_descriptors(daemon.pid)
    beyond = 60
    socks = [connect(daemon.port) for _ in range(DEFAULT_MAX_CONNECTIONS + beyond)]
    try:
        deadline = time.monotonic() + SLACK
        while (closed := sum(closed_by_peer(sock) for sock in socks)) < beyond and time.monotonic() < deadline:
            time.sleep(0.05)
        assert closed >= beyond, f"only {closed} of the {beyond} connections beyond the cap were closed"
        assert closed <= beyond + FD_MARGIN, f"{closed} closed: the cap is {DEFAULT_MAX_CONNECTIONS}"
        held = open_file_descriptors(daemon.pid) - fds_before
        assert held <= DEFAULT_MAX_CONNECTIONS + FD_MARGIN, f"the daemon holds {held} more file descriptors"
    finally:
        for sock in socks:
            sock.close()
    wait_until(lambda: serves(daemon), timeout=5, what="the daemon serving again")
    assert "refused a connection from 127.0.0.1: 256 connections are open already" in daemon.log_text()


def test_under_a_low_limit_on_open_files_the_cap_is_half_of_it(tmp_path: Path) -> None:
    """macOS starts programs with 256 open files at most: the cap must come before the daemon runs out."""
    open_files, cap = 160, 80
    daemon = Daemon(tmp_path / "partnercrmd-home", launcher=("prlimit", f"--nofile={open_files}:{open_files}"))
    try:
        daemon.start()
        fds_before = open_file_descriptors(daemon.pid)
        beyond = 40
        socks = [connect(daemon.port) for _ in range(cap + beyond)]
        try:
            deadline = time.monotonic() + SLACK
            while (closed := sum(closed_by_peer(sock) for sock in socks)) < beyond and time.monotonic() < deadline:
                time.sleep(0.05)
            assert beyond <= closed <= beyond + FD_MARGIN, f"{closed} of {cap + beyond} closed; the cap is {cap}"
            assert open_file_descriptors(daemon.pid) - fds_before <= cap + FD_MARGIN
        finally:
            for sock in socks:
                sock.close()
        wait_until(lambda: serves(daemon), timeout=5, what="the daemon serving again")
        assert f"at most {cap} connections at once (half the limit on open files), not 256" in daemon.log_text()
    finally:
        daemon.close()


async def test_a_new_connection_has_its_own_request_head_limit_apart_from_keep_alive(
    partnercrmd_config: DaemonConfig,
) -> None:
    partnercrmd_config.request_head_timeout = 1.0
    partnercrmd_config.keepalive_timeout = 30.0  # aiohttp's own timer cannot be what closes the slow one
    async with daemon_in_this_loop(partnercrmd_config):
        port = partnercrmd_config.port
        opened = time.monotonic()
        silent_reader, silent = await asyncio.open_connection("127.0.0.1", port)
        slow_reader, slow = await asyncio.open_connection("127.0.0.1", port)
        slow.write(request_head(port))
        served_reader, served = await asyncio.open_connection("127.0.0.1", port)
        served.write(request_head(port) + b"\r\n")
        head = await served_reader.readuntil(b"\r\n\r\n")
        assert status_of(head) == 200, head
        length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:])
        await served_reader.readexactly(length)

        assert await asyncio.wait_for(silent_reader.read(), 1.0 + SLACK) == b""
        assert await asyncio.wait_for(slow_reader.read(), SLACK) == b""
        assert 0.8 < time.monotonic() - opened < 1.0 + SLACK
        await asyncio.sleep(1.0)
        assert not served_reader.at_eof(), "a connection that sent a request is kept alive (30 s)"
        for writer in (silent, slow, served):
            writer.close()

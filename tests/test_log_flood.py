"""The log under attack (issue #14, item 4; SECURITY.md rule 14): rejected and malformed requests cost at most
one line each and are summarised under a flood, tracebacks of unexpected errors are bounded, and the start-up
record (version, add-ins, listening address) survives any flood and every log rotation.

The flood runs against a real `partnercrmd serve` process over raw sockets; rotation and unexpected errors run
in process (a small log file; a route that fails the way a bug would), and are read back from the log files.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from partnercrmd import __version__
from partnercrmd.config import DaemonConfig
from partnercrmd.logging_setup import (
    LOG_BACKUP_COUNT,
    LOG_FILE_NAME,
    LOG_MAX_BYTES,
    REQUEST_LOG_LIMITER,
    setup_logging,
)
from partnercrmd.redact import LOG_REDACTOR
from partnercrmd.testing import AiohttpClient
from tests.daemon_process import (
    Daemon,
    log_files_size,
    raw_exchange,
    running_daemon,
    status_of,
    wait_until,
)
from tests.in_process_daemon import daemon_in_this_loop

FLOOD_REQUESTS = 10_000
SENDERS = 8
LOG_GROWTH_LIMIT = 200_000
SUMMARY = re.compile(r"(\d+) similar lines suppressed in the last \d+ s \((.+)\)")


def flood_requests(port: int) -> list[tuple[str, bytes]]:
    """One of each rejected or malformed request a hostile page or program sends (each closes its connection)."""
    host = f"127.0.0.1:{port}".encode()
    return [
        ("bad Host", b"GET /api/v1/Version HTTP/1.1\r\nHost: evil.example:%d\r\nConnection: close\r\n\r\n" % port),
        (
            "foreign Origin",
            b"POST /api/v1/Search HTTP/1.1\r\nHost: " + host + b"\r\nOrigin: https://evil.example\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n",
        ),
        ("16 KB URL", b"GET /api/v1/" + b"A" * 16_384 + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"),
        ("bad HTTP line", b"GET /api/v1/Version HTTP/1.1 and more\r\nHost: " + host + b"\r\n\r\n"),
        ("bad header", b"GET /api/v1/Version HTTP/1.1\r\nHost: " + host + b"\r\nBad Header\x01: x\r\n\r\n"),
        (
            "oversize header",
            b"GET /api/v1/Version HTTP/1.1\r\nHost: " + host + b"\r\nX-Big: " + b"B" * 9000 + b"\r\n\r\n",
        ),
        (
            "too many headers",
            b"GET /api/v1/Version HTTP/1.1\r\nHost: " + host + b"\r\n" + b"X-H: h\r\n" * 300 + b"\r\n",
        ),
    ]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    with running_daemon(tmp_path / "partnercrmd-home") as running:
        yield running


def startup_lines(daemon: Daemon) -> list[str]:
    """The start-up record's lines in the current log file (their messages)."""
    return [line.split(": ", 1)[1] for line in daemon.log_text().splitlines() if " partnercrmd.startup: " in line]


def log_since(daemon: Daemon, offset: int) -> str:
    """What the daemon wrote to its current log file after `offset` bytes."""
    with open(daemon.log_file, "rb") as log_file:
        log_file.seek(offset)
        return log_file.read().decode("utf-8", errors="replace")


def assert_startup_record(lines: list[str], port: int) -> None:
    assert any(line.startswith(f"partnercrmd {__version__} started (pid ") for line in lines), lines
    assert any(line.startswith("add-ins: ") and "local (partnercrmd " in line for line in lines), lines
    assert any(line.startswith(f"listening on http://127.0.0.1:{port}/api/v1/") for line in lines), lines


def test_ten_thousand_rejected_and_malformed_requests_grow_the_log_by_under_200_kb(daemon: Daemon) -> None:
    assert_startup_record(startup_lines(daemon), daemon.port)
    log_before, output_before = log_files_size(daemon), len(daemon.output())
    log_offset = daemon.log_file.stat().st_size
    kinds = flood_requests(daemon.port)
    plan = list(itertools.islice(itertools.cycle(kinds), FLOOD_REQUESTS))

    with ThreadPoolExecutor(max_workers=SENDERS) as senders:
        answers = list(senders.map(lambda request: (request[0], raw_exchange(daemon.port, request[1])), plan))

    statuses = {(kind, status_of(answer)) for kind, answer in answers}
    assert {status for kind, status in statuses if kind in ("bad Host", "foreign Origin")} == {403}, statuses
    assert {status for _, status in statuses} <= {400, 403, 431, None}, statuses
    assert sum(status_of(answer) == 400 for _, answer in answers) > FLOOD_REQUESTS // 2, "the flood must be parsed"

    # the flood has stopped: the summary of its last window still comes (the daemon flushes it every second),
    # and then every malformed request is accounted for, by its own line or in a summary
    malformed = sum(kind not in ("bad Host", "foreign Origin") for kind, _ in plan)

    def accounted() -> tuple[int, int] | None:
        new_text = log_since(daemon, log_offset)
        suppressed = sum(int(count) for count, kind in SUMMARY.findall(new_text) if kind == "malformed requests")
        written = new_text.count(" aiohttp.server: Error handling request from 127.0.0.1: ")
        return (written, suppressed) if written + suppressed == malformed else None

    written, _ = wait_until(accounted, timeout=15, what=f"{malformed} malformed requests in the log")
    assert written <= 50, f"{written} lines for a flood of {malformed}: the limiter lets too many through"
    growth = log_files_size(daemon) - log_before
    new_text = log_since(daemon, log_offset)
    assert growth < LOG_GROWTH_LIMIT, f"the log grew by {growth} bytes:\n{new_text[-3000:]}"
    assert "Traceback" not in new_text, new_text[-3000:]
    assert len(daemon.output()) - output_before < LOG_GROWTH_LIMIT, "the console got the flood"
    assert all(len(line) < 600 for line in new_text.splitlines()), "a rejected request is one short line"
    assert_startup_record(startup_lines(daemon), daemon.port)
    assert daemon.request("GET", "Version").status == 200


# --- in process: rotation and unexpected errors -----------------------------------------------------------


@pytest.fixture
def daemon_logging() -> Iterator[Callable[..., list[logging.Handler]]]:
    """`setup_logging` for one test; its handlers are removed and closed after it, the root level restored."""
    root = logging.getLogger()
    level = root.level
    installed: list[logging.Handler] = []

    def set_up(
        config: DaemonConfig, max_bytes: int = LOG_MAX_BYTES, backup_count: int = LOG_BACKUP_COUNT
    ) -> list[logging.Handler]:
        config.paths.ensure()
        installed.extend(setup_logging(config.paths, max_bytes=max_bytes, backup_count=backup_count))
        return installed

    yield set_up
    for handler in installed:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    REQUEST_LOG_LIMITER.reset()


async def test_every_log_file_begins_with_the_start_up_record_after_a_rollover(
    partnercrmd_config: DaemonConfig, daemon_logging: Callable[..., list[logging.Handler]]
) -> None:
    daemon_logging(partnercrmd_config, max_bytes=8_000, backup_count=3)
    async with daemon_in_this_loop(partnercrmd_config):
        chatter = logging.getLogger("partnercrmd.test_chatter")
        for number in range(500):  # about 60 KB: the first file and more are rotated away
            chatter.info("line %d of other work %s", number, "x" * 80)

    log_dir = partnercrmd_config.paths.log_dir
    files = [log_dir / LOG_FILE_NAME, *(log_dir / f"{LOG_FILE_NAME}.{n}" for n in (1, 2, 3))]
    for path in files:
        head = [line.split(": ", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()[:4]]
        assert head[0] == "log rotated; start-up record:", (path, head)
        assert_startup_record(head[1:], partnercrmd_config.port)
    assert "line 499 of other work" in files[0].read_text(encoding="utf-8")


async def test_unexpected_errors_keep_a_few_tracebacks_then_one_line_each_then_a_summary(
    partnercrmd_config: DaemonConfig,
    partnercrmd_app: web.Application,
    aiohttp_client: AiohttpClient,
    daemon_logging: Callable[..., list[logging.Handler]],
) -> None:
    async def failing_like_a_bug(request: web.Request) -> web.Response:
        raise KeyError("a bug in a route")

    partnercrmd_app.router.add_get("/failing/{tail:[^/]*}", failing_like_a_bug)
    daemon_logging(partnercrmd_config)
    client: TestClient[web.Request, web.Application] = await aiohttp_client(partnercrmd_app)

    for _ in range(40):
        # %0A: a path that decodes to two lines must not forge a second log line
        response = await client.get("/failing/x%0A2099-01-01 00:00:00,000 INFO forged: line" + "y" * 5000)
        assert response.status == 500
        assert (await response.json())["Code"] == "internal_error"
    REQUEST_LOG_LIMITER.flush(all_windows=True)  # as the daemon does every second, and when it stops

    text = (partnercrmd_config.paths.log_dir / LOG_FILE_NAME).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if "unexpected error on GET /failing/" in line]
    assert len(lines) == REQUEST_LOG_LIMITER.burst, text
    assert text.count("Traceback (most recent call last)") == REQUEST_LOG_LIMITER.tracebacks, text
    assert all("KeyError" in line for line in lines[REQUEST_LOG_LIMITER.tracebacks :]), lines
    assert all(len(line) < 600 for line in lines), "the 5 KB path is cut short"
    assert not any(line.startswith("2099-01-01") for line in text.splitlines()), "a forged line got in"
    summaries = SUMMARY.findall(text)
    assert summaries == [(str(40 - REQUEST_LOG_LIMITER.burst), "unexpected errors on requests")], text


async def test_a_secret_in_a_long_request_line_is_masked_before_the_line_is_shortened(
    partnercrmd_config: DaemonConfig,
    partnercrmd_app: web.Application,
    aiohttp_client: AiohttpClient,
    daemon_logging: Callable[..., list[logging.Handler]],
) -> None:
    secret = "bcrm_pat_" + "S" * 40
    LOG_REDACTOR.set_secrets("test-book", [secret])

    async def failing_like_a_bug(request: web.Request) -> web.Response:
        raise KeyError("a bug in a route")

    partnercrmd_app.router.add_get("/failing/{tail:[^/]*}", failing_like_a_bug)
    for handler in daemon_logging(partnercrmd_config):
        assert handler.filters[:2] == [LOG_REDACTOR, REQUEST_LOG_LIMITER], handler.filters
    client: TestClient[web.Request, web.Application] = await aiohttp_client(partnercrmd_app)
    try:
        # the secret straddles the point where the line is cut: masking first leaves no piece of it
        response = await client.get("/failing/" + "p" * 250 + secret)
        assert response.status == 500
    finally:
        LOG_REDACTOR.forget("test-book")
    text = (partnercrmd_config.paths.log_dir / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "unexpected error on GET /failing/ppp" in text
    assert "bcrm_pat_SSSS" not in text and "SSSSSSSSSS" not in text, text

"""The daemon's log: its file and console, the start-up record that survives rotation, and flood control.

SECURITY.md rule 14 lives here, in one place every log record passes through:

- a record about one client request or connection (aiohttp's parser errors, an unexpected error on a request,
  a connection the daemon closed or refused) is written as one line without traceback, and only the first
  `burst` such lines of a kind per `window` seconds; the rest are counted into one summary line;
- tracebacks of unexpected errors (real bugs) are kept, but only the first few in a while;
- the start-up record (version, add-ins, listening address) is written again at the top of every new log file
  after a rollover, so no flood can rotate it away;
- every handler carries `redact.LOG_REDACTOR`, so no registered secret reaches the file or the console.
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from aiohttp.http_exceptions import HttpProcessingError

from .branded_text import brand
from .paths import Paths
from .redact import LOG_REDACTOR

if TYPE_CHECKING:
    from .branding import Branding

LOG_FILE_NAME = "partnercrmd.log"
LOG_MAX_BYTES = 2_000_000
LOG_BACKUP_COUNT = 3
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONSOLE_FORMAT = "partnercrmd: %(levelname)s %(message)s"

log = logging.getLogger(__name__)
startup_log = logging.getLogger("partnercrmd.startup")

# --- marking records --------------------------------------------------------------------------------------

REQUEST_RECORD: Final = "partnercrmd_request"
"""Attribute (set through `extra=`) that marks a record about one client request or connection; value: its kind."""

MALFORMED = "malformed"
"""Kind: a request aiohttp could not parse (bad request line, 16 KB URL, oversize or too many headers)."""
FAILED = "failed"
"""Kind: a request that failed with an unexpected error (a bug: its traceback is worth keeping, a few times)."""
CONNECTION = "connection"
"""Kind: a connection closed or refused by the daemon's limits, or anything else aiohttp's server logs."""

KIND_DESCRIPTIONS: Final[Mapping[str, str]] = {
    MALFORMED: "malformed requests",
    FAILED: "unexpected errors on requests",
    CONNECTION: "closed or refused connections",
}

UNEXPECTED_REQUEST_ERROR: Final[Mapping[str, object]] = {REQUEST_RECORD: FAILED}
"""`extra=` of the record logged when a request fails with an unexpected error (api/middleware.py)."""
CONNECTION_LIMITED: Final[Mapping[str, object]] = {REQUEST_RECORD: CONNECTION}
"""`extra=` of a record about a connection the daemon closed or refused (connection_limits.py)."""

AIOHTTP_SERVER_LOGGERS: Final = frozenset(
    {"aiohttp.server", "aiohttp.web", "aiohttp.access", "aiohttp.internal", "aiohttp.websocket"}
)
"""aiohttp's loggers of the serving side: whatever they log is caused by a client (never `aiohttp.client`)."""

STARTUP_RECORD: Final = "partnercrmd_startup_line"
"""Attribute that marks a line of the start-up record; value: its index (0 starts a new record)."""

_VERDICT: Final = "partnercrmd_flood_verdict"
"""Where the limiter keeps its decision on a record, so that every handler writes or drops it alike."""

MAX_MESSAGE = 300
"""Longest message of a request record, in characters (a 16 KB URL must not become a 16 KB line)."""
MAX_ERROR = 200
"""Longest error text added to a request record's message in place of its traceback."""


def request_record_kind(record: logging.LogRecord) -> str | None:
    """The kind of a record about a client request or connection (MALFORMED, FAILED, CONNECTION), else None."""
    marked = getattr(record, REQUEST_RECORD, None)
    if isinstance(marked, str) and marked in KIND_DESCRIPTIONS:
        return marked
    if record.name not in AIOHTTP_SERVER_LOGGERS:
        return None
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, HttpProcessingError):
        return MALFORMED
    return FAILED if error is not None else CONNECTION


def printable(text: str) -> str:
    """`text` on one line: control characters escaped (a path with %0A cannot forge a log line)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def make_one_line(record: logging.LogRecord, keep_traceback: bool) -> None:
    """Rewrite `record` in place as one short line; the error's type and text join the message when its
    traceback is dropped. Parser errors are the client's fault: they become warnings."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001  (a broken format string must still give one line)
        message = str(record.msg)
    message = shortened(printable(message), MAX_MESSAGE)
    error = record.exc_info[1] if record.exc_info else None
    if error is not None and not keep_traceback:
        message += ": " + shortened(printable(f"{type(error).__name__}: {' '.join(str(error).split())}"), MAX_ERROR)
    record.msg, record.args = message, ()
    if not keep_traceback:
        record.exc_info, record.exc_text, record.stack_info = None, None, None
    if isinstance(error, HttpProcessingError) and record.levelno > logging.WARNING:
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)


# --- flood control ----------------------------------------------------------------------------------------


@dataclass
class _Window:
    """The lines of one kind written and suppressed since `started`."""

    started: float
    written: int = 0
    suppressed: int = 0


@dataclass(frozen=True)
class Summary:
    """What one summary line says: `count` lines of `kind` suppressed over `seconds`."""

    kind: str
    count: int
    seconds: float


class RequestLogLimiter(logging.Filter):
    """Lets through at most `burst` request records of each kind per `window` seconds, each as one line.

    Attached to every handler; the decision is kept on the record, so a record counts once however many
    handlers see it. Suppressed records are counted and reported by one summary line when their window
    ends: on the next request record, or on `flush()` (the daemon calls it every second, so a summary
    comes even when the flood stops). Of FAILED records, `tracebacks` per `traceback_window` seconds keep
    their traceback.
    """

    def __init__(
        self,
        *,
        window: float = 10.0,
        burst: int = 5,
        tracebacks: int = 3,
        traceback_window: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.window = window
        self.burst = burst
        self.tracebacks = tracebacks
        self.traceback_window = traceback_window
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._traceback_times: deque[float] = deque()

    def reset(self) -> None:
        """Forget every window and traceback (a new log set-up)."""
        with self._lock:
            self._windows.clear()
            self._traceback_times.clear()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = request_record_kind(record)
        if kind is None:
            return True
        verdict = getattr(record, _VERDICT, None)
        if verdict is None:
            verdict = self._decide(kind, record)
            setattr(record, _VERDICT, verdict)
        return bool(verdict)

    def flush(self, *, all_windows: bool = False) -> list[Summary]:
        """Write the summary of every window that has ended (every window: `all_windows`, when the daemon
        stops) with lines suppressed; the summaries written."""
        with self._lock:
            summaries = self._close_ended_windows(self.clock(), all_windows)
        write_summaries(summaries)
        return summaries

    def _decide(self, kind: str, record: logging.LogRecord) -> bool:
        with self._lock:
            now = self.clock()
            summaries = self._close_ended_windows(now)
            window = self._windows.setdefault(kind, _Window(started=now))
            write = window.written < self.burst
            keep_traceback = False
            if write:
                window.written += 1
                keep_traceback = kind == FAILED and record.exc_info is not None and self._take_traceback(now)
            else:
                window.suppressed += 1
        write_summaries(summaries)  # before this record, and outside the lock: writing them logs again
        if write:
            make_one_line(record, keep_traceback)
        return write

    def _close_ended_windows(self, now: float, all_windows: bool = False) -> list[Summary]:
        summaries: list[Summary] = []
        for kind, window in list(self._windows.items()):
            if all_windows or now - window.started >= self.window:
                del self._windows[kind]
                if window.suppressed:
                    summaries.append(Summary(kind, window.suppressed, now - window.started))
        return summaries

    def _take_traceback(self, now: float) -> bool:
        while self._traceback_times and now - self._traceback_times[0] >= self.traceback_window:
            self._traceback_times.popleft()
        if len(self._traceback_times) >= self.tracebacks:
            return False
        self._traceback_times.append(now)
        return True


def write_summaries(summaries: Iterable[Summary]) -> None:
    for summary in summaries:
        log.warning(
            "%d similar lines suppressed in the last %.0f s (%s)",
            summary.count,
            summary.seconds,
            KIND_DESCRIPTIONS[summary.kind],
        )


REQUEST_LOG_LIMITER = RequestLogLimiter()
"""The one flood limiter every log handler carries (see `RequestLogLimiter`)."""


async def flush_request_log_summaries(interval: float = 1.0) -> None:
    """Write pending summary lines every `interval` seconds, until cancelled (a task of the running daemon)."""
    while True:
        await asyncio.sleep(interval)
        REQUEST_LOG_LIMITER.flush()


# --- the start-up record ----------------------------------------------------------------------------------


def log_startup_record(lines: Iterable[str]) -> None:
    """Log the start-up record, one INFO line each; log files write it again after every rollover."""
    for index, line in enumerate(lines):
        startup_log.info("%s", line, extra={STARTUP_RECORD: index})


class StartupKeepingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file; every new file after a rollover begins with the daemon's start-up record."""

    def __init__(self, path: Path, max_bytes: int = LOG_MAX_BYTES, backup_count: int = LOG_BACKUP_COUNT) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        self.startup_lines: list[str] = []
        """The start-up record as written (formatted, redacted), in order."""

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        index = getattr(record, STARTUP_RECORD, None)
        if isinstance(index, int):
            if index == 0:
                self.startup_lines.clear()
            self.startup_lines.append(self.format(record))

    def doRollover(self) -> None:
        super().doRollover()
        if not self.startup_lines:
            return
        if self.stream is None:
            self.stream = self._open()
        notice = logging.makeLogRecord(
            {"name": log.name, "levelno": logging.INFO, "levelname": "INFO", "msg": "log rotated; start-up record:"}
        )
        self.stream.write(self.format(notice) + self.terminator)
        for line in self.startup_lines:
            self.stream.write(line + self.terminator)
        self.flush()


# --- set-up -----------------------------------------------------------------------------------------------


class BrandedFormatter(logging.Formatter):
    """Log lines that name the partner's product where they name the product (module names stay)."""

    def __init__(self, fmt: str, branding: Branding | None) -> None:
        super().__init__(fmt)
        self.branding = branding

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return line if self.branding is None else brand(self.branding, line)


def setup_logging(
    paths: Paths,
    verbose: bool = False,
    *,
    max_bytes: int = LOG_MAX_BYTES,
    backup_count: int = LOG_BACKUP_COUNT,
    branding: Branding | None = None,
) -> list[logging.Handler]:
    """Send every log record to the rotating log file and the console, through the redactor and the flood
    limiter; called once when the daemon starts. The handlers installed on the root logger."""
    log_file = StartupKeepingFileHandler(paths.log_dir / LOG_FILE_NAME, max_bytes, backup_count)
    log_file.setFormatter(BrandedFormatter(FILE_FORMAT, branding))
    console = logging.StreamHandler()
    console.setFormatter(BrandedFormatter(CONSOLE_FORMAT, branding))
    handlers: list[logging.Handler] = [log_file, console]
    for handler in handlers:
        handler.addFilter(LOG_REDACTOR)  # first: the limiter shortens lines, and must not cut a secret in two
        handler.addFilter(REQUEST_LOG_LIMITER)
    REQUEST_LOG_LIMITER.reset()
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return handlers

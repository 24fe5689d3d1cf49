"""One refresh policy for an add-in's local index (the shape of Home Assistant's DataUpdateCoordinator).

An add-in whose backend cannot answer some searches well keeps a local index (a `PhoneIndex`, a name store)
filled from the backend. Everything around that fill is the same for every such add-in and lives here:

- when a refresh is due: never filled, or `interval` seconds after the last success;
- one refresh at a time; the index keeps answering while it runs;
- writes the add-in makes during a refresh (a contact it created or changed) are remembered and replayed
  after the fill stored its listing, which was read before them and would otherwise undo them;
- back-off after a failure: `retry_after` seconds, doubling with each failure in a row up to
  `max_retry_after`; the old index keeps answering meanwhile;
- how long a search waits for the first fill of an empty index (`first_fill_wait`) before it asks the backend;
- a `RefreshStatus` (state, last success, last error, next due, entries) for the UI, Test and diagnostics.

Two drivers share that policy (`RefreshPolicy`): `RefreshCoordinator` runs the fill as an asyncio task, for
add-ins on the event loop; `ThreadRefreshCoordinator` runs it in a thread, for a `BlockingConnector`. The add-in
keeps only its fill (read the backend, store the result) and what it writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import AddinError, PartnerError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
F = TypeVar("F")

Clock = Callable[[], float]
"""Seconds since the epoch (`time.time`); tests pass their own."""

EMPTY = "empty"
"""Never filled, and no fill running."""
REFRESHING = "refreshing"
"""A fill is running (the index, if filled before, keeps answering)."""
READY = "ready"
"""The last fill worked."""
FAILED = "failed"
"""The last fill failed; the next one waits for the back-off (an index filled before keeps answering)."""


@dataclass(frozen=True)
class RefreshStatus:
    """Where a local index stands, as the UI, Test connection and diagnostics show it."""

    state: str
    """`empty`, `refreshing`, `ready` or `failed`."""
    last_success: float | None
    """When the last fill that worked ended (epoch seconds), None if never."""
    last_error: str
    """Why the last fill failed ("" after one that worked)."""
    last_error_code: str
    """The stable error key of the last failure (`cannot_connect`, `timeout`…; "" after a fill that worked)."""
    next_due: float | None
    """When the next refresh is due (epoch seconds; in the past: at the next search); None while one runs."""
    entries: int | None
    """What the last fill stored (numbers, cards…, as the add-in counts them); None if not known."""
    failures: int
    """Failed fills in a row (0 after one that worked)."""

    def as_dict(self) -> dict[str, Any]:
        """The status as JSON-ready values (times as ISO 8601 UTC), for diagnostics."""
        return {
            "state": self.state,
            "last_success": _iso(self.last_success),
            "last_error": self.last_error,
            "last_error_code": self.last_error_code,
            "next_due": _iso(self.next_due),
            "entries": self.entries,
            "failures": self.failures,
        }


def _iso(moment: float | None) -> str | None:
    if moment is None or not math.isfinite(moment):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def error_text(exc: BaseException) -> tuple[str, str]:
    """(message, stable key) of a failed fill: an add-in error's own; anything else by its type and text."""
    if isinstance(exc, AddinError):
        return exc.message, exc.code
    if isinstance(exc, PartnerError):
        return exc.message, "unknown"
    return f"{type(exc).__name__}: {exc}", "unknown"


class RefreshPolicy:
    """The state both drivers share: due times, back-off, writes to replay, and the status; thread-safe.

    The drivers call `begin` when a fill starts, `record` for each write, `next_write` after the fill until
    it returns None, then `succeeded` or `failed`. Nothing here blocks or sleeps; `clock` says what time it is.
    """

    def __init__(
        self,
        interval: float | Callable[[], float],
        *,
        retry_after: float = 60.0,
        max_retry_after: float | None = None,
        last_success: float | None = None,
        due_also: Callable[[], bool] | None = None,
        clock: Clock = time.time,
    ) -> None:
        """`interval`: seconds from a success to the next refresh (a callable: asked each time).
        `last_success`: when the index was last filled (kept in the index file), None if never.
        `due_also`: a refresh is due whenever it says so (e.g. the backend failed a search meanwhile)."""
        self._interval = interval
        self.retry_after = retry_after
        self.max_retry_after = max(retry_after, max_retry_after if max_retry_after is not None else retry_after * 16)
        self._due_also = due_also
        self.clock = clock
        self._lock = threading.Lock()
        self.last_success = last_success
        self.running = False
        self.failures = 0
        self._failed_at = -math.inf
        self.last_error = ""
        self.last_error_code = ""
        self.logged_error = ""
        self.entries: int | None = None
        self._pending: dict[Hashable, Callable[[], Any]] | None = None
        self._forced = False

    @property
    def interval(self) -> float:
        return self._interval() if callable(self._interval) else self._interval

    @property
    def filled(self) -> bool:
        """Whether a fill ever worked (the index can answer)."""
        return self.last_success is not None

    def backoff(self) -> float:
        """Seconds after the last failure before the next try: doubling with each failure in a row, capped."""
        if self.failures == 0:
            return 0.0
        return min(self.retry_after * 2.0 ** (self.failures - 1), self.max_retry_after)

    def next_due(self) -> float:
        """When the next refresh is due (epoch seconds; -inf: now)."""
        if self.failures:
            return self._failed_at + self.backoff()
        if self.last_success is None:
            return -math.inf
        return self.last_success + self.interval

    def due(self) -> bool:
        """Whether a refresh should start now (never while one runs)."""
        if self.running:
            return False
        if self._forced or self.clock() >= self.next_due():
            return True
        return self._due_also is not None and self._due_also()

    def retry_now(self) -> None:
        """Forget the back-off: the next `due` is true (Test connection fills at once; so may a user's "retry")."""
        with self._lock:
            self._forced = True

    def begin(self) -> None:
        """A fill starts: from now on writes are remembered for replay."""
        with self._lock:
            self.running = True
            self._forced = False
            self._pending = {}

    def record(self, key: Hashable, apply: Callable[[], Any]) -> None:
        """A write the add-in makes now (its caller applies it too): remembered, the latest per key, while a fill
        runs, because the fill's listing was read before it."""
        with self._lock:
            if self._pending is not None:
                self._pending.pop(key, None)  # the latest write goes last
                self._pending[key] = apply

    def next_write(self) -> Callable[[], Any] | None:
        """The oldest write made during the fill not yet replayed; None when all are (recording stops then)."""
        with self._lock:
            if not self._pending:
                self._pending = None
                return None
            key = next(iter(self._pending))
            return self._pending.pop(key)

    def succeeded(self, entries: int | None) -> None:
        with self._lock:
            self.running = False
            self._pending = None
            self.last_success = self.clock()
            self.failures = 0
            self._failed_at = -math.inf
            self.last_error = self.last_error_code = ""
            if entries is not None:
                self.entries = entries

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self.running = False
            self._pending = None
            self.failures += 1
            self._failed_at = self.clock()
            self.last_error, self.last_error_code = error_text(exc)
            # An add-in's message holds no secrets; another exception's text might (a URL with a password).
            self.logged_error = exc.message if isinstance(exc, PartnerError) else type(exc).__name__

    def ended(self) -> None:
        """A fill stopped without a result (cancelled, the book closing): nothing changes but that none runs."""
        with self._lock:
            self.running = False
            self._pending = None

    def status(self) -> RefreshStatus:
        with self._lock:
            if self.running:
                state = REFRESHING
            elif self.failures:
                state = FAILED
            elif self.last_success is None:
                state = EMPTY
            else:
                state = READY
            due = None if self.running else self.next_due()
            if due is not None and (self._forced or not math.isfinite(due)):
                due = self.clock()  # due now
            return RefreshStatus(
                state, self.last_success, self.last_error, self.last_error_code, due, self.entries, self.failures
            )


def _log_failure(name: str, policy: RefreshPolicy, logger: logging.Logger) -> None:
    # A warning once per run of failures: a server that is down for an hour is not worth a warning a minute.
    if policy.failures == 1:
        logger.warning("%s failed (retried later): %s", name, policy.logged_error)
    else:
        logger.info("%s failed again (%d in a row): %s", name, policy.failures, policy.logged_error)


def _log_success(name: str, policy: RefreshPolicy, started: float, logger: logging.Logger) -> None:
    entries = "" if policy.entries is None else f"{policy.entries} entries "
    logger.info("%s: %sin %.2f s", name, entries, time.monotonic() - started)


class _Coordinator(Generic[T, F]):
    """What both drivers share: the policy, the fill, the status, the log lines."""

    def __init__(
        self,
        fill: F,
        *,
        name: str,
        interval: float | Callable[[], float],
        retry_after: float = 60.0,
        max_retry_after: float | None = None,
        first_fill_wait: float = 1.0,
        last_success: float | None = None,
        entries: Callable[[T], int | None] | None = None,
        due_also: Callable[[], bool] | None = None,
        clock: Clock = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        """`name` starts the log lines ("Refreshing the X number index" failed…), `logger` (default: this
        module's) writes them; `first_fill_wait` is how long `ensure_fresh` waits on an empty index; the rest
        is `RefreshPolicy`'s."""
        self.name = name
        self._log = logger or log
        self.first_fill_wait = first_fill_wait
        self.policy = RefreshPolicy(
            interval,
            retry_after=retry_after,
            max_retry_after=max_retry_after,
            last_success=last_success,
            due_also=due_also,
            clock=clock,
        )
        self._fill = fill
        self._entries = entries
        self._init_driver()

    def _init_driver(self) -> None:
        """Set up the driver's own state (called at the end of `__init__`)."""

    @property
    def status(self) -> RefreshStatus:
        return self.policy.status()

    @property
    def filled(self) -> bool:
        return self.policy.filled

    def due(self) -> bool:
        return self.policy.due()

    def retry_now(self) -> None:
        """Make a refresh due now, whatever the back-off (Test connection fills at once)."""
        self.policy.retry_now()

    def _result(self, result: T, started: float) -> None:
        """Record a fill that worked and log it."""
        self.policy.succeeded(self._entries(result) if self._entries is not None else None)
        _log_success(self.name, self.policy, started, self._log)

    def _failure(self, exc: BaseException) -> None:
        self.policy.failed(exc)
        _log_failure(self.name, self.policy, self._log)


class RefreshCoordinator(_Coordinator[T, Callable[[], Awaitable[T]]]):
    """The asyncio driver: the fill is a coroutine run as one task at a time on the event loop.

    `fill` reads the backend and stores what it read, replacing the index; it returns what it stored (`entries`
    turns that into the status's count). A refresh outlives the search that started it (it is cancelled by
    `close` only).
    """

    def _init_driver(self) -> None:
        self._task: asyncio.Task[T] | None = None

    def running(self) -> asyncio.Task[T] | None:
        """The refresh running now, if any."""
        return self._task if self._task is not None and not self._task.done() else None

    def start(self) -> asyncio.Task[T]:
        """The running refresh, or a new one (due or not)."""
        task = self.running()
        if task is None:
            self.policy.begin()
            task = self._task = asyncio.create_task(self._run(), name=f"refresh {self.name}")
            task.add_done_callback(_retrieve)  # a failure is logged and kept in the status
        return task

    def start_if_due(self) -> asyncio.Task[T] | None:
        """The running refresh, or a new one when one is due; None when the index is fresh (or backing off)."""
        task = self.running()
        if task is not None:
            return task
        return self.start() if self.policy.due() else None

    async def ensure_fresh(self) -> bool:
        """Start a refresh when due; when the index was never filled, wait `first_fill_wait` for the first fill.

        Returns whether the index can answer (it has been filled). The refresh goes on in the background when
        the wait (or the caller) ends first; a failure is not raised here (the backend is asked instead).
        """
        task = self.start_if_due()
        if task is not None and not self.policy.filled:
            with contextlib.suppress(Exception):
                await self.wait(task, self.first_fill_wait)
        return self.policy.filled

    async def refresh(self) -> T:
        """Refresh now, joining one that runs; raises its failure."""
        return await asyncio.shield(self.start())

    @staticmethod
    async def wait(task: asyncio.Task[R], seconds: float) -> R | None:
        """The refresh's result if it ends within `seconds`, else None; its failure is raised here.

        The task goes on when this returns early or the caller is cancelled.
        """
        done, _ = await asyncio.wait({task}, timeout=seconds)
        return task.result() if done else None

    async def write(self, key: Hashable, apply: Callable[[], Awaitable[Any]]) -> None:
        """Apply a write the add-in made to its backend (`apply` stores it in the index) now, and again after a
        running fill has stored its older listing. `key` names what is written (a contact id): per key, only the
        latest write is replayed."""
        self.record_write(key, apply)
        await apply()

    def record_write(self, key: Hashable, apply: Callable[[], Awaitable[Any]]) -> None:
        """Keep a write the add-in applied itself (several at once, say) for replay after a running fill, as
        `write` does; per `key`, only the latest is replayed."""
        self.policy.record(key, apply)

    async def _run(self) -> T:
        started = time.monotonic()
        try:
            result = await self._fill()
            # What the add-in wrote while the backend was being read is newer than what was read.
            while (apply := self.policy.next_write()) is not None:
                await apply()
        except asyncio.CancelledError:
            self.policy.ended()
            raise
        except BaseException as exc:
            self._failure(exc)
            raise
        self._result(result, started)
        return result

    async def close(self) -> None:
        """Cancel a running refresh and wait for it to end."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


class ThreadRefreshCoordinator(_Coordinator[T, Callable[[Callable[[], bool]], T]]):
    """The thread driver: the fill is a blocking function run in one worker thread at a time.

    `fill(stopping)` reads the backend and stores what it read; it should look at `stopping()` between pages and
    return early when it is true (the book is closing: whatever it returns then is ignored). Every method is
    thread-safe; `ensure_fresh` and `refresh` block, so call them where blocking is allowed (a
    `BlockingConnector`'s methods run in worker threads).
    """

    def _init_driver(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._finished = threading.Event()
        self._finished.set()
        self._stop = threading.Event()
        self._outcome: tuple[T] | BaseException | None = None

    def stopping(self) -> bool:
        """Whether the coordinator is closing (a fill should stop after its current page)."""
        return self._stop.is_set()

    def due(self) -> bool:
        return self.policy.due()

    def is_running(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    def start(self) -> threading.Thread:
        """The running fill's thread, or a new one (due or not)."""
        with self._lock:
            return self._start()

    def _start(self) -> threading.Thread:
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._finished.clear()
        self.policy.begin()
        self._thread = threading.Thread(target=self._run, name=f"refresh {self.name}", daemon=True)
        self._thread.start()
        return self._thread

    def start_if_due(self) -> bool:
        """Start a fill when one is due; whether one runs now."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return True
            if self._stop.is_set() or not self.policy.due():
                return False
            self._start()
            return True

    def ensure_fresh(self) -> bool:
        """Start a fill when due; when the index was never filled, wait `first_fill_wait` for it (blocking).

        Returns whether the index can answer; the fill goes on in the background when the wait ends first.
        """
        if self.start_if_due() and not self.policy.filled:
            self._finished.wait(self.first_fill_wait)
        return self.policy.filled

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a running fill to end (blocking); whether none runs any more."""
        return self._finished.wait(timeout)

    def refresh(self) -> T:
        """Fill now, joining a fill that runs (blocking); raises its failure."""
        if self._stop.is_set():
            raise AddinError("The book is closing: its index is not filled any more.", code="unknown")
        thread = self.start()
        thread.join()
        with self._lock:
            outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is None:
            raise AddinError("The refresh was stopped: the book is closing.", code="unknown")
        return outcome[0]

    def write(self, key: Hashable, apply: Callable[[], Any]) -> None:
        """Apply a write the add-in made (`apply` stores it in the index) now, and again after a running fill has
        stored its older listing; per `key`, only the latest is replayed (blocking: `apply` runs here)."""
        self.policy.record(key, apply)
        apply()

    def _run(self) -> None:
        """The fill thread: never raises (a failure is logged and kept in the status)."""
        outcome: tuple[T] | BaseException | None = None
        started = time.monotonic()
        try:
            result = self._fill(self._stop.is_set)
            if self._stop.is_set():
                self.policy.ended()
                return
            while (apply := self.policy.next_write()) is not None:
                apply()
            self._result(result, started)
            outcome = (result,)
        except Exception as exc:  # noqa: BLE001  (a fill thread must never die unseen: logged, retried later)
            if self._stop.is_set():
                self.policy.ended()
                return
            self._failure(exc)
            outcome = exc
        finally:
            with self._lock:
                self._outcome = outcome
            self._finished.set()

    def close(self, timeout: float) -> None:
        """Ask a running fill to stop and wait up to `timeout` seconds for it (blocking)."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

"""Clipboard dialling: a thread polls the CLIPBOARD selection and offers the numbers in each new copy.

Reads go through pyperclip (xclip or xsel on X11, wl-clipboard on Wayland) from a
thread of their own, every `POLL_INTERVAL` seconds while `config.clipboard_dialling`
is on. A change is noticed by comparing a keyed hash of the content; the text
itself is never logged or kept, and content over `MAX_CLIPBOARD_BYTES` is ignored.
A change that holds numbers becomes a `DialOffer` (Source Clipboard), sent from
the event loop. Switching the setting on never offers what is already on the
clipboard, only later copies. A missing helper is found at start and shown in
`clipboard_status(app)` and the log, once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import pyperclip

from ..platform.clipboard import ClipboardHelper as ClipboardHelper  # re-exported: the dialling API
from ..platform.clipboard import find_clipboard_helper as find_clipboard_helper
from .detect import FoundNumber, find_numbers

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
"""Seconds between two reads of the clipboard (one read through xclip costs a few ms)."""
MAX_CLIPBOARD_BYTES = 10 * 1024
"""Larger content (a document, a log) is not searched for numbers."""
STOP_TIMEOUT = 5.0

Reader = Callable[[], str]


class ClipboardState(StrEnum):
    OFF = "off"
    """The setting is off: the clipboard is not read."""
    WATCHING = "watching"
    """On, and reading: later copies with numbers are offered."""
    UNAVAILABLE = "unavailable"
    """No way to read the clipboard (no display, no helper): `message` says what to install."""
    FAILING = "failing"
    """Reads fail (e.g. the display went away): `message` says so; reading goes on."""


@dataclass(frozen=True)
class ClipboardStatus:
    """What the configuration window shows about clipboard dialling. Holds no clipboard content."""

    state: ClipboardState
    message: str
    """For people: what is wrong and what to do; empty when all is well."""
    helper: str
    """The tool that reads the clipboard (xclip, xsel, wl-clipboard, …); empty when there is none."""
    changes: int = 0
    """Clipboard changes looked at since the daemon started (a counter, for diagnostics and tests)."""

    @property
    def available(self) -> bool:
        return self.state is not ClipboardState.UNAVAILABLE

    def as_dict(self) -> dict[str, object]:
        return {
            "State": str(self.state),
            "Available": self.available,
            "Message": self.message,
            "Helper": self.helper,
            "Changes": self.changes,
        }


def pyperclip_reader(helper: ClipboardHelper) -> Reader | None:
    """pyperclip's paste function for this session, or None when pyperclip finds no clipboard either."""
    if not helper.name:
        return None
    _, paste = pyperclip.determine_clipboard()
    return paste if paste else None  # pyperclip's "no clipboard" stand-in is falsy


class ClipboardMonitor:
    """Polls the clipboard from its own thread; hands the numbers of each new copy to `deliver` (in that thread)."""

    def __init__(
        self,
        enabled: Callable[[], bool],
        region: Callable[[], str | None],
        deliver: Callable[[list[FoundNumber]], None],
        *,
        environ: Mapping[str, str] | None = None,
        interval: float = POLL_INTERVAL,
        open_reader: Callable[[ClipboardHelper], Reader | None] = pyperclip_reader,
    ) -> None:
        self._enabled = enabled
        self._region = region
        self._deliver = deliver
        self._environ = environ
        self.interval = interval
        self._open_reader = open_reader
        self._read: Reader | None = None
        self._key = secrets.token_bytes(16)  # a keyed hash: the digest we keep says nothing about the content
        self._last: bytes | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on = False
        """Whether the setting was on at the last look (to notice it being switched on)."""
        self.status = ClipboardStatus(ClipboardState.OFF, "", "")

    # --- lifecycle (blocking: call from a worker thread) ---

    def start(self) -> None:
        """Find the helper, take the first reading if the setting is on, then poll in a thread."""
        self._on = self._enabled()
        self._detect(logging.WARNING if self._on else logging.INFO)
        self._tick()
        self._thread = threading.Thread(target=self._run, name="clipboard-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():  # a read through the helper hangs; the daemon thread ends with the process
            log.warning("the clipboard monitor did not stop within %g s (a clipboard read hangs)", STOP_TIMEOUT)

    # --- the thread ---

    def _run(self) -> None:
        failed = False
        while not self._stop.wait(self.interval):
            try:
                self._tick()
                failed = False
            except Exception as exc:  # noqa: BLE001  (never let the monitor die; no traceback: it may quote the text)
                if not failed:
                    log.error("the clipboard monitor failed (%s); it goes on", type(exc).__name__)
                failed = True

    def _tick(self) -> None:
        enabled = self._enabled()
        switched_on, self._on = enabled and not self._on, enabled
        if not enabled:
            self._last = None  # nothing remembered while off: switching on starts afresh
            if self._read is not None:
                self._set(ClipboardState.OFF)
            return
        if switched_on and self._read is None:
            self._detect(logging.WARNING)  # unavailable: look again each time the user switches it on
        if self._read is None:
            return
        try:
            text = self._read()
        except Exception as exc:  # noqa: BLE001  (any helper failure: reported once, reading goes on)
            if self.status.state is not ClipboardState.FAILING:
                log.warning("could not read the clipboard (%s); clipboard dialling waits", type(exc).__name__)
                self._set(ClipboardState.FAILING, f"Reading the clipboard with {self.status.helper} fails.")
            return
        if self.status.state is ClipboardState.FAILING:
            log.info("reading the clipboard works again")
        data = text.encode("utf-8", "replace")
        del text
        digest = hashlib.blake2b(data, digest_size=16, key=self._key).digest()
        self._set(ClipboardState.WATCHING)
        if self._last is None:
            self._last = digest  # what was there when switched on is not offered
            return
        if digest == self._last:
            return
        self._last = digest
        self.status = replace(self.status, changes=self.status.changes + 1)
        if len(data) > MAX_CLIPBOARD_BYTES:
            log.debug("clipboard change of %d bytes ignored (over %d)", len(data), MAX_CLIPBOARD_BYTES)
            return
        numbers = find_numbers(data.decode("utf-8", "replace"), self._region())
        log.debug("clipboard change with %d numbers", len(numbers))
        if numbers:
            self._deliver(numbers)

    # --- helpers ---

    def _detect(self, level: int) -> None:
        """Look for a way to read the clipboard; an unavailable one is logged once per look, at `level`."""
        environ = os.environ if self._environ is None else self._environ
        helper = find_clipboard_helper(environ)
        self._read = self._open_reader(helper)
        if self._read is None:
            problem = helper.problem or "pyperclip finds no way to read the clipboard in this session."
            self.status = ClipboardStatus(ClipboardState.UNAVAILABLE, problem, helper.name, self.status.changes)
            log.log(level, "clipboard dialling is unavailable: %s", problem)
        else:
            self.status = ClipboardStatus(ClipboardState.OFF, "", helper.name, self.status.changes)
            log.debug("clipboard dialling reads the clipboard with %s", helper.name)

    def _set(self, state: ClipboardState, message: str = "") -> None:
        if state is not self.status.state or message != self.status.message:
            self.status = replace(self.status, state=state, message=message)


# --- the daemon's side ----------------------------------------------------------------------------------

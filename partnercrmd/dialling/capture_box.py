"""The capture box: while Ctrl+Shift is held, what is read is framed on screen, then the numbers found are
listed as buttons beside it; clicking one asks the phone client to dial it (`MakeCallRequest`, Source ScreenRead).

The hotkeys (hotkeys.py) drive it: the chord starts the window program (`prepare`), the screen read frames its
rectangle the moment the pixels are taken (`captured`, so the frame itself is never read), the numbers read
are listed (`show`), releasing Ctrl+Shift lets a pointer moving away close it (`released`) and Escape closes it
(`escape`, seen by the same keyboard listener as the chord). The window closes itself after a click, when the
pointer moves away, or after a while (capture_window.py).

The window never takes focus from the user's window: it is override-redirect (X11), so Escape never reaches
it; while it is up the daemon holds Escape away from the focused window with a passive grab
(platform.key_grab), so that Escape only closes the box.

The window program runs in a process of its own (Tk's event loop must not share the daemon's), fed over
its standard input and answering on its standard output (capture_window.py has the messages). It answers a
click with the button's index only: the daemon keeps the numbers it listed and dials only one of those.
Whatever happens to the window (no Tk, no display, the partner's phone client draws the box, the user
switched it off), the `DialOffer` of the read is sent as before: the box is drawn in addition to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import DaemonConfig
from ..errors import PartnerError
from ..platform.key_grab import KeyGrab, grab_escape
from ..surfaces import Surface, daemon_draws
from .rules import DialTarget
from .screen import Box
from .service import DialService, DialSource

log = logging.getLogger(__name__)

WINDOW_PROGRAM = "partnercrmd.dialling.capture_window"
START_TIMEOUT = 10.0
"""Seconds the window program has to start Tk and say it is ready."""
STOP_TIMEOUT = 5.0
RETRY_AFTER = 60.0
"""Seconds before a window program that failed to start is tried again."""
STDERR_KEPT = 2000
"""Characters of the window program's error output kept to say why it failed."""


class CaptureBoxUnavailable(PartnerError):
    """The capture box's window cannot be shown here (no Tk, no display)."""

    code = "capture_box_unavailable"


def window_command() -> list[str]:
    """The command that runs the window program with this Python."""
    return [sys.executable, "-m", WINDOW_PROGRAM]


@dataclass(frozen=True)
class Shown:
    """What the window reported it shows: the panel and its number buttons, in screen pixels."""

    read_id: int
    panel: Box
    buttons: tuple[Box, ...]


def _box(value: Any) -> Box:
    if not (isinstance(value, list) and len(value) == 4 and all(type(v) is int for v in value)):
        raise ValueError("a rectangle is four integers")
    return Box(*value)


class WindowProcess:
    """The running window program: messages to its standard input, events from its standard output."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.errors = ""
        """The end of what it wrote on its standard error (never numbers: it writes none there)."""
        self._stderr_task = asyncio.create_task(self._collect_errors())

    @classmethod
    async def start(cls, command: Sequence[str]) -> WindowProcess:
        """Run the window program and wait until Tk is up; CaptureBoxUnavailable says why it is not."""
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console window flashes up
            )
        except OSError as exc:
            raise CaptureBoxUnavailable(f"The capture box's window program could not start ({exc}).") from None
        window = cls(process)
        try:
            async with asyncio.timeout(START_TIMEOUT):
                event = await window.next_event()
        except TimeoutError:
            event = None
        except BaseException:  # cancelled (the daemon stops): no window program is left behind
            await window.stop()
            raise
        if event != {"event": "ready"}:
            await window.stop()
            reason = window.errors.strip().splitlines()[-1:] or ["it did not start in time"]
            raise CaptureBoxUnavailable(f"The capture box cannot be shown: {reason[0]}")
        return window

    async def _collect_errors(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.errors = (self.errors + line.decode(errors="replace"))[-STDERR_KEPT:]

    async def next_event(self) -> dict[str, Any] | None:
        """The window's next event; None when it has ended. A line that is not an event is skipped."""
        assert self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                return None
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict) and isinstance(event.get("event"), str):
                return event
            log.warning("the capture box's window sent something that is not an event")

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def send(self, message: dict[str, Any]) -> None:
        """One message to the window (buffered: small writes never wait for the window)."""
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing() or not self.running:
            return
        stdin.write(json.dumps(message).encode() + b"\n")

    async def stop(self) -> None:
        """End the window program: end of its input, then kill after STOP_TIMEOUT."""
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._stderr_task


class CaptureBox:
    """The capture box of a running daemon: created on the event loop; every method but `captured` runs there."""

    def __init__(self, config: DaemonConfig, dial: DialService, command: Sequence[str] | None = None) -> None:
        self.config = config
        self.dial = dial
        self.command = list(command or window_command())
        self.problem: str | None = None
        """Why the box cannot be shown here (the window program failed to start), else None."""
        self.up = False
        """Whether the box is on the screen (framing a read, or listing its numbers)."""
        self.shown: Shown | None = None
        """The numbers' buttons the window last reported, while they are up."""
        self._loop = asyncio.get_running_loop()
        self._window: WindowProcess | None = None
        self._starting: asyncio.Task[None] | None = None
        self._failed_at: float | None = None
        self._read_id = 0
        self._rect: Box | None = None
        self._targets: list[DialTarget] = []
        self._grab: KeyGrab | None = None
        self._grab_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def window_pid(self) -> int | None:
        """The window program's process id while it runs (for diagnostics), else None."""
        window = self._window
        return window.process.pid if window is not None and window.running else None

    @property
    def holds_escape(self) -> bool:
        """Whether Escape is held away from the focused window now (while the box is up, on X11)."""
        return self._grab is not None

    @property
    def drawn(self) -> bool:
        """Whether partnercrmd draws the capture box now (the partner's branding and the user's switch)."""
        return daemon_draws(self.config, Surface.CAPTURE_BOX)

    @property
    def _wanted(self) -> bool:
        """Drawn by partnercrmd, and click-to-dial not paused."""
        return self.drawn and self.dial.paused_until is None

    # --- what the hotkeys call ---

    def prepare(self) -> None:
        """Ctrl+Shift went down: close a box still up (the new read must not read it) and have the window program
        running by the time the read is taken."""
        self.close()
        running = self._window is not None and self._window.running
        if not self._wanted or running or self._starting is not None:
            return
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_AFTER:
            return
        self._starting = self._spawn(self._start())

    def captured(self, rect: Box) -> None:
        """The read has taken the pixels of `rect`: frame it. Called from the screen reader's thread."""
        with contextlib.suppress(RuntimeError):  # the loop is closing: nothing to frame
            self._loop.call_soon_threadsafe(self._outline, rect)

    def show(self, targets: Sequence[DialTarget]) -> None:
        """List the numbers read (the `DialOffer`'s) as buttons beside the frame; none: say there is none."""
        if not self.up:
            return  # closed (Escape) or never framed while the read ran
        if not self._wanted:
            self.close()  # switched off, or click-to-dial paused, since the read began
            return
        self._targets = list(targets)
        self._send(
            {
                "op": "numbers",
                "id": self._read_id,
                "title": f"{self.config.branding.product_name}: click to dial",
                "numbers": [t.display for t in self._targets],
            }
        )

    def released(self) -> None:
        """Ctrl+Shift was let go: moving the pointer away from the box now closes it."""
        if self.up:
            self._send({"op": "released"})

    def escape(self) -> bool:
        """Escape was pressed: close the box if it is up; whether it was."""
        was_up = self.up
        self.close()
        return was_up

    def close(self) -> None:
        """Take the box off the screen."""
        if not self.up:
            return
        self._send({"op": "close"})
        self._closed()

    async def stop(self) -> None:
        """End the window program and give Escape back (the hotkeys stop, the daemon stops)."""
        self.close()
        starting, self._starting = self._starting, None
        if starting is not None:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        window, self._window = self._window, None
        if window is not None:
            await window.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._sync_grab()

    # --- the window program ---

    async def _start(self) -> None:
        try:
            window = await WindowProcess.start(self.command)
        except CaptureBoxUnavailable as exc:
            if exc.message != self.problem:
                log.warning("%s The numbers read are still offered to the phone client.", exc.message)
            self.problem, self._failed_at = exc.message, time.monotonic()
            if self.up:  # a read framed while it was starting: there is no box
                self._closed()
            return
        finally:
            self._starting = None
        self._window, self.problem, self._failed_at = window, None, None
        self._spawn(self._listen(window))
        if self.up and self._rect is not None:  # a read framed while the window was starting
            self._send_outline(self._rect)
            self._spawn(self._sync_grab())

    async def _listen(self, window: WindowProcess) -> None:
        while (event := await window.next_event()) is not None:
            try:
                self._on_event(event)
            except (ValueError, KeyError, TypeError):
                log.warning("the capture box's window sent an event that could not be used")
        if self._window is window:  # it ended by itself
            self._window = None
            self._closed()
            log.warning("the capture box's window ended unexpectedly: %s", window.errors.strip()[-300:] or "no message")

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        current = self.up and event.get("id") == self._read_id  # not about an earlier read's box
        if kind == "shown" and current:
            self.shown = Shown(event["id"], _box(event["panel"]), tuple(_box(b) for b in event["buttons"]))
        elif kind == "chosen" and current:
            self._chosen(event["index"])
        elif kind == "closed" and current:
            self._closed()

    def _chosen(self, index: Any) -> None:
        """A number's button was clicked: ask the phone client to dial that number of the list shown."""
        if type(index) is not int or not 0 <= index < len(self._targets):
            log.warning("the capture box's window reported a click on a button it was not given")
            return
        try:
            self.dial.take_offer(self._targets[index], DialSource.SCREEN_READ)
        except PartnerError as exc:  # too many requests, paused since
            log.warning("the capture box could not dial: %s", exc.message)

    # --- the box's state ---

    def _outline(self, rect: Box) -> None:
        if not self._wanted or (self._window is None and self._starting is None):
            return  # switched off, paused, or no window here (the read's `DialOffer` is all there is)
        self._read_id += 1
        self._targets, self.shown, self._rect = [], None, rect
        self.up = True
        self._send_outline(rect)
        self._spawn(self._sync_grab())

    def _send_outline(self, rect: Box) -> None:
        self._send({"op": "outline", "id": self._read_id, "rect": [rect.left, rect.top, rect.right, rect.bottom]})

    def _closed(self) -> None:
        self.up, self.shown, self._targets = False, None, []
        self._spawn(self._sync_grab())

    def _send(self, message: dict[str, Any]) -> None:
        if self._window is not None:
            self._window.send(message)

    async def _sync_grab(self) -> None:
        """Hold Escape while the box is up, give it back when it is not (the latest state wins)."""
        async with self._grab_lock:
            if self.up and self._grab is None and self._window is not None:
                self._grab = await asyncio.to_thread(grab_escape)
            elif not self.up and self._grab is not None:
                grab, self._grab = self._grab, None
                await asyncio.to_thread(grab.release)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:  # never silent; the hotkeys go on
            log.error("the capture box failed", exc_info=task.exception())

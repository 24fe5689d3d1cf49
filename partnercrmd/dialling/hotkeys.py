"""Desktop hotkeys for click-to-dial (X11, through a pynput keyboard listener).

- Hold Ctrl+Shift (alone, for `HOLD_DELAY`): the numbers around the pointer are read
  from the screen and sent as a `DialOffer` (Source ScreenRead), nearest first, when
  `screen_read_dialling` is on.
- Ctrl+Alt+D: the highlighted text (the PRIMARY selection) is read; one number becomes
  a `MakeCallRequest` (Source Selection), several a `DialOffer`, when
  `selection_dialling` is on. With `focus_dialling` on, the number in the focused text
  field (focus_dialling.py) is dialled first; the selection only when the field holds none.

The listener sees every key press (and keeps none), so it runs only while one of the
settings is on; it is started and stopped as the settings change, without a
restart, and only where an X display exists (else the log says why). Key events go
from the listener's thread to the event loop, where all the state lives. The selected
text is never logged or kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Coroutine
from enum import StrEnum
from typing import Any

from ..config import DaemonConfig
from ..errors import BadRequest, PartnerError, TooManyRequests
from ..platform import clipboard
from ..platform.hotkeys import hotkey_problem, listener_class
from ..platform.screen import display_problem
from ..thread_start import start_in_thread, stop_in_thread
from .capture_box import CaptureBox
from .detect import find_numbers
from .focus_dialling import FocusDialling
from .platform_support import selection_problem
from .screen import ScreenReader
from .service import DiallingPaused, DialService, DialSource

log = logging.getLogger(__name__)

HOLD_KEYS = frozenset({"ctrl", "shift"})
HOLD_DELAY = 0.35
"""Seconds Ctrl+Shift must be held with no other key, so that shortcuts such as Ctrl+Shift+T never read the screen."""
SELECTION_KEYS = frozenset({"ctrl", "alt", "d"})
SELECTION_HOTKEY = "Ctrl+Alt+D"
ESCAPE = "esc"
"""Closes the capture box (seen by the listener: the box never has focus)."""
DEBOUNCE = 0.5
"""Seconds between two screen reads started by the hotkey."""
MAX_SELECTION_BYTES = 10 * 1024
"""A larger selection (a whole document) is not searched for numbers."""
SELECTION_TIMEOUT = 2.0
SELECTION_CLIENT = "selection-hotkey"
"""The client name the dial service's rate limit counts selection requests under."""
SWITCH_POLL = 0.25
"""Seconds between two looks at the settings (the listener follows them within this)."""
LISTENER_TIMEOUT = 5.0


class Chord(StrEnum):
    HOLD = "hold"
    """Ctrl+Shift is now down with no other key."""
    BROKEN = "broken"
    """Ctrl+Shift no longer is (released, or another key joined)."""
    SELECTION = "selection"
    """The selection hotkey was pressed."""


class ChordTracker:
    """Which keys are down, fed with press and release events; says when a hotkey starts or stops."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self._holding = False

    def press(self, key: str) -> Chord | None:
        if key in self.down:
            return None  # auto-repeat
        self.down.add(key)
        if self.down == HOLD_KEYS:
            self._holding = True
            return Chord.HOLD
        if self._holding:
            self._holding = False
            return Chord.BROKEN
        return Chord.SELECTION if self.down == SELECTION_KEYS else None

    def release(self, key: str) -> Chord | None:
        self.down.discard(key)
        if self._holding:
            self._holding = False
            return Chord.BROKEN
        return None


def key_name(key: Any) -> str:
    """A pynput key (made canonical by the listener) as a plain name: 'ctrl', 'shift', 'alt', 'd'…"""
    if key is None:
        return "unknown"
    name = getattr(key, "name", None)  # a Key member: ctrl, shift, alt, f1…
    if isinstance(name, str):
        return name
    char = getattr(key, "char", None)
    if isinstance(char, str) and char:
        return char.lower()
    return f"vk{getattr(key, 'vk', '?')}"


def read_primary_selection(limit: int = MAX_SELECTION_BYTES, timeout: float = SELECTION_TIMEOUT) -> str | None:
    """The highlighted text (blocking); None when there is none or too much (platform.clipboard reads it)."""
    return clipboard.read_primary_selection(limit, timeout)


def dial_selection(text: str, dial: DialService) -> None:
    """One number (or internal extension): `MakeCallRequest`; several: `DialOffer`; both with Source Selection."""
    numbers = find_numbers(text, dial.rules().region)
    if len(numbers) > 1:
        dial.offer(numbers, DialSource.SELECTION)
    else:
        dial.request(text, DialSource.SELECTION, SELECTION_CLIENT)


class DesktopHotkeys:
    """Runs the keyboard listener while a hotkey setting is on, and acts on the hotkeys."""

    def __init__(
        self,
        config: DaemonConfig,
        dial: DialService,
        reader: ScreenReader,
        *,
        hold_delay: float = HOLD_DELAY,
        focus: FocusDialling | None = None,
        capture_box: CaptureBox | None = None,
    ) -> None:
        self.config = config
        self.dial = dial
        self.reader = reader
        self.focus = focus
        """Focus dialling, whose focused number the selection hotkey dials first."""
        self.hold_delay = hold_delay
        self.capture_box = capture_box
        """Frames what the hold reads and lists its numbers as buttons (capture_box.py); None: events only."""
        self.problem: str | None = None
        """Why the hotkeys cannot work here (no display, Wayland, a missing permission), for the UI."""
        self._listener: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tracker = ChordTracker()
        self._hold: asyncio.TimerHandle | None = None
        self._last_read = -DEBOUNCE
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def wanted(self) -> bool:
        return self.config.screen_read_dialling or self.config.selection_dialling or self._focus_hotkey

    @property
    def _focus_hotkey(self) -> bool:
        return self.focus is not None and self.config.focus_dialling

    @property
    def listening(self) -> bool:
        return self._listener is not None

    # --- the listener's lifecycle ---

    async def run(self) -> None:
        """Follow the settings: start the listener when one is switched on, stop it when both are off.

        A listener that cannot start (or dies) is reported once and tried again only when the
        settings are switched off and on again.
        """
        self._loop = asyncio.get_running_loop()
        given_up = False
        while True:
            if not self.wanted:
                if self.listening:
                    await self.stop()
                self.problem, given_up = None, False
            elif self._listener is not None and not self._listener.is_alive():
                self._listener = None
                self.problem, given_up = "The keyboard listener stopped (did the X display go away?).", True
                log.warning("the desktop hotkeys stopped: %s", self.problem)
            elif not self.listening and not given_up:
                self.problem = display_problem() or await self._start()
                if self.problem:
                    log.warning("the desktop hotkeys are unavailable: %s", self.problem)
                given_up = not self.listening
            await asyncio.sleep(SWITCH_POLL)

    async def _start(self) -> str | None:
        """Start the listener; None, or what is wrong (then it may be running, but get no keys)."""
        try:
            self._listener = await start_in_thread(self._start_listener, self._stop_listener)
        except ImportError as exc:  # pynput finds no usable backend
            return str(exc)
        except PartnerError as exc:
            return exc.message
        self._tracker = ChordTracker()
        log.info(
            "desktop hotkeys on: hold Ctrl+Shift to read numbers under the pointer (%s), %s to dial the selection (%s)",
            "on" if self.config.screen_read_dialling else "off",
            SELECTION_HOTKEY,
            "on" if self.config.selection_dialling else "off",
        )
        return hotkey_problem(bool(getattr(self._listener, "IS_TRUSTED", True)))

    def _start_listener(self) -> Any:
        listener = listener_class()(on_press=self._pressed, on_release=self._released)
        listener.start()
        ready = threading.Event()

        def wait() -> None:  # pynput's wait() has no timeout, and never returns if the listener failed to start
            listener.wait()
            ready.set()

        threading.Thread(target=wait, name="keyboard-listener-start", daemon=True).start()
        if not ready.wait(LISTENER_TIMEOUT):
            raise PartnerError("The keyboard listener did not start (the X server may lack the RECORD extension).")
        return listener

    async def stop(self) -> None:
        """Stop the listener and whatever the hotkeys started."""
        listener, self._listener = self._listener, None
        try:
            self._cancel_hold()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.capture_box is not None:
                await self.capture_box.stop()
        finally:  # also when the daemon closes during this stop: the listener is ours alone to end now
            if listener is not None:
                await stop_in_thread(self._stop_listener, listener)
                log.info("desktop hotkeys off")

    @staticmethod
    def _stop_listener(listener: Any) -> None:
        listener.stop()
        try:
            listener.join(LISTENER_TIMEOUT)
            if listener.is_alive():
                log.warning("the keyboard listener did not stop within %g s; it is left behind", LISTENER_TIMEOUT)
        except Exception as exc:  # noqa: BLE001  (the listener thread's own failure, re-raised by join)
            log.warning("the keyboard listener failed: %s", type(exc).__name__)

    # --- the listener's thread ---

    def _pressed(self, key: Any, injected: bool = False) -> None:
        self._post(True, key)

    def _released(self, key: Any, injected: bool = False) -> None:
        self._post(False, key)

    def _post(self, pressed: bool, key: Any) -> None:
        listener, loop = self._listener, self._loop
        if listener is None or loop is None:
            return
        name = key_name(listener.canonical(key) if key is not None else None)
        if name.startswith("vk") and isinstance(getattr(key, "name", None), str):
            name = key.name  # canonical() makes special keys other than modifiers bare key codes: Escape stays "esc"
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._on_key, pressed, name)

    # --- the event loop ---

    def _on_key(self, pressed: bool, name: str) -> None:
        chord = self._tracker.press(name) if pressed else self._tracker.release(name)
        if chord is Chord.HOLD and self.config.screen_read_dialling:
            self._cancel_hold()
            if self.capture_box is not None:
                self.capture_box.prepare()  # its window starts while the hold is timed
            assert self._loop is not None
            self._hold = self._loop.call_later(self.hold_delay, self._held)
        elif chord is Chord.BROKEN:
            self._cancel_hold()
            if self.capture_box is not None:
                self.capture_box.released()
        elif chord is Chord.SELECTION and (self.config.selection_dialling or self._focus_hotkey):
            self._spawn(self._selection())
        if pressed and name == ESCAPE and self.capture_box is not None:
            self.capture_box.escape()

    def _cancel_hold(self) -> None:
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None

    def _held(self) -> None:
        self._hold = None
        now = time.monotonic()
        if not self.config.screen_read_dialling or self.reader.busy or now - self._last_read < DEBOUNCE:
            return
        self._last_read = now
        self._spawn(self._screen_read())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:  # never silent, and the hotkeys go on
            log.error("a desktop hotkey failed", exc_info=task.exception())

    async def _screen_read(self) -> None:
        box = self.capture_box
        try:
            numbers = await self.reader.read(on_capture=box.captured if box is not None else None)
        except TooManyRequests:
            return
        except PartnerError as exc:
            log.warning("could not read the screen: %s", exc.message)
            if box is not None:
                box.close()
            return
        if self.config.screen_read_dialling:  # not switched off during the read
            # The box framing this read lists the numbers: no notification of them as well.
            on_screen = box is not None and box.up and box.drawn
            targets = self.dial.offer([n.number for n in numbers], DialSource.SCREEN_READ, on_screen=on_screen)
            if box is not None:
                box.show(targets)
        elif box is not None:
            box.close()
        log.debug("screen read under the pointer: %d numbers", len(numbers))

    async def _selection(self) -> None:
        if self._focus_hotkey and self.focus is not None and await self.focus.dial_focused():
            return  # the focused field's number was dialled
        if not self.config.selection_dialling:
            return
        problem = selection_problem()
        if problem:
            log.warning("could not read the selection: %s", problem)
            return
        text = await asyncio.to_thread(read_primary_selection)
        if text is None or not self.config.selection_dialling:
            return
        try:
            dial_selection(text, self.dial)
        except BadRequest:
            log.info("the selection holds no phone number")
        except (TooManyRequests, DiallingPaused) as exc:
            log.warning("selection dialling: %s", exc.message)

"""Focus dialling: when the focused text field holds a phone number, a dial button appears beside it.

While the `focus_dialling` setting is on, the platform's focus watcher (`platform.accessibility`: AT-SPI
on Linux) reports each focused text field; the daemon's detector (`detect.find_numbers`, the one every
technique uses) looks for numbers in its text. With one, the dial button (`dial_button`) appears beside
the field, labelled with the number, if partnercrmd draws that surface (`surfaces.daemon_draws`; else the
phone client is left the events and the hotkey); clicking it, or the selection hotkey (Ctrl+Alt+D) while
the field has the focus, sends `MakeCallRequest` with Source Selection (API.md's closed list of sources has
no "Focus"; the focused field is what the user points at, as a selection is). The field's text is never
logged or kept beyond the number found in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..config import DaemonConfig
from ..errors import PartnerError
from ..platform.accessibility import (
    AccessibilityUnavailable,
    FocusedField,
    FocusWatcher,
    accessibility_problem,
    focus_watcher,
)
from ..surfaces import Surface, daemon_draws
from .detect import FoundNumber, find_numbers
from .dial_button import DialButton
from .service import DialService, DialSource

log = logging.getLogger("partnercrmd.dialling.focus")

FOCUS_CLIENT = "focus-dialling"
"""The client name the dial service's rate limit counts focus-dialling requests under."""
SOURCE = DialSource.SELECTION
SWITCH_POLL = 0.25
"""Seconds between two looks at the setting (the watcher follows it within this)."""


def focus_problem(focus: FocusDialling | None) -> str | None:
    """What the Dialling page says under the switch: why focus dialling cannot work here (as found when it was
    tried, else as this session looks), or None."""
    if focus is not None and focus.problem:
        return focus.problem
    return accessibility_problem()


class FocusDialling:
    """Runs the focus watcher while `focus_dialling` is on; shows the dial button for a focused number."""

    def __init__(
        self,
        config: DaemonConfig,
        dial: DialService,
        *,
        watcher: Callable[[], FocusWatcher] = focus_watcher,
        button: Callable[[Callable[[], None]], DialButton] = DialButton,
    ) -> None:
        self.config = config
        self.dial = dial
        self._new_watcher = watcher
        self._watcher: FocusWatcher | None = None
        self.button = button(self._button_clicked)
        self.problem: str | None = None
        """Why focus dialling cannot work here (another system, no accessibility bus), for the UI and the log."""
        self.number: FoundNumber | None = None
        """The number in the focused field (the one the button dials), or None."""
        self._field: FocusedField | None = None
        self._update: asyncio.Task[None] | None = None

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    async def run(self) -> None:
        """Follow the setting: watch the focus while it is on. A watcher that cannot start is reported once and
        tried again only when the setting is switched off and on again."""
        given_up = False
        try:
            while True:
                if not self.config.focus_dialling:
                    if self.watching:
                        await self.stop()
                    self.problem, given_up = None, False
                elif not self.watching and not given_up:
                    self.problem = await self._start()
                    given_up = self.problem is not None
                    if self.problem:
                        log.warning("focus dialling is unavailable: %s", self.problem)
                elif self.watching and self.number is not None and not self.button.shown and self._idle and self._drawn:
                    self._show(self.number, self._field)  # the surface was switched back on, or the pause ended
                elif self.button.shown and self._idle and not self._drawn:
                    self._hide()
                await asyncio.sleep(SWITCH_POLL)
        finally:
            await self.stop()

    async def _start(self) -> str | None:
        try:
            watcher = self._new_watcher()
            await watcher.start(self._focus_changed)
        except AccessibilityUnavailable as exc:
            return str(exc)
        except asyncio.CancelledError:  # the daemon closes while the watcher starts: let go of what it opened
            await watcher.stop()
            raise
        self._watcher = watcher
        log.info("focus dialling on: a dial button beside a focused field that holds a number")
        return None

    async def stop(self) -> None:
        """Stop watching and take the button away."""
        watcher, self._watcher = self._watcher, None
        self.number = self._field = None
        update, self._update = self._update, None
        try:
            if update is not None:  # ended before the window program is, so that nothing starts it again
                update.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await update
        finally:  # also when the daemon closes during this stop: the watcher is ours alone to end now
            if watcher is not None:
                await watcher.stop()
                log.info("focus dialling off")
            await self.button.close()

    @property
    def _idle(self) -> bool:
        """No change of the button is under way."""
        return self._update is None or self._update.done()

    @property
    def _drawn(self) -> bool:
        """Whether the button may be on screen now: partnercrmd draws the surface and click-to-dial is not paused."""
        return daemon_draws(self.config, Surface.FOCUS_DIALLING) and self.dial.paused_until is None

    # --- the focused field ---

    def number_in(self, field: FocusedField | None) -> FoundNumber | None:
        """The number a focused field holds (the first, if it holds several), by the daemon's one detector."""
        if field is None:
            return None
        numbers = find_numbers(field.text, self.dial.rules().region)
        return numbers[0] if numbers else None

    def _focus_changed(self, field: FocusedField | None) -> None:
        self.number = number = self.number_in(field) if self.config.focus_dialling else None
        self._field = field if number is not None else None
        if number is not None and self._drawn:
            self._show(number, field)
        else:
            self._hide()

    def _show(self, number: FoundNumber, field: FocusedField | None) -> None:
        label = f"Dial {self.dial.rules().apply(number).event()['DisplayNumber']}"
        extents = None if field is None else field.extents
        self._change(lambda: self.button.show(label, extents))

    def _hide(self) -> None:
        self._change(self.button.hide)

    def _change(self, change: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Change the button after the changes asked for before (one at a time, in order: the last one stays)."""
        previous = self._update

        async def after_previous() -> None:
            if previous is not None:  # its outcome is its own (logged by the button); this one's cancel is not
                await asyncio.wait([previous])
            await change()

        self._update = asyncio.get_running_loop().create_task(after_previous())

    # --- dialling ---

    def _button_clicked(self) -> None:
        number = self.number
        if number is None:
            return
        self._request(number)

    async def dial_focused(self) -> bool:
        """The hotkey: dial the number in the focused field, read afresh; False when it holds none."""
        watcher = self._watcher
        if watcher is None or not self.config.focus_dialling:
            return False
        number = self.number_in(await watcher.focused_field())
        if number is None:
            return False
        self._request(number)
        return True

    def _request(self, number: FoundNumber) -> None:
        try:
            self.dial.request(number.raw, SOURCE, FOCUS_CLIENT)
        except PartnerError as exc:  # paused, too many requests
            log.warning("focus dialling: %s", exc.message)

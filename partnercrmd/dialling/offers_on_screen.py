"""Dial offers on screen: each `DialOffer` shows one desktop notification with a Dial button per number.

`DialService` calls `OffersOnScreen.offered` after it sends a `DialOffer` (a copied number, the selection hotkey
with several numbers, a screen read). One offer is on screen at a time: the same numbers again keep the shown
notification (copies do not stack), different numbers replace it. A Dial button sends `MakeCallRequest` through
`DialService.take_offer`, the one way every offer is taken; the notification goes away once the offer is taken,
here or by the phone client (any `MakeCallRequest` for one of its numbers). Where the desktop cannot show buttons
(no notification service, none with actions) nothing is drawn and the events go out as before; the same when the
partner or the user leaves the surface to the phone client (surfaces.daemon_draws).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ..errors import PartnerError
from ..platform.notifications import Asker, Choice
from ..surfaces import Surface, SurfaceSettings, daemon_draws
from .rules import DialTarget
from .service import DialService, DialSource

log = logging.getLogger(__name__)

TITLES = {
    DialSource.CLIPBOARD: ("Dial the number you copied?", "Dial a number you copied?"),
    DialSource.SELECTION: ("Dial the number you selected?", "Dial a number you selected?"),
    DialSource.SCREEN_READ: ("Dial the number on your screen?", "Dial a number on your screen?"),
}
"""The notification's title per source: (one number, several)."""


@dataclass(frozen=True)
class ShownOffer:
    """The offer on screen: its numbers, where they came from, and the notification (empty while it is sent)."""

    targets: tuple[DialTarget, ...]
    source: DialSource
    notification: str = ""

    @property
    def destinations(self) -> tuple[str, ...]:
        return tuple(t.destination for t in self.targets)


def dial_choices(targets: tuple[DialTarget, ...]) -> list[Choice]:
    """A Dial button per number, labelled with the number as people read it; its key is its place in the offer."""
    return [Choice(str(place), f"Dial {target.display}") for place, target in enumerate(targets)]


class OffersOnScreen:
    """Draws the latest dial offer as a notification that asks; one at a time."""

    def __init__(self, config: SurfaceSettings, dial: DialService, notifications: Asker, product_name: str) -> None:
        self.config = config
        self.dial = dial
        self.notifications = notifications
        self.product_name = product_name
        self.current: ShownOffer | None = None
        """The offer on screen (or being sent to the notification service)."""
        self._lock = asyncio.Lock()  # one notification changes at a time, in the order the offers came
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def offered(self, targets: list[DialTarget], source: DialSource) -> None:
        """`DialService` sent a `DialOffer` (on the loop): show it, unless the same numbers are on screen."""
        if not daemon_draws(self.config, Surface.OFFERS):
            return
        offer = ShownOffer(tuple(targets), source)
        if self.current is not None and self.current.destinations == offer.destinations:
            return  # the same numbers again: the notification on screen stands
        previous, self.current = self.current, offer
        self._spawn(self._replace(previous, offer))

    def called(self, target: DialTarget) -> None:
        """A `MakeCallRequest` went out: if it dials a number of the offer on screen, the offer was taken."""
        if self.current is not None and target.destination in self.current.destinations:
            taken, self.current = self.current, None
            self._spawn(self._withdraw(taken))

    async def _replace(self, previous: ShownOffer | None, offer: ShownOffer) -> None:
        async with self._lock:
            if previous is not None:
                await self._withdraw_now(previous)
            if self.current is not offer:
                return  # replaced or taken before it was shown
            count = len(offer.targets)
            title = TITLES.get(offer.source, ("Dial this number?", "Dial a number?"))[count > 1]
            message = f"{self.product_name} found {count} number{'s' if count > 1 else ''} to call."
            notification = await self.notifications.ask(
                title, message, dial_choices(offer.targets), lambda key: self._chosen(offer, key)
            )
            if notification is None:  # cannot be drawn here: the events went out; the next offer tries again
                if self.current is offer:
                    self.current = None
                return
            shown = ShownOffer(offer.targets, offer.source, notification)
            if self.current is offer:
                self.current = shown
            else:  # answered, taken or replaced while it was on its way
                await self._withdraw_now(shown)

    def _chosen(self, offer: ShownOffer, key: str) -> None:
        """A Dial button was pressed (`key`: the number's place), or the notification closed ('')."""
        if self.current is not None and self.current.targets is offer.targets:  # this very offer, not a later one
            self.current = None
        if not key:
            return
        target = offer.targets[int(key)]
        try:
            self.dial.take_offer(target, offer.source)
        except PartnerError as exc:  # paused, or too many requests: the user is told in the log, nothing is sent
            log.warning("the Dial button of an offer on screen did nothing: %s", exc.message)

    async def _withdraw(self, offer: ShownOffer) -> None:
        async with self._lock:
            await self._withdraw_now(offer)

    async def _withdraw_now(self, offer: ShownOffer) -> None:
        if offer.notification:
            await self.notifications.withdraw(offer.notification)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.notifications.close()


def listen(dial: DialService, offers: OffersOnScreen) -> Callable[[], None]:
    """Make `offers` draw what `dial` offers; the function that stops it."""
    dial.on_offer.append(offers.offered)
    dial.on_call.append(offers.called)

    def stop() -> None:
        dial.on_offer.remove(offers.offered)
        dial.on_call.remove(offers.called)

    return stop

"""Turns detected numbers into events for the PDC; limits how often untrusted sources may ask.

The daemon never dials: `MakeCallRequest` asks the PDC to dial (it may ask the
user), `DialOffer` lists numbers for the user to choose from.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from ..errors import BadRequest, Conflict, TooManyRequests
from ..events import EventHub
from .detect import FoundNumber, find_numbers, parse_one
from .rules import DiallingRules, DialTarget

DUPLICATE_WINDOW = 2.0
"""The same destination from the same source within this many seconds is dropped."""
RATE_WINDOW = 10.0
RATE_LIMIT = 10
"""Dial requests one client may make per RATE_WINDOW seconds."""
MAX_OFFERED = 10
PAUSE_SECONDS = 3600.0
"""How long "Pause click-to-dial" (the tray, the Dialling page) lasts; it resumes by itself."""
OFFER_CLIENT = "desktop-offers"
"""Whom the rate limit counts a Dial button of an offer on screen against."""


class DiallingPaused(Conflict):
    """The user paused click-to-dial: nothing is offered or requested until it resumes."""

    code = "dialling_paused"


class DialSource(StrEnum):
    WEB_PAGE = "WebPage"
    CALL_TO = "CallTo"
    TEL = "Tel"
    SIP = "Sip"
    SELECTION = "Selection"
    API = "Api"
    CLIPBOARD = "Clipboard"
    SCREEN_READ = "ScreenRead"


REQUEST_SOURCES = (
    DialSource.WEB_PAGE,
    DialSource.CALL_TO,
    DialSource.TEL,
    DialSource.SIP,
    DialSource.SELECTION,
    DialSource.API,
)


class DialService:
    def __init__(
        self, hub: EventHub, rules: Callable[[], DiallingRules], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.hub = hub
        self.rules = rules
        self._clock = clock
        self._recent: dict[tuple[str, str], float] = {}
        self._requests: dict[str, deque[float]] = {}
        self._paused_until: float | None = None
        self._resumes_at: datetime | None = None
        self.on_offer: list[Callable[[list[DialTarget], DialSource], None]] = []
        """Called (on the loop) with each `DialOffer` sent: the offers drawn on screen."""
        self.on_call: list[Callable[[DialTarget], None]] = []
        """Called (on the loop) with each `MakeCallRequest` sent: an offer of that number was taken."""

    def pause(self, seconds: float = PAUSE_SECONDS) -> None:
        """Pause click-to-dial from every source for `seconds` (it resumes by itself)."""
        self._paused_until = self._clock() + seconds
        self._resumes_at = datetime.now().astimezone() + timedelta(seconds=seconds)

    def resume(self) -> None:
        self._paused_until = self._resumes_at = None

    @property
    def paused_until(self) -> datetime | None:
        """When a pause ends (local time), or None when click-to-dial is not paused."""
        if self._paused_until is not None and self._clock() >= self._paused_until:
            self.resume()
        return self._resumes_at

    def _check_not_paused(self) -> None:
        resumes = self.paused_until
        if resumes is not None:
            raise DiallingPaused(f"Click-to-dial is paused until {resumes:%H:%M}.")

    def target(self, text: str) -> DialTarget:
        """The one number `text` means, with the dialling rules applied; BadRequest if it holds none or several."""
        rules = self.rules()
        internal = rules.internal(text)
        if internal is not None:
            return internal
        found = parse_one(text, rules.region)
        if found is None:
            raise BadRequest("That is not one phone number that can be dialled.", code="no_number")
        return rules.apply(found)

    def _limit(self, client: str) -> None:
        now = self._clock()
        times = self._requests.setdefault(client, deque())
        while times and times[0] <= now - RATE_WINDOW:
            times.popleft()
        if len(times) >= RATE_LIMIT:
            raise TooManyRequests(f"Too many dial requests; wait {RATE_WINDOW:g} seconds.")
        times.append(now)

    def _duplicate(self, source: str, key: str) -> bool:
        now = self._clock()
        self._recent = {k: t for k, t in self._recent.items() if t > now - DUPLICATE_WINDOW}
        if (source, key) in self._recent:
            return True
        self._recent[(source, key)] = now
        return False

    def request(self, text: str, source: DialSource, client: str) -> DialTarget:
        """An explicit click: send `MakeCallRequest` (unless the same was just sent)."""
        self._check_not_paused()
        self._limit(client)
        target = self.target(text)
        self._call(target, source)
        return target

    def take_offer(self, target: DialTarget, source: DialSource) -> None:
        """The user chose `target` of an offer drawn on screen (a Dial button): `MakeCallRequest` as a click sends."""
        self._check_not_paused()
        self._limit(OFFER_CLIENT)
        self._call(target, source)

    def _call(self, target: DialTarget, source: DialSource) -> None:
        """Every `MakeCallRequest` is sent here (unless the same was just sent)."""
        if self._duplicate(str(source), target.destination):
            return
        self.hub.publish("MakeCallRequest", {**target.event(), "Source": str(source)})
        for listener in list(self.on_call):
            listener(target)

    def offer(self, numbers: Iterable[FoundNumber], source: DialSource, *, on_screen: bool = False) -> list[DialTarget]:
        """Numbers the user has not chosen yet: send `DialOffer` with them (nothing if none, just offered or paused).

        `on_screen`: a surface of the caller's lists them already (the capture box of a Ctrl+Shift read), so the
        `on_offer` surfaces do not show them a second time; the event goes out all the same.
        """
        rules = self.rules()
        targets = [rules.apply(n) for n in numbers][:MAX_OFFERED]
        if not targets or self.paused_until is not None:
            return targets
        # Its own key: taking an offer at once (a Dial button) is not a repeat of the offer.
        if self._duplicate(f"offer:{source}", "|".join(t.destination for t in targets)):
            return targets
        self.hub.publish("DialOffer", {"Source": str(source), "Numbers": [t.event() for t in targets]})
        for listener in [] if on_screen else list(self.on_offer):
            listener(targets, source)
        return targets

    def offer_text(self, text: str, source: DialSource, *, on_screen: bool = False) -> list[DialTarget]:
        return self.offer(find_numbers(text, self.rules().region), source, on_screen=on_screen)

"""Turns detected numbers into events for the PDC; limits how often untrusted sources may ask.

The daemon never dials: `MakeCallRequest` asks the PDC to dial (it may ask the
user), `DialOffer` lists numbers for the user to choose from.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from enum import StrEnum

from ..errors import BadRequest, TooManyRequests
from ..events import EventHub
from .detect import FoundNumber, find_numbers, parse_one
from .rules import DiallingRules, DialTarget

DUPLICATE_WINDOW = 2.0
"""The same destination from the same source within this many seconds is dropped."""
RATE_WINDOW = 10.0
RATE_LIMIT = 10
"""Dial requests one client may make per RATE_WINDOW seconds."""
MAX_OFFERED = 10


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
        self._limit(client)
        target = self.target(text)
        if not self._duplicate(str(source), target.destination):
            self.hub.publish("MakeCallRequest", {**target.event(), "Source": str(source)})
        return target

    def offer(self, numbers: Iterable[FoundNumber], source: DialSource) -> list[DialTarget]:
        """Numbers the user has not chosen yet: send `DialOffer` with them (nothing if none or just offered)."""
        rules = self.rules()
        targets = [rules.apply(n) for n in numbers][:MAX_OFFERED]
        if not targets or self._duplicate(str(source), "|".join(t.destination for t in targets)):
            return targets
        self.hub.publish("DialOffer", {"Source": str(source), "Numbers": [t.event() for t in targets]})
        return targets

    def offer_text(self, text: str, source: DialSource) -> list[DialTarget]:
        return self.offer(find_numbers(text, self.rules().region), source)

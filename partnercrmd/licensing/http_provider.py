"""The partner's HTTP licensing service, asked per user id, cached, and never in the way of a call.

The daemon asks ``GET <endpoint>?user=<user id>&product=<product name>`` and
expects ``200`` with ``{"licensed": true|false, "expires": "<ISO 8601>"?,
"licensee": "…"?, "message": "…"?}``. Anything else (no connection, a
timeout, another status, another shape) means the service is unreachable.

- An answer is used for `cache_minutes`; after that the next request still
  uses it and starts a refresh in the background.
- While the service is unreachable, the last answer stands for `grace_hours`
  after the last successful check; then the user is unlicensed until the
  service answers again. A user the service never answered for is allowed
  for `grace_hours` from the first failed ask (provisionally, and said so).
- Only a user id never seen before waits, at most `FIRST_WAIT` seconds, for
  the first answer.

Answers are kept in the vault (``licence_http_cache``), so a restart neither
asks again at once nor resets the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from ..vault import Vault
from .state import LicenceState

log = logging.getLogger(__name__)

CACHE_KEY = "licence_http_cache"
FIRST_WAIT = 1.0
REQUEST_TIMEOUT = 10.0


@dataclass
class CachedAnswer:
    """What the service last said about a user, and when it last could not be asked."""

    licensed: bool = False
    reason: str = ""
    licensee: str = ""
    expires: str = ""
    checked: float = 0.0
    """Wall-clock time of the last answer (0: never answered)."""
    failing_since: float = 0.0
    """Wall-clock time of the first failed ask since the last answer (0: not failing)."""

    @classmethod
    def from_dict(cls, data: Any) -> CachedAnswer:
        if not isinstance(data, dict):
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class Unreachable(Exception):
    """The licensing service gave no usable answer."""


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class HttpProvider:
    mode = "http"

    def __init__(
        self,
        endpoint: str,
        product: str,
        vault: Vault,
        *,
        cache_minutes: int,
        grace_hours: int,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[str], None] = lambda user_id: None,
    ) -> None:
        self.endpoint = endpoint
        self.product = product
        self.vault = vault
        self.cache_seconds = cache_minutes * 60.0
        self.grace_seconds = grace_hours * 3600.0
        self.clock = clock
        self.on_change = on_change
        """Called with a user id after a background refresh changed what the service says."""
        self.answers: dict[str, CachedAnswer] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        self.last_error = ""

    async def start(self) -> None:
        doc = await asyncio.to_thread(self.vault.read)
        cached = doc.get(CACHE_KEY, {})
        if isinstance(cached, dict):
            self.answers = {str(k): CachedAnswer.from_dict(v) for k, v in cached.items()}
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))

    async def close(self) -> None:
        for task in list(self._refreshing.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    def describe(self) -> str:
        state = f"unreachable ({self.last_error})" if self.last_error else "reachable"
        return f"Licensing service {self.endpoint}: {state}"

    async def state(self, user_id: str) -> LicenceState:
        answer = self.answers.get(user_id)
        if answer is None:
            task = self._refresh(user_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), FIRST_WAIT)
            answer = self.answers.get(user_id, CachedAnswer())
        elif self.clock() - answer.checked >= self.cache_seconds:
            self._refresh(user_id)
        return self._judge(user_id, answer)

    def _judge(self, user_id: str, answer: CachedAnswer) -> LicenceState:
        now = self.clock()
        if answer.failing_since:
            grace_from = answer.checked or answer.failing_since
            until = grace_from + self.grace_seconds
            if now >= until:
                return LicenceState(
                    user_id,
                    False,
                    "The licensing service has not been reachable for longer than the grace period "
                    f"({self.grace_seconds / 3600:g} h); it is asked again on every request.",
                    answer.licensee,
                )
            if not answer.checked:
                return LicenceState(
                    user_id,
                    True,
                    "The licensing service cannot be reached; allowed during the grace period until "
                    f"{datetime.fromtimestamp(until, UTC):%Y-%m-%d %H:%M} UTC.",
                    provisional=True,
                )
        expires = _parse_time(answer.expires) if answer.expires else None
        if answer.licensed and expires is not None and expires <= datetime.fromtimestamp(now, UTC):
            return LicenceState(user_id, False, "The licence expired.", answer.licensee, expires)
        reason = answer.reason or ("Licensed by the licensing service." if answer.licensed else "Not licensed.")
        if answer.failing_since:
            reason += " (The licensing service cannot be reached; this is its last answer.)"
        return LicenceState(
            user_id, answer.licensed, reason, answer.licensee, expires, provisional=bool(answer.failing_since)
        )

    def _refresh(self, user_id: str) -> asyncio.Task[None]:
        running = self._refreshing.get(user_id)
        if running is not None and not running.done():
            return running
        task = asyncio.create_task(self._ask_and_store(user_id))
        self._refreshing[user_id] = task
        return task

    async def _ask_and_store(self, user_id: str) -> None:
        before = self.answers.get(user_id)
        old = self._judge(user_id, before) if before is not None else None
        answer = CachedAnswer(**asdict(before)) if before is not None else CachedAnswer()
        try:
            fresh = await self._ask(user_id)
        except Unreachable as exc:
            self.last_error = str(exc)
            log.warning("licensing service: %s", exc)
            if not answer.failing_since:
                answer.failing_since = self.clock()
        else:
            self.last_error = ""
            answer = fresh
        self.answers[user_id] = answer
        await asyncio.to_thread(self._store, user_id, answer)
        if old is not None and self._judge(user_id, answer).licensed != old.licensed:
            self.on_change(user_id)

    def _store(self, user_id: str, answer: CachedAnswer) -> None:
        def change(doc: dict[str, Any]) -> None:
            doc.setdefault(CACHE_KEY, {})[user_id] = asdict(answer)

        self.vault.update(change)

    async def _ask(self, user_id: str) -> CachedAnswer:
        assert self._session is not None, "start() first"
        try:
            async with self._session.get(self.endpoint, params={"user": user_id, "product": self.product}) as response:
                if response.status != 200:
                    raise Unreachable(f"it answered HTTP {response.status}")
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}"[:200]) from None
        if not isinstance(data, dict) or not isinstance(data.get("licensed"), bool):
            raise Unreachable("its answer has no 'licensed' true/false")
        return CachedAnswer(
            licensed=data["licensed"],
            reason=str(data.get("message", ""))[:300],
            licensee=str(data.get("licensee", ""))[:200],
            expires=str(data.get("expires", ""))[:40],
            checked=self.clock(),
        )

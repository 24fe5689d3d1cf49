"""The licensing service of the daemon: which provider, and 402 when a user has no licence.

The partner chooses the provider in the branding file (``[licensing]``):
development (visibly unlicensed, nothing refused), a signed licence file, or
the partner's HTTP licensing service. Search and DoAction need a licensed
user; `Version.Licenses` reports the state; `LicenceChanged` is published
when a user's licence starts or stops holding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from ..branding import Branding
from ..errors import PaymentRequired
from ..events import EventHub
from ..vault import Vault
from .http_provider import HttpProvider
from .licence_file import FileProvider, licence_path
from .state import LicenceProvider, LicenceState, iso

log = logging.getLogger(__name__)

MODE_NAMES = {"development": "Development (unlicensed)", "file": "Licence file", "http": "Licensing service"}


class DevelopmentProvider:
    """Everything allowed, and said plainly: nobody is licensed."""

    mode = "development"

    def describe(self) -> str:
        return "Development mode: unlicensed, for evaluation only"

    async def state(self, user_id: str) -> LicenceState:
        return LicenceState(user_id, True, "Development mode: unlicensed, for evaluation only.", provisional=True)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


def make_provider(branding: Branding, vault: Vault, config_dir: Path) -> LicenceProvider:
    """The provider the partner's branding file names."""
    licensing = branding.licensing
    if licensing.provider == "file":
        return FileProvider(licence_path(licensing.licence_file, config_dir), branding.public_key, vault)
    if licensing.provider == "http":
        return HttpProvider(
            licensing.endpoint,
            branding.product_name,
            vault,
            cache_minutes=licensing.cache_minutes,
            grace_hours=licensing.grace_hours,
        )
    return DevelopmentProvider()


class LicenceService:
    def __init__(self, provider: LicenceProvider, hub: EventHub) -> None:
        self.provider = provider
        self.hub = hub
        self.known: dict[str, LicenceState] = {}
        """The last state of every user seen since the start (for LicenceChanged)."""
        self._tasks: set[asyncio.Task[None]] = set()
        if isinstance(provider, HttpProvider):
            provider.on_change = self.recheck_later
        elif isinstance(provider, FileProvider):
            provider.on_reload = self.recheck_all_later

    @property
    def mode(self) -> str:
        return self.provider.mode

    async def state(self, user_id: str) -> LicenceState:
        """The user's licence now; publishes LicenceChanged when it differs from what was last seen."""
        state = await self.provider.state(user_id)
        before = self.known.get(user_id)
        self.known[user_id] = state
        if before is not None and (before.licensed, before.reason) != (state.licensed, state.reason):
            log.info("licence of user %s: %s", user_id, state.reason)
            self.hub.publish("LicenceChanged", state.event(self.mode))
        return state

    async def require(self, user_id: str) -> LicenceState:
        """The user's licence; PaymentRequired (402) with the reason when there is none."""
        if self.mode == "development":
            return await self.provider.state(user_id)
        if not user_id:
            raise PaymentRequired(
                "This product is licensed per user: the phone client must send its user id "
                "(UserId in Register, or the UserId header).",
                code="no_user_id",
            )
        state = await self.state(user_id)
        if not state.licensed:
            raise PaymentRequired(state.reason)
        return state

    def recheck_later(self, user_id: str) -> None:
        task = asyncio.create_task(self._recheck(user_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def recheck_all_later(self) -> None:
        for user_id in list(self.known):
            self.recheck_later(user_id)

    async def _recheck(self, user_id: str) -> None:
        try:
            await self.state(user_id)
        except Exception:
            log.exception("could not re-check the licence of %s", user_id)

    async def licenses(self, user_id: str) -> list[dict[str, str | int]]:
        """`Version.Licenses`: the mode, its source, and the asking user's licence when known.

        `Value` is a number, as the published client's type has it: 1 where the entry grants use, 0 where it
        does not (development mode licenses nobody); `Description` says the same in words.
        """
        in_force = 0 if self.mode == "development" else 1
        entries: list[dict[str, str | int]] = [
            {"Key": "mode", "Name": "Licensing", "Value": in_force, "Description": MODE_NAMES[self.mode]},
            {"Key": "source", "Name": "Licence source", "Value": in_force, "Description": self.provider.describe()},
        ]
        if user_id and self.mode != "development":
            state = await self.state(user_id)
            entry: dict[str, str | int] = {
                "Key": "user",
                "Name": f"User {user_id}",
                "Value": 1 if state.licensed else 0,
                "Description": ("Licensed" if state.licensed else "Unlicensed") + f": {state.reason}",
            }
            if state.expires_at is not None:
                entry["ExpiresAt"] = iso(state.expires_at)
            entries.append(entry)
        return entries

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.provider.close()

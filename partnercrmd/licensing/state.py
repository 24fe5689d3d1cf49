"""What a licensing provider answers about one user: licensed or not, why, until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class LicenceState:
    """One user's licence as a provider sees it now."""

    user_id: str
    licensed: bool
    reason: str
    """Words for the user: what licenses them, or why they are not licensed."""
    licensee: str = ""
    expires_at: datetime | None = None
    provisional: bool = False
    """Allowed only for now (the licensing service is unreachable and the grace period runs)."""

    def event(self, mode: str) -> dict[str, object]:
        """The `LicenceChanged` payload for this state."""
        return {
            "UserId": self.user_id,
            "Licensed": self.licensed,
            "Mode": mode,
            "Reason": self.reason,
            "ExpiresAt": iso(self.expires_at),
        }


def iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else ""


class LicenceProvider(Protocol):
    """One way of licensing users (development, a licence file, the partner's HTTP service)."""

    mode: str
    """development, file or http."""

    def describe(self) -> str:
        """One line for `Version.Licenses` and `licence show`: where licences come from and their overall state."""
        ...

    async def state(self, user_id: str) -> LicenceState:
        """The user's licence now; never waits for anything slow (at most a short first ask)."""
        ...

    async def start(self) -> None:
        """Background work (watching the file, nothing else); called once when the daemon starts."""
        ...

    async def close(self) -> None:
        """Stop background work."""
        ...

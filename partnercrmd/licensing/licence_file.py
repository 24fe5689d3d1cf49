"""Signed licence files: what one says, how a partner issues one, and the provider that reads it.

A licence file holds one token signed with the partner's Ed25519 key
(``licence.<payload>.<signature>``, see partner_keys.py); lines starting with
``#`` are comments. The payload::

    {"v": 1, "id": "lic-…", "licensee": "Acme Ltd", "users": ["alice", "bob"] | "seats": 5,
     "period": "monthly", "valid_from": "2026-11-01", "expires": "2026-12-01", "issued": "…"}

`users` names the licensed user ids; `seats` instead licenses the first N
user ids that use the daemon (their ids are remembered in the vault under
``licence_seats``). The licence is valid from `valid_from` up to and
including the day before `expires` (UTC). A changed byte anywhere breaks the
signature: the file is then reported as tampered and nobody is licensed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import BadRequest, PartnerError
from ..partner_keys import sign, verify
from ..vault import Vault
from .state import LicenceState

KIND = "licence"
SEATS_KEY = "licence_seats"
"""Vault key: {licence id: [user ids holding a seat, first come first served]}."""
POLL_SECONDS = 2.0
FILE_NAME = "licence.lic"


class LicenceFileError(BadRequest):
    code = "bad_licence"


@dataclass(frozen=True)
class Licence:
    """A verified licence file's contents."""

    id: str
    licensee: str
    users: tuple[str, ...]
    seats: int
    valid_from: date
    expires: date
    period: str = "monthly"

    @property
    def expires_at(self) -> datetime:
        return datetime(self.expires.year, self.expires.month, self.expires.day, tzinfo=UTC)

    def window_problem(self, now: datetime) -> str | None:
        """Why the licence does not hold at `now` (not yet valid, expired), else None."""
        today = now.astimezone(UTC).date()
        if today < self.valid_from:
            return f"The licence of {self.licensee} starts on {self.valid_from.isoformat()}."
        if today >= self.expires:
            return f"The licence of {self.licensee} expired on {self.expires.isoformat()}; ask for a renewed one."
        return None


def _date(payload: dict[str, Any], key: str) -> date:
    value = payload.get(key)
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise LicenceFileError(f"The licence file has no valid '{key}' date.") from None


def parse_licence(public_key: Ed25519PublicKey | None, text: str) -> Licence:
    """The licence in a licence file's text; SignatureError when altered, LicenceFileError when malformed."""
    token = "".join(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    payload = verify(public_key, KIND, token, what="licence file")
    users = payload.get("users", [])
    seats = payload.get("seats", 0)
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        raise LicenceFileError("The licence file's 'users' must be a list of user ids.")
    if not isinstance(seats, int) or isinstance(seats, bool) or seats < 0:
        raise LicenceFileError("The licence file's 'seats' must be a whole number.")
    if not users and not seats:
        raise LicenceFileError("The licence file names no users and no seats.")
    return Licence(
        id=str(payload.get("id", "")),
        licensee=str(payload.get("licensee", "")),
        users=tuple(users),
        seats=seats,
        valid_from=_date(payload, "valid_from"),
        expires=_date(payload, "expires"),
        period=str(payload.get("period", "monthly")),
    )


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in range(day.day, 27, -1):
        with contextlib.suppress(ValueError):
            return date(year, month, candidate)
    return date(year, month, min(day.day, 28))


def issue_licence(
    key: Ed25519PrivateKey,
    licensee: str,
    *,
    users: tuple[str, ...] = (),
    seats: int = 0,
    valid_from: date,
    months: int = 1,
) -> str:
    """The text of a licence file for `licensee`: named `users` or `seats`, `months` monthly periods long."""
    if not licensee.strip():
        raise LicenceFileError("Name the licensee.")
    if bool(users) == bool(seats):
        raise LicenceFileError("Give either user ids or a seat count (not both, not neither).")
    if months < 1:
        raise LicenceFileError("A licence lasts at least one month.")
    expires = add_months(valid_from, months)
    payload = {
        "v": 1,
        "id": f"lic-{secrets.token_hex(8)}",
        "licensee": licensee.strip(),
        "period": "monthly",
        "valid_from": valid_from.isoformat(),
        "expires": expires.isoformat(),
        "issued": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **({"users": list(users)} if users else {"seats": seats}),
    }
    token = sign(key, KIND, payload)
    return (
        f"# Licence for {licensee.strip()}: {', '.join(users) if users else f'{seats} seats'}, "
        f"{valid_from.isoformat()} until {expires.isoformat()}.\n{token}\n"
    )


def licence_path(configured: Path | None, config_dir: Path) -> Path:
    return configured if configured is not None else config_dir / FILE_NAME


def read_licence(public_key: Ed25519PublicKey | None, path: Path) -> Licence:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LicenceFileError(f"There is no licence file at {path}.", code="no_licence") from None
    except OSError as exc:
        raise LicenceFileError(f"Cannot read the licence file {path}: {exc.strerror}.") from None
    return parse_licence(public_key, text)


class FileProvider:
    """Licenses users from a signed licence file; picks up a replaced file within seconds."""

    mode = "file"

    def __init__(
        self,
        path: Path,
        public_key: Ed25519PublicKey | None,
        vault: Vault,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_reload: Callable[[], None] = lambda: None,
    ) -> None:
        self.path = path
        self.public_key = public_key
        self.vault = vault
        self.clock = clock
        self.on_reload = on_reload
        """Called after the file changed (the service re-announces every user's state)."""
        self.licence: Licence | None = None
        self.problem = "The licence file has not been read yet."
        self._stamp: tuple[float, int] | None = None
        self._seats: dict[str, list[str]] = {}
        self._seat_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def _stat(self) -> tuple[float, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime, stat.st_size)

    def load(self) -> None:
        """Read and check the file (blocking: call in a thread)."""
        self._stamp = self._stat()
        try:
            self.licence = read_licence(self.public_key, self.path)
            self.problem = ""
        except PartnerError as exc:
            self.licence, self.problem = None, exc.message
        seats = self.vault.read().get(SEATS_KEY, {})
        self._seats = {k: list(v) for k, v in seats.items()} if isinstance(seats, dict) else {}

    async def start(self) -> None:
        await asyncio.to_thread(self.load)
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if await asyncio.to_thread(self._stat) != self._stamp:
                await asyncio.to_thread(self.load)
                self.on_reload()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def describe(self) -> str:
        if self.licence is None:
            return f"Licence file: {self.problem}"
        lic = self.licence
        scope = f"{len(lic.users)} named users" if lic.users else f"{lic.seats} seats"
        window = lic.window_problem(self.clock())
        return f"Licence file: {lic.licensee}, {scope}, until {lic.expires.isoformat()}" + (
            f" ({window})" if window else ""
        )

    async def state(self, user_id: str) -> LicenceState:
        lic = self.licence
        if lic is None:
            return LicenceState(user_id, False, self.problem)
        window = lic.window_problem(self.clock())
        if window:
            return LicenceState(user_id, False, window, lic.licensee, lic.expires_at)
        if lic.users:
            if user_id in lic.users:
                return LicenceState(user_id, True, f"Licensed to {lic.licensee}.", lic.licensee, lic.expires_at)
            return LicenceState(
                user_id, False, f"The user '{user_id}' is not named in the licence of {lic.licensee}.", lic.licensee
            )
        if await self._take_seat(lic, user_id):
            return LicenceState(user_id, True, f"A seat of {lic.licensee}'s licence.", lic.licensee, lic.expires_at)
        return LicenceState(
            user_id, False, f"All {lic.seats} seats of {lic.licensee}'s licence are taken.", lic.licensee
        )

    async def _take_seat(self, lic: Licence, user_id: str) -> bool:
        held = self._seats.get(lic.id, [])
        if user_id in held:
            return True
        if len(held) >= lic.seats:
            return False
        async with self._seat_lock:

            def change(doc: dict[str, Any]) -> list[str]:
                seats = doc.setdefault(SEATS_KEY, {})
                taken = seats.setdefault(lic.id, [])
                if user_id not in taken and len(taken) < lic.seats:
                    taken.append(user_id)
                return list(taken)

            self._seats[lic.id] = await asyncio.to_thread(self.vault.update, change)
        return user_id in self._seats[lic.id]


def seat_holders(doc: dict[str, Any], licence_id: str) -> list[str]:
    seats = doc.get(SEATS_KEY, {})
    return list(seats.get(licence_id, [])) if isinstance(seats, dict) else []

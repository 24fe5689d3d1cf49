"""Registered applications: who may use the API. Approval is the user's (CLI, UI) or proven by the install token."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from .errors import Conflict, Forbidden, NotFound, TooManyRequests
from .vault import Vault


class AppStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REVOKED = "revoked"


@dataclass(frozen=True)
class AppRecord:
    id: str
    name: str
    status: AppStatus
    user_id: str = ""
    registered: str = ""
    origin: str = ""
    """A paired browser extension's origin, allow-listed for CORS."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AppRecord:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            status=AppStatus(data.get("status", AppStatus.PENDING)),
            user_id=str(data.get("user_id", "")),
            registered=str(data.get("registered", "")),
            origin=str(data.get("origin", "")),
        )


def read_apps(doc: Mapping[str, Any]) -> dict[str, AppRecord]:
    return {app_id: AppRecord.from_dict(data) for app_id, data in doc.get("apps", {}).items()}


@dataclass(frozen=True)
class RegistrationPolicy:
    """Who may register what (SECURITY.md rule 4), in one place.

    - The install token's holder (the user's own programs) registers, renames and re-assigns at once.
    - Without it, a new application waits as *pending* for the user's decision. A known application's name and
      licensed user are the user's to change: a Register of a pending or approved id with other details is refused
      (else any local program could take over an approved application and move its licence); after the user
      revoked an application it may ask again, with any details, and waits again.
    - Pending registrations are capped, new ones are rate-limited, and unanswered ones expire.
    """

    max_pending: int = 20
    new_per_minute: int = 10
    pending_expiry: timedelta = timedelta(days=1)


def _details_differ(old: Mapping[str, Any], name: str, user_id: str) -> bool:
    return str(old.get("name", "")) != name or bool(user_id and user_id != str(old.get("user_id", "")))


def _expire_pending(apps: dict[str, Any], now: datetime, policy: RegistrationPolicy) -> None:
    for app_id, data in list(apps.items()):
        if data.get("status") != AppStatus.PENDING:
            continue
        try:
            asked = datetime.fromisoformat(str(data.get("registered", "")))
        except ValueError:
            asked = now - policy.pending_expiry  # unreadable: treat as old
        if now - asked >= policy.pending_expiry:
            del apps[app_id]


def register_app(
    vault: Vault,
    app_id: str,
    name: str,
    user_id: str,
    *,
    approved: bool,
    policy: RegistrationPolicy = RegistrationPolicy(),
    now: datetime | None = None,
) -> AppRecord:
    """Record a registration request under `policy`; `approved` means the install token was presented."""
    when = now or datetime.now(UTC)

    def change(doc: dict[str, Any]) -> AppRecord:
        apps = doc.setdefault("apps", {})
        _expire_pending(apps, when, policy)
        old = apps.get(app_id)
        if old is None:
            if not approved and sum(a.get("status") == AppStatus.PENDING for a in apps.values()) >= policy.max_pending:
                raise TooManyRequests(
                    f"{policy.max_pending} applications are already waiting for the user's approval; "
                    "ask the user to approve or revoke them first (`partnercrmd apps list`).",
                    code="too_many_pending",
                )
            old = {"registered": when.isoformat(timespec="seconds")}
            status = AppStatus.APPROVED if approved else AppStatus.PENDING
        else:
            status = AppStatus(old.get("status", AppStatus.PENDING))
            if approved:
                status = AppStatus.APPROVED
            elif status is AppStatus.REVOKED:
                status = AppStatus.PENDING  # asking again after revocation needs a new approval
                old = {**old, "registered": when.isoformat(timespec="seconds")}
            elif _details_differ(old, name, user_id):
                shown_user = f" for user '{old.get('user_id')}'" if old.get("user_id") else ""
                raise Conflict(
                    f"The application '{app_id}' is registered as '{old.get('name', '')}'{shown_user}. "
                    "Its name and user change only with the install token, or by the user: revoke it "
                    f"(`partnercrmd apps revoke {app_id}` or the Applications page) and register again.",
                    code="app_details_locked",
                )
        record = {
            **old,
            "id": app_id,
            "name": name,
            "status": str(status),
            "user_id": user_id or old.get("user_id", ""),
        }
        apps[app_id] = record
        return AppRecord.from_dict(record)

    return vault.update(change)


def set_app_status(vault: Vault, app_id: str, status: AppStatus) -> AppRecord:
    """Approve or revoke an application (`partnercrmd apps approve|revoke`, the UI)."""

    def change(doc: dict[str, Any]) -> AppRecord:
        apps = doc.setdefault("apps", {})
        match = apps.get(app_id) or next(
            (a for a in apps.values() if str(a.get("name", "")).lower() == app_id.lower()), None
        )
        if match is None:
            known = ", ".join(apps) or "none"
            raise NotFound(f"No application '{app_id}' has asked to register (known: {known}).", code="unknown_app")
        match["status"] = str(status)
        return AppRecord.from_dict(match)

    return vault.update(change)


class AppRegistry:
    """The daemon's view of the registered applications, refreshed whenever the vault changes."""

    def __init__(self, vault: Vault, policy: RegistrationPolicy | None = None) -> None:
        self.vault = vault
        self.policy = policy or RegistrationPolicy()
        self.apps: dict[str, AppRecord] = {}
        self._changed = asyncio.Condition()
        self._new_asked: deque[float] = deque()
        """When (monotonic) each recent unauthenticated registration of an unknown id was accepted."""
        self.on_waiting: list[Callable[[AppRecord], None]] = []
        """Called when a registration starts to wait for the user (the desktop notification asks them)."""
        self.on_refresh: list[Callable[[], None]] = []
        """Called after the applications were read afresh from the vault."""

    def is_approved(self, app_id: str) -> bool:
        app = self.apps.get(app_id)
        return app is not None and app.status is AppStatus.APPROVED

    def origins(self) -> set[str]:
        return {a.origin for a in self.apps.values() if a.status is AppStatus.APPROVED and a.origin}

    def _count_new_registration(self) -> None:
        """Rate-limit registrations of ids not seen before (TooManyRequests past the policy's rate)."""
        now = time.monotonic()
        while self._new_asked and now - self._new_asked[0] >= 60:
            self._new_asked.popleft()
        if len(self._new_asked) >= self.policy.new_per_minute:
            raise TooManyRequests(
                "Too many new applications asked to register in the last minute; try again in a minute.",
                code="too_many_registrations",
            )
        self._new_asked.append(now)

    async def refresh(self, doc: Mapping[str, Any]) -> None:
        """Take the apps from a freshly read vault document and wake registrations waiting on a decision."""
        self.apps = read_apps(doc)
        for listener in self.on_refresh:
            listener()
        async with self._changed:
            self._changed.notify_all()

    async def register(self, app_id: str, name: str, user_id: str, *, trusted: bool, wait: float) -> AppRecord:
        """Register and wait up to `wait` seconds for the user's approval; Forbidden if not given."""
        if not trusted and app_id not in self.apps:
            self._count_new_registration()
        record = await asyncio.to_thread(
            register_app, self.vault, app_id, name, user_id, approved=trusted, policy=self.policy
        )
        self.apps[app_id] = record
        if record.status is AppStatus.APPROVED:
            return record

        def decided() -> bool:
            return self.apps.get(app_id, record).status is not AppStatus.PENDING

        for listener in self.on_waiting:
            listener(record)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(decided), timeout=wait)
            except TimeoutError:
                raise Forbidden(
                    f"The application '{name}' is waiting for the user's approval: "
                    f"run `partnercrmd apps approve {app_id}` or approve it in the configuration window.",
                    code="approval_pending",
                ) from None
        if self.apps[app_id].status is not AppStatus.APPROVED:
            raise Forbidden(f"The user did not approve the application '{name}'.", code="approval_denied")
        return self.apps[app_id]

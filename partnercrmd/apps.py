"""Registered applications: who may use the API. Approval is the user's (CLI, UI) or proven by the install token."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .errors import Forbidden, NotFound
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


def register_app(vault: Vault, app_id: str, name: str, user_id: str, *, approved: bool) -> AppRecord:
    """Record a registration request; keeps an earlier decision unless `approved` (token holders)."""

    def change(doc: dict[str, Any]) -> AppRecord:
        apps = doc.setdefault("apps", {})
        old = apps.get(app_id, {})
        status = AppStatus.APPROVED if approved else AppStatus(old.get("status", AppStatus.PENDING))
        if status is AppStatus.REVOKED and not approved:
            status = AppStatus.PENDING  # asking again after revocation needs a new approval
        record = {
            **old,
            "id": app_id,
            "name": name,
            "status": str(status),
            "user_id": user_id or old.get("user_id", ""),
            "registered": old.get("registered") or datetime.now(UTC).isoformat(timespec="seconds"),
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

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.apps: dict[str, AppRecord] = {}
        self._changed = asyncio.Condition()

    def is_approved(self, app_id: str) -> bool:
        app = self.apps.get(app_id)
        return app is not None and app.status is AppStatus.APPROVED

    def origins(self) -> set[str]:
        return {a.origin for a in self.apps.values() if a.status is AppStatus.APPROVED and a.origin}

    async def refresh(self, doc: Mapping[str, Any]) -> None:
        """Take the apps from a freshly read vault document and wake registrations waiting on a decision."""
        self.apps = read_apps(doc)
        async with self._changed:
            self._changed.notify_all()

    async def register(self, app_id: str, name: str, user_id: str, *, trusted: bool, wait: float) -> AppRecord:
        """Register and wait up to `wait` seconds for the user's approval; Forbidden if not given."""
        record = await asyncio.to_thread(register_app, self.vault, app_id, name, user_id, approved=trusted)
        self.apps[app_id] = record
        if record.status is AppStatus.APPROVED:
            return record

        def decided() -> bool:
            return self.apps.get(app_id, record).status is not AppStatus.PENDING

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

"""Daemon-wide settings kept in the vault: default region, search deadline, how long Register waits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from .config import DaemonConfig
from .errors import ConfigError
from .vault import Vault


def _region(value: str) -> str:
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"'{value[:10]}' is not a region code such as GB, US or FR.")
    return region


def _whole(low: int, high: int) -> Callable[[str], int]:
    def convert(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"'{value[:20]}' is not a whole number.") from None
        if not low <= number <= high:
            raise ConfigError(f"The value must be from {low} to {high}.")
        return number

    return convert


@dataclass(frozen=True)
class Setting:
    key: str
    help: str
    convert: Callable[[str], Any]


SETTINGS = {
    s.key: s
    for s in (
        Setting("default_region", "region for numbers written without a country code (GB, US…)", _region),
        Setting("search_deadline_ms", "how long each address book may take to answer a search", _whole(50, 30_000)),
        Setting("registration_wait_s", "how long Register waits for the user's approval", _whole(1, 600)),
    )
}


def read_settings(doc: Mapping[str, Any]) -> dict[str, Any]:
    stored = doc.get("settings", {})
    return {key: stored[key] for key in SETTINGS if key in stored}


def change_settings(vault: Vault, given: Mapping[str, str]) -> dict[str, Any]:
    """Check and store settings; returns them all."""
    converted: dict[str, Any] = {}
    for key, value in given.items():
        setting = SETTINGS.get(key)
        if setting is None:
            raise ConfigError(f"There is no setting '{key[:40]}' (settings: {', '.join(SETTINGS)}).")
        converted[key] = setting.convert(value)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        doc.setdefault("settings", {}).update(converted)
        return read_settings(doc)

    return vault.update(change)


def apply_settings(config: DaemonConfig, doc: Mapping[str, Any]) -> None:
    """Take the deadline and registration wait from the vault (the region applies at start)."""
    settings = read_settings(doc)
    if "search_deadline_ms" in settings:
        config.search_deadline = settings["search_deadline_ms"] / 1000
    if "registration_wait_s" in settings:
        config.registration_wait = float(settings["registration_wait_s"])

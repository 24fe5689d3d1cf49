"""Daemon-wide settings kept in the vault: default region, search deadline, how long Register waits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from .config import DaemonConfig
from .errors import ConfigError
from .surfaces import Surface, setting_key, switched_off
from .vault import Vault
from .web_origins import parse_origin_list


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


def _switch(value: str) -> bool:
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"'{value[:20]}' is not on or off.")


def _dial_format(value: str) -> str:
    if value.strip().lower() not in {"e164", "national"}:
        raise ConfigError("The dial format is e164 (send +CC…) or national (0… at home, access code abroad).")
    return value.strip().lower()


def _prefix(value: str) -> str:
    text = value.strip()
    if len(text) > 4 or not all(c.isdigit() or c in "*#" for c in text):
        raise ConfigError("The outside-line prefix is up to four digits (or * #), e.g. 9; empty for none.")
    return text


def _lengths(value: str) -> list[int]:
    try:
        lengths = sorted({int(part) for part in value.replace(" ", "").split(",") if part})
    except ValueError:
        raise ConfigError("Extension lengths are numbers separated by commas, e.g. 3,4.") from None
    if any(not 2 <= n <= 6 for n in lengths):
        raise ConfigError("Extension lengths are from 2 to 6 digits.")
    return lengths


def _web_origins(value: str) -> list[str]:
    return list(parse_origin_list(value))


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
        Setting(
            "port_span", "ports tried from the configured one on (many users on one host), e.g. 100", _whole(1, 1000)
        ),
        Setting("dial_format", "e164, or national (0… at home, international access code abroad)", _dial_format),
        Setting("dial_outside_prefix", "digits the PBX needs for an outside line, e.g. 9", _prefix),
        Setting("dial_extension_lengths", "lengths of internal extensions, dialled as they are, e.g. 3,4", _lengths),
        Setting("clipboard_dialling", "offer numbers copied to the clipboard (on/off)", _switch),
        Setting("screen_read_dialling", "read numbers under the pointer while Ctrl+Shift is held (on/off)", _switch),
        Setting(
            "https_port",
            "HTTPS port (0: off; unset: 10443 once `partnercrmd tls install` made the local authority)",
            _whole(0, 65535),
        ),
        Setting("selection_dialling", "dial the selected text with the selection hotkey (on/off)", _switch),
        Setting("focus_dialling", "dial the number in the focused text field: a button, the hotkey (on/off)", _switch),
        *(
            Setting(
                setting_key(surface),
                f"show the {surface.value} surface on the desktop (on/off; off: only the events)",
                _switch,
            )
            for surface in Surface
        ),
        Setting(
            "web_origins",
            "web pages that may call the API, comma-separated: https://crm.example.com, https://*.example.com",
            _web_origins,
        ),
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
    """Take the runtime settings from the vault (the region applies at start)."""
    settings = read_settings(doc)
    if "search_deadline_ms" in settings:
        config.search_deadline = settings["search_deadline_ms"] / 1000
    if "port_span" in settings:
        config.port_span = settings["port_span"]
    if "registration_wait_s" in settings:
        config.registration_wait = float(settings["registration_wait_s"])
    for key in (
        "dial_format",
        "dial_outside_prefix",
        "clipboard_dialling",
        "screen_read_dialling",
        "selection_dialling",
        "focus_dialling",
    ):
        if key in settings:
            setattr(config, key, settings[key])
    if "dial_extension_lengths" in settings:
        config.dial_extension_lengths = tuple(settings["dial_extension_lengths"])
    config.surfaces_off = switched_off(settings)  # a switch turned back on shows its surface again at once
    config.web_origins = tuple(settings.get("web_origins", ()))  # emptied too: a removed origin is refused at once

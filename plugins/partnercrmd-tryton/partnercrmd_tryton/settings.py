"""The settings of a Tryton book: the schema the configuration UI shows, and their checks at open."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from partnercrmd.sdk import ConfigError, ConfigField, FieldKind

DEFAULT_INDEX_MINUTES = 15

CONFIG = (
    ConfigField(
        "url",
        "Server address",
        FieldKind.URL,
        required=True,
        help="Where trytond answers, e.g. https://erp.example.com or http://tryton.local:8000.",
    ),
    ConfigField("database", "Database", FieldKind.TEXT, required=True, help="The name of the Tryton database."),
    ConfigField("username", "User name", FieldKind.TEXT, required=True, help="The Tryton login partnercrmd uses."),
    ConfigField("password", "Password", FieldKind.SECRET, required=True, help="That user's Tryton password."),
    ConfigField(
        "web_url",
        "Web client address",
        FieldKind.URL,
        help="Where users open Tryton in the browser (the web client, sao). Empty: the server address.",
    ),
    ConfigField(
        "log_calls",
        "Log calls as notes",
        FieldKind.BOOL,
        default=True,
        help="Write each logged call as a note on the party; off: calls are not written to Tryton.",
    ),
    ConfigField(
        "index_minutes",
        "Number index refresh (minutes)",
        FieldKind.INT,
        default=DEFAULT_INDEX_MINUTES,
        help="How old the local index of phone numbers may get before it is read again from Tryton; "
        "it finds numbers Tryton stores without their international form. 0: no index.",
    ),
)


@dataclass(frozen=True)
class TrytonSettings:
    url: str
    database: str
    username: str
    password: str = field(repr=False)
    web_url: str = ""
    log_calls: bool = True
    index_minutes: int = DEFAULT_INDEX_MINUTES


def base_url(value: object, key: str, required: bool) -> str:
    """An http(s) address without query, fragment or trailing slash; ConfigError naming `key` otherwise."""
    text = str(value or "").strip()
    if not text:
        if required:
            raise ConfigError(f"The setting '{key}' is empty: give the Tryton server's address.")
        return ""
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"The setting '{key}' must be an http:// or https:// address, such as http://erp:8000.")
    if parts.username is not None or parts.password is not None:
        # It would be shown wherever the address is, and sent to the server as a second Authorization.
        raise ConfigError(
            f"The setting '{key}' must not contain a user name or password: use the settings 'username' and 'password'."
        )
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))


def _required_text(settings: Mapping[str, Any], key: str, what: str) -> str:
    text = str(settings.get(key) or "").strip()
    if not text:
        raise ConfigError(f"The setting '{key}' is empty: give {what}.")
    return text


def parse_settings(settings: Mapping[str, Any]) -> TrytonSettings:
    """The book's settings, checked beyond what the schema can say."""
    url = base_url(settings.get("url"), "url", required=True)
    minutes = settings.get("index_minutes")
    index_minutes = DEFAULT_INDEX_MINUTES if minutes is None else int(minutes)
    if index_minutes < 0:
        raise ConfigError("The setting 'index_minutes' must be 0 (no index) or more.")
    log_calls = settings.get("log_calls")
    return TrytonSettings(
        url=url,
        database=_required_text(settings, "database", "the name of the Tryton database"),
        username=_required_text(settings, "username", "the Tryton login to use"),
        password=str(settings.get("password") or ""),
        web_url=base_url(settings.get("web_url"), "web_url", required=False) or url,
        log_calls=True if log_calls is None else bool(log_calls),
        index_minutes=index_minutes,
    )

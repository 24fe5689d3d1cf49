"""A Request Tracker book's settings: the schema the configuration UI shows, and the settings checked further."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from partnercrmd.sdk import ConfigError, ConfigField, FieldKind


class LogCalls(StrEnum):
    """Where a call is written in RT (the setting `log_calls`)."""

    COMMENT = "comment"
    """A comment on the user's most recently updated open ticket; a new ticket when the user has none open."""
    TICKET = "ticket"
    """Always a new ticket in the book's queue, the user as its requestor."""
    OFF = "off"
    """Calls are not logged."""


@dataclass(frozen=True)
class BookSettings:
    url: str
    token: str
    log_calls: LogCalls
    queue: str
    index_minutes: int
    timeout_seconds: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> BookSettings:
        """The settings as the schema delivers them, with what it cannot check checked (ConfigError)."""
        log_calls = str(settings.get("log_calls") or LogCalls.COMMENT).strip()
        if log_calls not in {choice.value for choice in LogCalls}:
            raise ConfigError("The setting 'log_calls' must be one of: comment, ticket, off.")
        loaded = cls(
            url=str(settings.get("url") or "").strip().rstrip("/"),
            token=str(settings.get("token") or "").strip(),
            log_calls=LogCalls(log_calls),
            queue=str(settings.get("queue") or "General").strip(),
            index_minutes=_whole(settings.get("index_minutes"), 15, "index_minutes"),
            timeout_seconds=_whole(settings.get("timeout_seconds"), 10, "timeout_seconds"),
        )
        loaded.check()
        return loaded

    def check(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(
                "The setting 'url' must be the address RT's web pages open at (its WebBaseURL and WebPath), "
                "such as https://rt.example.com or https://www.example.com/rt."
            )
        if self.url.endswith("/REST/2.0"):
            raise ConfigError("The setting 'url' is RT's own address, without /REST/2.0.")
        if not self.token:
            raise ConfigError(
                "The setting 'token' is empty: make an authentication token in RT (Logged in as … > Settings > "
                "Auth Tokens) and give it here."
            )
        if not self.queue:
            raise ConfigError("The setting 'queue' is empty: name the RT queue new tickets go to (e.g. General).")
        if not 1 <= self.index_minutes <= 24 * 60:
            raise ConfigError("The setting 'index_minutes' must be between 1 and 1440.")
        if not 1 <= self.timeout_seconds <= 120:
            raise ConfigError("The setting 'timeout_seconds' must be between 1 and 120.")


def _whole(value: object, default: int, key: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError:
        raise ConfigError(f"The setting '{key}' must be a whole number.") from None


CONFIG = (
    ConfigField(
        "url",
        "RT address",
        FieldKind.URL,
        required=True,
        help="Where RT's web pages open, e.g. https://rt.example.com or https://www.example.com/rt "
        "(REST2 is under it, at /REST/2.0/).",
    ),
    ConfigField(
        "token",
        "Authentication token",
        FieldKind.SECRET,
        required=True,
        help="An RT authentication token (Logged in as … > Settings > Auth Tokens) of a privileged user with the "
        "AdminUsers right (RT shows users' phone numbers only to it, and it creates users), and the rights to "
        "see, comment on and create tickets in the queue.",
    ),
    ConfigField(
        "log_calls",
        "Log calls",
        FieldKind.CHOICE,
        default=LogCalls.COMMENT.value,
        choices=tuple(choice.value for choice in LogCalls),
        help="comment: as a comment on the caller's most recently updated open ticket (a new ticket when there "
        "is none); ticket: always as a new ticket; off: calls are not logged.",
    ),
    ConfigField(
        "queue",
        "Queue for new tickets",
        FieldKind.TEXT,
        default="General",
        help="The RT queue a call's new ticket goes to (its name or number).",
    ),
    ConfigField(
        "index_minutes",
        "Read every user's numbers again every (minutes)",
        FieldKind.INT,
        default=15,
        advanced=True,
        help="RT cannot search users by phone number, so partnercrmd keeps an index of them, read again this "
        "often; users changed since are also checked at each search that finds no one.",
    ),
    ConfigField(
        "timeout_seconds",
        "Request timeout (seconds)",
        FieldKind.INT,
        default=10,
        advanced=True,
        help="How long one request to RT may take (searches also have the phone client's deadline).",
    ),
)
"""The integration's settings schema (`Integration.config`)."""

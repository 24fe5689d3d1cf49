"""A BottleCRM book's settings: the schema the configuration UI shows, and the settings checked further."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from partnercrmd.sdk import ConfigError, ConfigField, FieldKind

ID_PLACEHOLDER = "{id}"


@dataclass(frozen=True)
class BookSettings:
    url: str
    token: str
    web_url_template: str
    web_edit_url_template: str
    log_calls: bool
    index_minutes: int
    timeout_seconds: int

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> BookSettings:
        """The settings as the schema delivers them, with what it cannot check checked (ConfigError)."""
        loaded = cls(
            url=str(settings.get("url") or "").strip(),
            token=str(settings.get("token") or "").strip(),
            web_url_template=str(settings.get("web_url_template") or "").strip(),
            web_edit_url_template=str(settings.get("web_edit_url_template") or "").strip(),
            log_calls=bool(settings.get("log_calls", True)),
            index_minutes=_whole(settings.get("index_minutes"), 15),
            timeout_seconds=_whole(settings.get("timeout_seconds"), 10),
        )
        loaded.check()
        return loaded

    def check(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("The setting 'url' must be BottleCRM's API address, such as https://api.example.com.")
        if not self.token:
            raise ConfigError("The setting 'token' is empty: give a personal access token (bcrm_pat_…).")
        for key, template in (
            ("web_url_template", self.web_url_template),
            ("web_edit_url_template", self.web_edit_url_template),
        ):
            if template and (ID_PLACEHOLDER not in template or urlsplit(template).scheme not in ("http", "https")):
                raise ConfigError(
                    f"The setting '{key}' must be an http(s) address containing {ID_PLACEHOLDER}, "
                    "such as https://crm.example.com/contacts/{id}."
                )
        if not 1 <= self.index_minutes <= 24 * 60:
            raise ConfigError("The setting 'index_minutes' must be between 1 and 1440.")
        if not 1 <= self.timeout_seconds <= 120:
            raise ConfigError("The setting 'timeout_seconds' must be between 1 and 120.")


def _whole(value: object, default: int) -> int:
    return default if value is None or value == "" else int(str(value))


CONFIG = (
    ConfigField(
        "url",
        "BottleCRM API address",
        FieldKind.URL,
        required=True,
        help="The address of BottleCRM's API server (the part before /api/), e.g. https://api.crm.example.com.",
    ),
    ConfigField(
        "token",
        "Personal access token",
        FieldKind.SECRET,
        required=True,
        help="A personal access token (bcrm_pat_…) from BottleCRM's settings. Calls and new contacts are "
        "written as its user. The organisation API key works too, for searching only.",
    ),
    ConfigField(
        "web_url_template",
        "Contact page address",
        FieldKind.TEXT,
        default="",
        help="Where a contact opens in BottleCRM's web app, with {id} for the contact, e.g. "
        "https://crm.example.com/contacts/{id}. Empty: partnercrmd's own record page.",
    ),
    ConfigField(
        "web_edit_url_template",
        "Contact edit page address",
        FieldKind.TEXT,
        default="",
        help="Where a contact opens for editing, with {id}. Empty: partnercrmd's own edit page, which saves "
        "into BottleCRM.",
    ),
    ConfigField(
        "log_calls",
        "Log calls in BottleCRM",
        FieldKind.BOOL,
        default=True,
        help="Write calls as interactions (kind call) on the contact.",
    ),
    ConfigField(
        "index_minutes",
        "Refresh the number index every (minutes)",
        FieldKind.INT,
        default=15,
        help="Number searches use a local index of the book's phone numbers, read again this often.",
    ),
    ConfigField(
        "timeout_seconds",
        "Request timeout (seconds)",
        FieldKind.INT,
        default=10,
        help="How long one request to BottleCRM may take (searches also have the phone client's deadline).",
    ),
)
"""The integration's settings schema (`Integration.config`)."""

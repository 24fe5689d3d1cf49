"""The book's settings: the schema the configuration UI shows, and the checks the schema cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from partnercrmd.sdk import ConfigError, ConfigField, FieldKind

DEFAULT_ID_FIELD = "id"
ID_PLACEHOLDER = "{id}"

CONFIG = (
    ConfigField(
        "path",
        "Directory file",
        FieldKind.PATH,
        required=True,
        help="Full path of a JSON file holding a list of people: "
        "id, name, company, title, email, phones {business, mobile, home, fax}.",
    ),
    ConfigField(
        "url_template",
        "Record address",
        FieldKind.URL,
        help="Where a person opens, with {id} for their id, e.g. https://intranet.example/people/{id}. "
        "Empty: partnercrmd's own record page.",
    ),
    ConfigField(
        "id_field",
        "Id field",
        FieldKind.TEXT,
        default=DEFAULT_ID_FIELD,
        help="The field of each entry that holds its unique id.",
    ),
)
"""The integration's settings schema (`Integration.config`)."""


@dataclass(frozen=True)
class DirectorySettings:
    """A book's settings, checked: what the connector works with."""

    path: Path
    """The directory file: absolute, `~` expanded."""
    id_field: str
    url_template: str
    """An http(s) address with {id}, or "" for partnercrmd's own record page."""


def check_url_template(template: str) -> None:
    """An empty template, or an http(s) address with `{id}` where the person's id goes; else ConfigError."""
    if not template:
        return
    if urlsplit(template).scheme.lower() not in {"http", "https"}:
        raise ConfigError("The setting 'url_template' must be an http:// or https:// address.")
    if ID_PLACEHOLDER not in template:
        raise ConfigError(
            "The setting 'url_template' must contain {id} where the person's id goes, "
            "e.g. https://intranet.example/people/{id}."
        )


def parse_settings(settings: Mapping[str, Any]) -> DirectorySettings:
    """The settings as the book opens with them; ConfigError saying what to change when they cannot work.

    The file itself is not looked at: it is read on first use, so a file that appears later is picked up.
    """
    given_path = str(settings.get("path") or "").strip()
    if not given_path:
        raise ConfigError("The setting 'path' is empty: give the full path of the directory's JSON file.")
    path = Path(given_path).expanduser()
    if not path.is_absolute():
        # The daemon's working directory is not the user's; a relative path would point somewhere else.
        raise ConfigError(
            f"The setting 'path' must be a full path (such as /srv/people.json), not {given_path[:200]!r}."
        )
    url_template = str(settings.get("url_template") or "").strip()
    check_url_template(url_template)
    id_field = str(settings.get("id_field") or "").strip() or DEFAULT_ID_FIELD
    return DirectorySettings(path, id_field, url_template)

"""Named presets of the CardDAV add-in: Nextcloud, iCloud, Fastmail, SOGo, DAViCal, mailbox.org, Google Contacts.

Each preset is a catalogue entry of its own (an `Integration` with id ``carddav-<service>``) whose form asks only
for what varies between users of that service (server host, user name, e-mail, app password) and builds the
`carddav` book's ``url`` from the service's published address pattern. `preset_settings` is the one place a
preset's fields become `carddav` settings: opening a book, checking its settings and the Test button all go
through it, so a preset book is an ordinary `carddav` book once it is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from partnercrmd.sdk import (
    BookContext,
    ConfigError,
    SettingsCheck,
)

from .settings import APP_PASSWORD, EMAIL, HOST, OAUTH, PASSWORD, PRESET_LABELS, USERNAME
from .version import USER_AGENT

if TYPE_CHECKING:
    from .connector import CardDavBook

GUIDE_URL = "https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-carddav/README.md"


@dataclass(frozen=True)
class Preset:
    """One CardDAV service: where its address books live, how one signs in, and the vendor's page saying so."""

    key: str
    """The service's word in the entry's id: ``carddav-<key>``."""
    service: str
    url_pattern: str
    """The address book's address, with {host}, {username} and {email} where the user's own values go."""
    sign_in: str
    """PASSWORD, APP_PASSWORD or OAUTH."""
    login: str
    """Which field is the sign-in name: USERNAME or EMAIL."""
    vendor_docs: str
    """The vendor's documentation page the address pattern and the sign-in kind come from."""
    aliases: tuple[str, ...] = ()
    missing: str = ""
    """Why this add-in cannot sign in to the service yet ("" when it can): shown on the form and refused at save."""

    @property
    def integration_id(self) -> str:
        return f"carddav-{self.key}"

    @property
    def fields(self) -> tuple[str, ...]:
        """The values the form asks for, in form order: those in the address pattern, and the sign-in name."""
        wanted = [name for name in (HOST, USERNAME, EMAIL) if "{" + name + "}" in self.url_pattern]
        if self.login not in wanted:
            wanted.append(self.login)
        return tuple(name for name in (HOST, USERNAME, EMAIL) if name in wanted)


PRESETS: tuple[Preset, ...] = (
    Preset(
        "nextcloud",
        "Nextcloud",
        "{host}/remote.php/dav/addressbooks/users/{username}/contacts/",
        APP_PASSWORD,
        USERNAME,
        "https://docs.nextcloud.com/server/31/admin_manual/groupware/contacts.html",
        ("Nextcloud Contacts", "ownCloud", "self-hosted"),
    ),
    Preset(
        "icloud",
        "iCloud",
        "https://contacts.icloud.com/",
        APP_PASSWORD,
        EMAIL,
        "https://support.apple.com/en-in/102654",
        ("Apple", "iPhone contacts", "Apple ID"),
    ),
    Preset(
        "fastmail",
        "Fastmail",
        "https://carddav.fastmail.com/dav/addressbooks/user/{email}/Default/",
        APP_PASSWORD,
        EMAIL,
        "https://fastmail.blog/2015/08/21/carddav-your-contacts-everywhere-you-need-them/",
        ("FastMail",),
    ),
    Preset(
        "sogo",
        "SOGo",
        "{host}/SOGo/dav/{username}/Contacts/personal/",
        PASSWORD,
        USERNAME,
        "https://sogo.nu/files/docs/SOGoInstallationGuide.html",
        ("Alinto", "Inverse", "groupware"),
    ),
    Preset(
        "davical",
        "DAViCal",
        "{host}/caldav.php/{username}/addresses/",
        PASSWORD,
        USERNAME,
        "https://www.davical.org/clients.php",
        ("CalDAV server", "PostgreSQL"),
    ),
    Preset(
        "mailbox-org",
        "mailbox.org",
        "https://dav.mailbox.org/carddav/",
        APP_PASSWORD,
        EMAIL,
        "https://kb.mailbox.org/",
        ("mailbox", "Heinlein"),
    ),
    Preset(
        "google",
        "Google Contacts",
        "https://www.googleapis.com/carddav/v1/principals/{email}/lists/default/",
        OAUTH,
        EMAIL,
        "https://developers.google.com/people/carddav",
        ("Google", "Gmail", "Google Workspace", "G Suite"),
        missing="Google's CardDAV accepts only OAuth 2.0 sign-in, and the CardDAV add-in signs in with a user name "
        "and password: this entry cannot connect. Use the Google Contacts integration instead (Sign in with "
        "Google, from the templates add-in), or Google's own contacts export in a local address book.",
    ),
)
"""The presets, in catalogue order."""

PRESETS_BY_ID: dict[str, Preset] = {p.integration_id: p for p in PRESETS}


def _text(fields: Mapping[str, Any], key: str) -> str:
    value = fields.get(key)
    return str(value).strip() if value is not None else ""


def _base(host: str) -> str:
    """The server's base address from the 'host' field: a bare host name (and port) means https://HOST; a full
    address (http:// or https://, with a path for a server installed under one) is kept, without a trailing /."""
    if "://" in host:
        parts = urlsplit(host)
        if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"The setting 'host' must be a server name or an http(s):// address, not {host[:200]!r}.")
        if parts.query or parts.fragment or parts.username is not None:
            raise ConfigError("The setting 'host' must be a server name or address without ?, # or a user name.")
        return host.rstrip("/")
    if any(c in host for c in "/?#@ "):
        raise ConfigError(
            f"The setting 'host' must be the server's name (cloud.example.com) or address "
            f"(https://example.com/nextcloud), not {host[:200]!r}."
        )
    return "https://" + host


def build_url(preset: Preset, fields: Mapping[str, Any]) -> str:
    """The address book's address from the form's fields; ConfigError naming the field that is missing or wrong."""
    values: dict[str, str] = {}
    for name in preset.fields:
        value = _text(fields, name)
        if not value:
            raise ConfigError(
                f"The setting '{name}' is empty: {preset.service} needs your {PRESET_LABELS[name].lower()}."
            )
        if name == EMAIL and ("@" not in value or "/" in value):
            raise ConfigError(f"The setting 'email' must be your e-mail address, not {value[:200]!r}.")
        if name == USERNAME and "/" in value:
            raise ConfigError("The setting 'username' must not contain '/'.")
        values[name] = _base(value) if name == HOST else quote(value, safe="@")
    return preset.url_pattern.format(**values)


def preset_settings(preset: Preset, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A preset book's fields as the `carddav` integration reads them: the built 'url' and the sign-in name.

    Raises ConfigError for a preset this add-in cannot sign in to (`Preset.missing`).
    """
    if preset.missing:
        raise ConfigError(preset.missing)
    settings = {k: v for k, v in fields.items() if k not in (HOST, USERNAME, EMAIL)}
    settings["url"] = build_url(preset, fields)
    settings["username"] = _text(fields, preset.login)
    return settings


def open_preset_book(preset: Preset, context: BookContext) -> CardDavBook:
    """A preset book opened as the `carddav` book of the address built from its form."""
    from .connector import open_book  # the connector's imports when a book opens, not at every daemon start

    return open_book(replace(context, settings=preset_settings(preset, context.settings)))


async def check_preset_settings(preset: Preset, fields: Mapping[str, Any], connect: bool) -> SettingsCheck:
    """The settings check of a preset book: the `carddav` check on the address built from the form."""
    from .checks import check_settings

    return await check_settings(preset_settings(preset, fields), connect, user_agent=USER_AGENT)


def preset_description(preset: Preset) -> str:
    """What the catalogue says of the preset: the service, its address pattern, the sign-in and the vendor's page."""
    kind = {PASSWORD: "your password", APP_PASSWORD: "an app password", OAUTH: "OAuth 2.0"}[preset.sign_in]
    text = (
        f"Contacts in {preset.service} over CardDAV ({preset.url_pattern}), signing in with {kind}; "
        f"the vendor's guide: {preset.vendor_docs}"
    )
    return f"{text}. Not available yet: {preset.missing}" if preset.missing else text + "."

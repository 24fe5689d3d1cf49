"""Named presets of the CardDAV add-in: Nextcloud, iCloud, Fastmail, SOGo, DAViCal, mailbox.org, Google Contacts.

Each preset is a catalogue entry of its own (an `Integration` with id ``carddav-<service>``) whose form asks only
for what varies between users of that service (server host, user name, e-mail, app password) and builds the
`carddav` book's ``url`` from the service's published address pattern. `preset_settings` is the one place a
preset's fields become `carddav` settings: opening a book, checking its settings and the Test button all go
through it, so a preset book is an ordinary `carddav` book once it is open.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

from partnercrmd.sdk import (
    BookContext,
    ConfigError,
    ConfigField,
    FieldKind,
    Integration,
    SettingsCheck,
)

from .checks import check_settings
from .connector import USER_AGENT, CardDavBook, open_book
from .settings import CONFIG

PASSWORD = "password"  # noqa: S105  (a sign-in kind, not a password)
"""Sign-in kind: the account's own password (self-hosted servers)."""
APP_PASSWORD = "app password"  # noqa: S105  (a sign-in kind, not a password)
"""Sign-in kind: a password made for this one application in the service's account settings."""
OAUTH = "oauth"
"""Sign-in kind: OAuth 2.0 only; the CardDAV add-in signs in with HTTP Basic, so such a preset cannot work yet."""

HOST = "host"
USERNAME = "username"
EMAIL = "email"

GUIDE_URL = "https://github.com/partnercrmd/partnercrmd/blob/main/plugins/partnercrmd-carddav/README.md"

# The settings of the plain `carddav` entry a preset's form still offers, under "Advanced": how calls are
# logged, the contact's web page, the vCard version and a certificate for a self-hosted server.
_ADVANCED_KEYS = ("activity_mode", "calendar_url", "web_url_template", "vcard_version", "ca_file")


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
        "{host}/caldav.php/{username}/addressbook/",
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
        "and password: this entry cannot connect yet. Use Google's own contacts export in a local address book, "
        "or sync Google Contacts to a CardDAV server this add-in reaches.",
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
            raise ConfigError(f"The setting '{name}' is empty: {preset.service} needs your {_LABELS[name].lower()}.")
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


def _open_preset_book(preset: Preset, context: BookContext) -> CardDavBook:
    return open_book(replace(context, settings=preset_settings(preset, context.settings)))


async def _check_preset_settings(preset: Preset, fields: Mapping[str, Any], connect: bool) -> SettingsCheck:
    return await check_settings(preset_settings(preset, fields), connect, user_agent=USER_AGENT)


_LABELS = {HOST: "Server", USERNAME: "User name", EMAIL: "E-mail address"}


def _form(preset: Preset) -> tuple[ConfigField, ...]:
    """What the preset's form asks: the values that vary, the (app) password, and the advanced carddav settings."""
    helps = {
        HOST: f"Your {preset.service} server's name (cloud.example.com), or its address with the path it is "
        "installed under (https://example.com/nextcloud).",
        USERNAME: f"Your user name on {preset.service}.",
        EMAIL: f"The e-mail address you sign in to {preset.service} with.",
    }
    asked = [
        ConfigField(name, _LABELS[name], FieldKind.TEXT, required=True, help=helps[name]) for name in preset.fields
    ]
    if preset.sign_in == OAUTH:
        password_help = "Not used: " + preset.missing
    elif preset.sign_in == APP_PASSWORD:
        password_help = f"An app password made for this application in your {preset.service} account (see the guide)."
    else:
        password_help = f"Your {preset.service} password."
    label = "App password" if preset.sign_in == APP_PASSWORD else "Password"
    asked.append(ConfigField("password", label, FieldKind.SECRET, required=not preset.missing, help=password_help))
    advanced = [replace(f, advanced=True) for f in CONFIG if f.key in _ADVANCED_KEYS]
    return (*asked, *advanced)


def _description(preset: Preset) -> str:
    kind = {PASSWORD: "your password", APP_PASSWORD: "an app password", OAUTH: "OAuth 2.0"}[preset.sign_in]
    text = (
        f"Contacts in {preset.service} over CardDAV ({preset.url_pattern}), signing in with {kind}; "
        f"the vendor's guide: {preset.vendor_docs}"
    )
    return f"{text}. Not available yet: {preset.missing}" if preset.missing else text + "."


def preset_integration(preset: Preset, base: Integration) -> Integration:
    """The catalogue entry of `preset`: the `carddav` integration with the preset's form, guide and name."""
    return Integration(
        id=preset.integration_id,
        name=f"{preset.service} (CardDAV)",
        version=base.version,
        open=functools.partial(_open_preset_book, preset),
        # A preset that cannot sign in promises nothing it cannot do.
        capabilities=frozenset() if preset.missing else base.capabilities,
        description=_description(preset),
        config=_form(preset),
        check_settings=functools.partial(_check_preset_settings, preset),
        guide_url=f"{GUIDE_URL}#{preset.key}",
        release_notes=base.release_notes,
        extra={
            "category": "Directory",
            "aliases": [preset.service, *preset.aliases, "CardDAV"],
            "url_pattern": preset.url_pattern,
            "sign_in": preset.sign_in,
            "vendor_docs": preset.vendor_docs,
            "missing": preset.missing,
        },
    )


def preset_integrations(base: Integration) -> Sequence[Integration]:
    """Every preset's catalogue entry, built on the `carddav` integration `base`."""
    return [preset_integration(p, base) for p in PRESETS]

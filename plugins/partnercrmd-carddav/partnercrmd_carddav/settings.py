"""The book's settings: the schema the configuration UI shows, and the checks the schema cannot express."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from partnercrmd.sdk import ConfigError, ConfigField, FieldKind

from .cards import VERSIONS

NOTE_MODE = "note"
JOURNAL_MODE = "journal"
PLACEHOLDERS = ("{uid}", "{id}")

CONFIG = (
    ConfigField(
        "url",
        "Server address",
        FieldKind.URL,
        required=True,
        help="The CardDAV server (e.g. https://cloud.example.com/remote.php/dav, https://contacts.icloud.com, "
        "https://carddav.fastmail.com) or the address book's own address.",
    ),
    ConfigField("username", "User name", FieldKind.TEXT, help="Your user name on the server (often your email)."),
    ConfigField(
        "password",
        "Password",
        FieldKind.SECRET,
        help="The password, or an app password where the server asks for one (iCloud, Fastmail, two-factor sign-in).",
    ),
    ConfigField(
        "addressbook",
        "Address book",
        FieldKind.TEXT,
        help="Which address book: its path (/alice/contacts/) or the name your contacts app shows. "
        "Empty: the one 'Server address' points at, or the first one found.",
    ),
    ConfigField(
        "activity_mode",
        "Log calls as",
        FieldKind.CHOICE,
        default=NOTE_MODE,
        choices=(NOTE_MODE, JOURNAL_MODE),
        help="note: a line in the contact's notes; journal: a journal entry in the calendar given below.",
    ),
    ConfigField(
        "calendar_url",
        "Call log calendar",
        FieldKind.URL,
        help="For 'journal': the address of a calendar on the same server that accepts journal entries (VJOURNAL).",
    ),
    ConfigField(
        "web_url_template",
        "Web address of a contact",
        FieldKind.URL,
        help="Where Open shows a contact, with {uid} for the contact's UID, e.g. "
        "https://cloud.example.com/apps/contacts/All%20contacts/{uid}~contacts. Empty: partnercrmd's own page.",
    ),
    ConfigField(
        "vcard_version",
        "vCard version for new contacts",
        FieldKind.CHOICE,
        default="3.0",
        choices=VERSIONS,
        help="3.0 works with every server (iCloud needs it); changed contacts keep their own version.",
    ),
    ConfigField(
        "ca_file",
        "Trusted certificate",
        FieldKind.PATH,
        help="For a server with its own (self-signed) certificate: the full path of that certificate "
        "or of its CA, in PEM form.",
    ),
)


@dataclass(frozen=True)
class CardDavSettings:
    url: str
    username: str
    password: str = field(repr=False)
    addressbook: str
    activity_mode: str
    calendar_url: str
    web_url_template: str
    vcard_version: str
    ca_file: Path | None

    @property
    def source(self) -> str:
        """What identifies the cards the local index holds: a change of any of these starts it afresh."""
        return "\n".join((self.url, self.username, self.addressbook))

    def ssl_context(self) -> ssl.SSLContext | None:
        """A context trusting `ca_file` as well as the system's CAs; None for the default. Reads the file."""
        if self.ca_file is None:
            return None
        context = ssl.create_default_context()
        try:
            context.load_verify_locations(cafile=str(self.ca_file))
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConfigError(f"The certificate file {self.ca_file} cannot be used ({reason}).") from None
        return context


def _text(settings: Mapping[str, Any], key: str) -> str:
    value = settings.get(key)
    return str(value).strip() if value is not None else ""


def _check_http(url: str, key: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"The setting '{key}' must be an http:// or https:// address with a server name.")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"The setting '{key}' must not contain a user name or password: put them in 'username' and 'password'."
        )


def _same_server(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme.lower(), pa.hostname, pa.port) == (pb.scheme.lower(), pb.hostname, pb.port)


def parse_settings(settings: Mapping[str, Any]) -> CardDavSettings:
    """The settings checked; ConfigError with what to change."""
    url = _text(settings, "url")
    if not url:
        raise ConfigError("The setting 'url' is empty: give the address of the CardDAV server.")
    _check_http(url, "url")
    mode = _text(settings, "activity_mode") or NOTE_MODE
    if mode not in (NOTE_MODE, JOURNAL_MODE):
        raise ConfigError("The setting 'activity_mode' must be 'note' or 'journal'.")
    calendar_url = _text(settings, "calendar_url")
    if mode == JOURNAL_MODE:
        if not calendar_url:
            raise ConfigError("Logging calls as 'journal' needs the setting 'calendar_url': a calendar on the server.")
        _check_http(calendar_url, "calendar_url")
        if not _same_server(url, calendar_url):
            raise ConfigError(
                "The setting 'calendar_url' must be on the same server as 'url' (the same password is sent to it)."
            )
    template = _text(settings, "web_url_template")
    if template:
        _check_http(template.replace("{uid}", "x").replace("{id}", "x"), "web_url_template")
        if not any(p in template for p in PLACEHOLDERS):
            raise ConfigError(
                "The setting 'web_url_template' must contain {uid} where the contact's UID goes, "
                "e.g. https://cloud.example.com/apps/contacts/All%20contacts/{uid}~contacts."
            )
    username = _text(settings, "username")
    if ":" in username:
        raise ConfigError("The setting 'username' must not contain ':' (HTTP sign-in cannot send it).")
    version = _text(settings, "vcard_version") or "3.0"
    if version not in VERSIONS:
        raise ConfigError("The setting 'vcard_version' must be 3.0 or 4.0.")
    ca_text = _text(settings, "ca_file")
    ca_file = Path(ca_text).expanduser() if ca_text else None
    if ca_file is not None and not ca_file.is_absolute():
        raise ConfigError(f"The setting 'ca_file' must be a full path, not {ca_text[:200]!r}.")
    return CardDavSettings(
        url=url,
        username=username,
        password=str(settings.get("password") or ""),
        addressbook=_text(settings, "addressbook"),
        activity_mode=mode,
        calendar_url=calendar_url,
        web_url_template=template,
        vcard_version=version,
        ca_file=ca_file,
    )


# --- the forms of the named presets (presets.py): only what varies, then the plain entry's advanced settings ----

PASSWORD = "password"  # noqa: S105  (a sign-in kind, not a password)
"""Sign-in kind: the account's own password (self-hosted servers)."""
APP_PASSWORD = "app password"  # noqa: S105  (a sign-in kind, not a password)
"""Sign-in kind: a password made for this one application in the service's account settings."""
OAUTH = "oauth"
"""Sign-in kind: OAuth 2.0 only; the CardDAV add-in signs in with HTTP Basic, so such a preset cannot work yet."""

HOST = "host"
USERNAME = "username"
EMAIL = "email"

# The settings of the plain `carddav` entry a preset's form still offers, under "Advanced": how calls are
# logged, the contact's web page, the vCard version and a certificate for a self-hosted server.
PRESET_ADVANCED_KEYS = ("activity_mode", "calendar_url", "web_url_template", "vcard_version", "ca_file")

PRESET_LABELS = {HOST: "Server", USERNAME: "User name", EMAIL: "E-mail address"}


def preset_form(service: str, fields: Sequence[str], sign_in: str, missing: str) -> tuple[ConfigField, ...]:
    """What the preset's form asks: the values that vary, the (app) password, and the advanced carddav settings."""
    helps = {
        HOST: f"Your {service} server's name (cloud.example.com), or its address with the path it is "
        "installed under (https://example.com/nextcloud).",
        USERNAME: f"Your user name on {service}.",
        EMAIL: f"The e-mail address you sign in to {service} with.",
    }
    asked = [ConfigField(name, PRESET_LABELS[name], FieldKind.TEXT, required=True, help=helps[name]) for name in fields]
    if sign_in == OAUTH:
        password_help = "Not used: " + missing
    elif sign_in == APP_PASSWORD:
        password_help = f"An app password made for this application in your {service} account (see the guide)."
    else:
        password_help = f"Your {service} password."
    label = "App password" if sign_in == APP_PASSWORD else "Password"
    asked.append(ConfigField("password", label, FieldKind.SECRET, required=not missing, help=password_help))
    advanced = [replace(f, advanced=True) for f in CONFIG if f.key in PRESET_ADVANCED_KEYS]
    return (*asked, *advanced)

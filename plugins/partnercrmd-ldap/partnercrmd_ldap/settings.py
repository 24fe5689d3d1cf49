"""The settings of an LDAP address book: the schema the configuration UI shows, and the checks it cannot express.

The hook's module imports this one at every start of the daemon, so ldap3 (slow to import) is imported only
inside `parse_settings`, when a book opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partnercrmd.sdk import ConfigError, ConfigField, FieldKind

from .presets import OPENLDAP, PHONE_SETTING_KEYS, PRESET_NAMES, PRESETS, AttributeMap, Preset

if TYPE_CHECKING:
    from .client import ConnectionSettings

DEFAULT_TIMEOUT = 5
DEFAULT_INDEX_MINUTES = 15
MAX_INDEX_MINUTES = 1440
PRESET_CHOICE = "preset"
"""The default of 'modified_attribute': the preset's attribute. A stored word, not an empty field, because the
book form posts an untouched empty field as "" and empty means no bound."""
ATTRIBUTE_SETTINGS = {
    "attr_display_name": ("display_name", "Display name attribute", "cn / displayName"),
    "attr_first_name": ("first_name", "First name attribute", "givenName"),
    "attr_last_name": ("last_name", "Last name attribute", "sn"),
    "attr_company": ("company", "Company attribute", "o / company"),
    "attr_job_title": ("job_title", "Job title attribute", "title"),
    "attr_email": ("email", "Email attribute", "mail"),
    "attr_notes": ("notes", "Notes attribute", "description / info"),
    "attr_picture": ("picture", "Photo attribute", "jpegPhoto / thumbnailPhoto"),
    "attr_id": ("id", "Unique id attribute", "entryUUID / objectGUID"),
    **{
        f"attr_{key}": (key, f"{key.replace('_', ' ').capitalize()} attributes", "")
        for key in PHONE_SETTING_KEYS.values()
    },
}
"""setting key → (AttributeMap override key, label, the presets' choice for the help text)."""
PHONE_DEFAULTS = {
    "business_phone": "telephoneNumber (AD: and otherTelephone)",
    "mobile_phone": "mobile (AD: and otherMobile)",
    "home_phone": "homePhone (AD: and otherHomePhone)",
    "fax": "facsimileTelephoneNumber (AD: and otherFacsimileTelephoneNumber)",
    "other_phone": "none (AD: ipPhone, otherIpPhone)",
}


def _attribute_field(key: str, label: str, preset_choice: str, override: str) -> ConfigField:
    if override in PHONE_DEFAULTS:
        help_text = (
            "Comma-separated attribute names, the first one written by partnercrmd; "
            f"empty: the preset's ({PHONE_DEFAULTS[override]})."
        )
    else:
        help_text = f"Empty: the preset's ({preset_choice})."
    return ConfigField(key, label, FieldKind.TEXT, help=help_text)


CONFIG: tuple[ConfigField, ...] = (
    ConfigField(
        "url",
        "Server address",
        FieldKind.TEXT,
        required=True,
        help="ldap://server[:port] or ldaps://server[:port], e.g. ldaps://dc1.example.com.",
    ),
    ConfigField(
        "bind_dn",
        "Bind DN",
        FieldKind.TEXT,
        help="The account partnercrmd logs in with, e.g. cn=partnercrmd,ou=services,dc=example,dc=com "
        "or partnercrmd@example.com for Active Directory. Empty: anonymous.",
    ),
    ConfigField("password", "Password", FieldKind.SECRET, help="The bind account's password."),
    ConfigField(
        "base_dn",
        "Base DN",
        FieldKind.TEXT,
        required=True,
        help="Where contacts are searched (with everything below it), e.g. ou=people,dc=example,dc=com.",
    ),
    ConfigField(
        "preset",
        "Directory kind",
        FieldKind.CHOICE,
        default=OPENLDAP,
        choices=PRESET_NAMES,
        help="openldap: inetOrgPerson entries; active-directory: AD users and contacts.",
    ),
    ConfigField(
        "search_filter",
        "Extra filter",
        FieldKind.TEXT,
        help="An LDAP filter every contact must also match, e.g. (!(userAccountControl:1.2.840.113556.1.4.803:=2)) "
        "to leave out disabled AD accounts. Empty: none.",
    ),
    ConfigField(
        "activity_attribute",
        "Call log attribute",
        FieldKind.TEXT,
        help="Where Log call writes a line per call, e.g. description (OpenLDAP) or info (AD). Empty: calls are "
        "not logged.",
    ),
    ConfigField(
        "allow_create",
        "Allow new contacts",
        FieldKind.BOOL,
        default=False,
        help="Let the phone client create contacts (needs write access to the container).",
    ),
    ConfigField(
        "allow_update",
        "Allow changes",
        FieldKind.BOOL,
        default=False,
        help="Let the phone client and the record page change contacts' names, email, phone and notes.",
    ),
    ConfigField(
        "create_container",
        "Container for new contacts",
        FieldKind.TEXT,
        help="The DN new contacts are created under, e.g. ou=contacts,dc=example,dc=com. Empty: the base DN.",
    ),
    ConfigField(
        "start_tls",
        "Use StartTLS",
        FieldKind.BOOL,
        default=False,
        help="Encrypt an ldap:// connection with StartTLS (ldaps:// is always encrypted).",
    ),
    ConfigField(
        "ca_file",
        "CA certificate file",
        FieldKind.PATH,
        help="A PEM file with the CA that signed the server's certificate. Empty: the system's trusted CAs.",
    ),
    ConfigField(
        "tls_server_name",
        "Certificate name",
        FieldKind.TEXT,
        help="The name the server's certificate is issued for, when url uses another name or an IP address "
        "(e.g. dc1.corp.example.com for ldaps://10.0.0.5). Empty: the host of url. The certificate is always "
        "checked.",
    ),
    ConfigField(
        "timeout",
        "Timeout (seconds)",
        FieldKind.INT,
        default=DEFAULT_TIMEOUT,
        help="How long to wait for the server to connect or answer.",
    ),
    ConfigField(
        "index_minutes",
        "Number index refresh (minutes)",
        FieldKind.INT,
        default=DEFAULT_INDEX_MINUTES,
        help="Caller numbers are looked up in a local index of the directory's phone numbers, read again in the "
        "background when older than this; a number the index does not know yet is still asked of the server. "
        f"0: no index, every lookup searches the server (it scans every entry). At most {MAX_INDEX_MINUTES}.",
    ),
    ConfigField(
        "modified_attribute",
        "Change time attribute",
        FieldKind.TEXT,
        default=PRESET_CHOICE,
        help="The attribute holding each entry's last change time (GeneralizedTime). A number the local index "
        "does not know is then searched only among entries changed since the index was read, which the server "
        f"answers from its index on this attribute instead of scanning every entry. {PRESET_CHOICE}: the "
        "preset's (modifyTimestamp / whenChanged); empty: no such bound, every entry is searched.",
    ),
    *(_attribute_field(key, label, choice, override) for key, (override, label, choice) in ATTRIBUTE_SETTINGS.items()),
)


@dataclass(frozen=True)
class LdapSettings:
    """One book's settings, checked."""

    connection: ConnectionSettings
    base_dn: str
    preset: Preset
    attributes: AttributeMap
    search_filter: str = ""
    activity_attribute: str = ""
    allow_create: bool = False
    allow_update: bool = False
    create_container: str = ""
    index_minutes: int = DEFAULT_INDEX_MINUTES
    """How old the local number index may grow before it is filled again; 0: no index."""
    modified_attribute: str = ""
    """The entries' change time (GeneralizedTime) that bounds the server search for numbers the index does not
    know; "" when the server search has no such bound."""


def _text(settings: Mapping[str, Any], key: str) -> str:
    value = settings.get(key)
    return str(value).strip() if value is not None else ""


def _check_dn(value: str, key: str) -> str:
    if not value:
        return value
    from .ldap3_api import exceptions, parse_dn  # ldap3 only when a book opens (see the module's docstring)

    try:
        parse_dn(value, strip=True)
    except exceptions.LDAPInvalidDnError:
        raise ConfigError(
            f"The setting '{key}' is not a distinguished name; write it like ou=people,dc=example,dc=com."
        ) from None
    return value


def _check_attribute(value: str, key: str) -> str:
    if value and not all(ch.isalnum() or ch in "-;." for ch in value):
        raise ConfigError(f"The setting '{key}' must be an attribute name such as description.")
    return value


def _check_host_name(value: str) -> str:
    if value and not all(part and all(ch.isalnum() or ch == "-" for ch in part) for part in value.split(".")):
        raise ConfigError("The setting 'tls_server_name' must be a host name such as dc1.corp.example.com.")
    return value


def parse_settings(settings: Mapping[str, Any]) -> LdapSettings:
    """Check a book's settings; ConfigError with the fix when one cannot be used."""
    from .client import ConnectionSettings, parse_url  # ldap3 only when a book opens (see the module's docstring)
    from .filters import check_filter_syntax

    address = parse_url(_text(settings, "url"))
    base_dn = _check_dn(_text(settings, "base_dn"), "base_dn")
    if not base_dn:
        raise ConfigError("The setting 'base_dn' is empty: give the DN contacts are under, e.g. dc=example,dc=com.")
    preset_name = _text(settings, "preset") or OPENLDAP
    preset = PRESETS.get(preset_name)
    if preset is None:
        raise ConfigError(f"The setting 'preset' must be one of {', '.join(PRESET_NAMES)}.")
    extra_filter = _text(settings, "search_filter")
    problem = check_filter_syntax(extra_filter)
    if problem:
        raise ConfigError(f"The setting 'search_filter' is not an LDAP filter: {problem}.")
    overrides = {}
    for key, (override, _, _) in ATTRIBUTE_SETTINGS.items():
        names = [n.strip() for n in _text(settings, key).split(",")]
        for name in names:
            _check_attribute(name, key)
        overrides[override] = _text(settings, key)
    timeout = settings.get("timeout")
    timeout = DEFAULT_TIMEOUT if timeout is None or timeout == "" else timeout
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 120:
        raise ConfigError("The setting 'timeout' must be a number of seconds between 1 and 120.")
    index_minutes = settings.get("index_minutes")
    index_minutes = DEFAULT_INDEX_MINUTES if index_minutes is None or index_minutes == "" else index_minutes
    if (
        not isinstance(index_minutes, int)
        or isinstance(index_minutes, bool)
        or not 0 <= index_minutes <= MAX_INDEX_MINUTES
    ):
        raise ConfigError(
            f"The setting 'index_minutes' must be a number of minutes between 0 (no local index) and "
            f"{MAX_INDEX_MINUTES}."
        )
    ca_file = _text(settings, "ca_file")
    if ca_file and not Path(ca_file).expanduser().is_absolute():
        raise ConfigError("The setting 'ca_file' must be a full path, such as /etc/ssl/certs/company-ca.pem.")
    connection = ConnectionSettings(
        address=address,
        bind_dn=_text(settings, "bind_dn"),
        password=str(settings.get("password") or ""),
        timeout=timeout,
        start_tls=bool(settings.get("start_tls")),
        ca_file=str(Path(ca_file).expanduser()) if ca_file else "",
        tls_server_name=_check_host_name(_text(settings, "tls_server_name")),
    )
    return LdapSettings(
        connection=connection,
        base_dn=base_dn,
        preset=preset,
        attributes=preset.attributes.with_overrides(overrides),
        search_filter=extra_filter,
        activity_attribute=_check_attribute(_text(settings, "activity_attribute"), "activity_attribute"),
        allow_create=bool(settings.get("allow_create")),
        allow_update=bool(settings.get("allow_update")),
        create_container=_check_dn(_text(settings, "create_container"), "create_container") or base_dn,
        index_minutes=index_minutes,
        modified_attribute=_modified_attribute(settings, preset),
    )


def _modified_attribute(settings: Mapping[str, Any], preset: Preset) -> str:
    """The setting 'modified_attribute': the preset's choice for `preset` (the default) or when not stored at all
    (books made before the setting existed); no bound when set empty."""
    value = settings.get("modified_attribute")
    if value is None or _text(settings, "modified_attribute").lower() == PRESET_CHOICE:
        return preset.modified_attribute
    return _check_attribute(_text(settings, "modified_attribute"), "modified_attribute")

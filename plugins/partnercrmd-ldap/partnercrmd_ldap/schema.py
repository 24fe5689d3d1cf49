"""The settings of an LDAP address book as the configuration UI shows them (no ldap3 import: the hook loads this)."""

from __future__ import annotations

from partnercrmd.integration import ConfigField, FieldKind

from .presets import OPENLDAP, PHONE_SETTING_KEYS, PRESET_NAMES

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

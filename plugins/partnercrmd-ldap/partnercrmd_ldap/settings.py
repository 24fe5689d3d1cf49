"""Checking an LDAP book's settings for what their schema cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partnercrmd.errors import ConfigError

from .client import ConnectionSettings, parse_url
from .filters import check_filter_syntax
from .ldap3_api import exceptions, parse_dn
from .presets import OPENLDAP, PRESET_NAMES, PRESETS, AttributeMap, Preset
from .schema import ATTRIBUTE_SETTINGS, DEFAULT_INDEX_MINUTES, DEFAULT_TIMEOUT, MAX_INDEX_MINUTES, PRESET_CHOICE


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


def parse_settings(settings: Mapping[str, Any]) -> LdapSettings:
    """Check a book's settings; ConfigError with the fix when one cannot be used."""
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

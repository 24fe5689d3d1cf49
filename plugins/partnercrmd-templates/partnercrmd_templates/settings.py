"""A template's settings: its parameters as the integration's schema, and a book's settings checked against them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from partnercrmd.sdk import ConfigError, ConfigField, FieldKind, SettingsCheck

from .expressions import compile_path, search
from .loader import LoadedTemplate

FIELD_KINDS = {
    "text": FieldKind.TEXT,
    "secret": FieldKind.SECRET,
    "url": FieldKind.URL,
    "int": FieldKind.INT,
    "bool": FieldKind.BOOL,
    "choice": FieldKind.CHOICE,
}


def config_fields(loaded: LoadedTemplate) -> tuple[ConfigField, ...]:
    """The template's parameters as the integration's settings schema (`Integration.config`)."""
    fields = []
    for p in loaded.data.get("parameters", []):
        help_text = str(p.get("help", ""))
        if "when" in p:
            help_text = (help_text + f" (Used when {p['when']}.)").strip()
        fields.append(
            ConfigField(
                key=p["key"],
                label=p["label"],
                kind=FIELD_KINDS[p.get("type", "text")],
                required=bool(p.get("required", False)) and "when" not in p,
                default=p.get("default"),
                help=help_text,
                choices=tuple(p.get("choices", ())),
                advanced=bool(p.get("advanced", False)),
            )
        )
    return tuple(fields)


def defaults_filled(data: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The book's settings, with each parameter's default where none is given (nothing checked)."""
    settings = dict(given)
    for parameter in data.get("parameters", []):
        key = parameter["key"]
        if settings.get(key) in (None, "") and "default" in parameter:
            settings[key] = parameter["default"]
    return settings


def settings_with_defaults(data: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The book's settings, with each parameter's default where none is given, checked for required ones."""
    settings = defaults_filled(data, given)
    for parameter in data.get("parameters", []):
        applies = True
        if "when" in parameter:
            applies = bool(search(compile_path(parameter["when"]), {"settings": settings}))
        if applies and parameter.get("required") and settings.get(parameter["key"]) in (None, ""):
            raise ConfigError(f"The setting '{parameter['key']}' ({parameter['label']}) is required.")
    return settings


def url_setting(data: Mapping[str, Any]) -> str:
    """The setting the base address comes from, for "check the setting 'url'" in messages."""
    found = re.findall(r"settings\.([a-z][a-z0-9_]*)", str(data.get("base_url", "")))
    return found[0] if found else "url"


def settings_checker(loaded: LoadedTemplate) -> Callable[[Mapping[str, Any], bool], SettingsCheck]:
    """`Integration.check_settings` of a template: its parameters' rules (`settings_with_defaults`: defaults, and
    parameters required only `when` other settings say so), before the book is saved. No quick connection: a
    template's only probe is a search, which Test connection runs once the book is saved."""

    def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
        settings_with_defaults(loaded.data, settings)
        return SettingsCheck()

    return check_settings

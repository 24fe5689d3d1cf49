"""Address-book forms generated from an integration's configuration schema, and reading them back.

Settings are posted as ``s.<key>`` and book options as ``o.<option>``, so an
integration setting can never be taken for a book option. Secret fields are
never filled in: the form only says whether one is set, and leaving it blank
keeps the stored value. A password inside an address (saved by an older
release or edited into the vault by hand) is shown masked, never as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import MultiDictProxy

from ..integration import ConfigField, FieldKind, Integration
from ..url_credentials import mask_url_passwords

MAX_VALUE_CHARS = 2000
INPUT_TYPES = {
    FieldKind.TEXT: "text",
    FieldKind.SECRET: "password",
    FieldKind.URL: "url",
    FieldKind.INT: "number",
    FieldKind.PATH: "text",
}


@dataclass(frozen=True)
class FormField:
    """One input of a book form, ready for the template."""

    name: str
    """The posted name: s.<key>."""
    label: str
    kind: str
    input_type: str
    required: bool
    help: str
    choices: tuple[str, ...]
    value: str
    checked: bool
    secret_set: bool
    error: str = ""
    """Why the value just posted was refused, shown beside the input; "" when it was not."""
    advanced: bool = False
    """Shown in the form's collapsed Advanced section (`ConfigField.advanced`)."""

    @property
    def id(self) -> str:
        return "field-" + self.name.replace(".", "-")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def form_fields(
    integration: Integration,
    stored: Mapping[str, Any],
    posted: Mapping[str, Any] | None = None,
    *,
    editing: bool,
    errors: Mapping[str, str] | None = None,
) -> list[FormField]:
    """The inputs of `integration`'s schema: stored values (edit), or what the user posted (re-shown after an error).

    `errors` maps a setting's key to the message refusing it (see `books.SettingError`).
    """
    errors = errors or {}
    fields = []
    for spec in integration.config:
        source = posted if posted is not None and spec.key in posted else stored
        value: Any = source.get(spec.key, spec.default if not editing else None)
        if not editing and value is None:
            value = spec.default
        secret_set = bool(stored.get(spec.key)) if spec.secret else False
        fields.append(
            FormField(
                name=f"s.{spec.key}",
                label=spec.label,
                kind=str(spec.kind),
                input_type=INPUT_TYPES.get(spec.kind, "text"),
                required=_required_in_form(spec, secret_set),
                help=spec.help,
                choices=spec.choices,
                value="" if spec.secret else mask_url_passwords(_shown(value)),
                checked=value is True or _shown(value).lower() in {"true", "1", "on", "yes"},
                secret_set=secret_set,
                error=errors.get(spec.key, ""),
                advanced=spec.advanced,
            )
        )
    return fields


def _required_in_form(spec: ConfigField, secret_set: bool) -> bool:
    """A stored secret need not be typed again; a boolean is never required."""
    if spec.kind is FieldKind.BOOL:
        return False
    return spec.required and not (spec.secret and secret_set)


def read_book_form(
    integration: Integration, form: MultiDictProxy[Any], *, editing: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what to give add_book/change_book, what to show again if it is refused: secrets left out)."""
    given: dict[str, Any] = {}
    name = str(form.get("o.name", "")).strip()[:200]
    if name:
        given["name"] = name
    priority = str(form.get("o.priority", "")).strip()[:10]
    if priority:
        given["priority"] = priority
    if editing:
        given["enabled"] = "1" in form.getall("o.enabled", [])
    for spec in integration.config:
        key = f"s.{spec.key}"
        if spec.kind is FieldKind.BOOL:
            given[spec.key] = "1" in form.getall(key, [])
            continue
        value = str(form.get(key, "")).replace("\r\n", "\n").strip()[:MAX_VALUE_CHARS]
        if not value and (spec.secret or spec.kind in (FieldKind.INT, FieldKind.CHOICE) or not editing):
            continue  # secrets: keep the stored one; numbers and choices: keep the default
        given[spec.key] = value
    shown = {k: v for k, v in given.items() if not ((f := integration.config_field(k)) is not None and f.secret)}
    return given, shown

"""Where templates come from: the package's catalogue, then the user's folder; one integration each.

The user's folder is `$PARTNERCRMD_TEMPLATES_DIR`, or `templates/` in partnercrmd's configuration
directory. A user template with the id of a catalogue one replaces it. A file that does not load
becomes an integration that says what is wrong (and cannot be opened), never an error of the
daemon. Each book watches its own file, so edits apply at once (see `engine.TemplateSource`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from partnercrmd.errors import ConfigError
from partnercrmd.integration import (
    BookContext,
    Classification,
    ConfigField,
    Connector,
    FieldKind,
    Integration,
    ReleaseNote,
)
from partnercrmd.paths import Paths

from .engine import TemplateBook, TemplateSource, capabilities_of
from .loader import LoadedTemplate, TemplateError, load_file

log = logging.getLogger(__name__)

TEMPLATES_DIR_ENV = "PARTNERCRMD_TEMPLATES_DIR"
SUFFIXES = (".yaml", ".yml")


def catalogue_dir() -> Path:
    return Path(str(files("partnercrmd_templates").joinpath("catalogue")))


def user_dir() -> Path:
    configured = os.environ.get(TEMPLATES_DIR_ENV)
    return Path(configured).expanduser() if configured else Paths.from_env().config_dir / "templates"


def template_files() -> list[Path]:
    """Catalogue files first, then the user's (so theirs win), each folder in name order."""
    found: list[Path] = []
    for folder in (catalogue_dir(), user_dir()):
        try:
            found += sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
        except OSError:
            continue
    return found


FIELD_KINDS = {
    "text": FieldKind.TEXT,
    "secret": FieldKind.SECRET,
    "url": FieldKind.URL,
    "int": FieldKind.INT,
    "bool": FieldKind.BOOL,
    "choice": FieldKind.CHOICE,
}


def _config(loaded: LoadedTemplate) -> tuple[ConfigField, ...]:
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
            )
        )
    return tuple(fields)


def _opener(path: Path, loaded: LoadedTemplate) -> Callable[[BookContext], Connector]:
    source = TemplateSource(path, loaded)

    def open_book(context: BookContext) -> Connector:
        return TemplateBook(context, source)

    return open_book


def integration_for(path: Path, loaded: LoadedTemplate) -> Integration:
    data = loaded.data
    notes = tuple(ReleaseNote(n["version"], n["date"], n["text"]) for n in data.get("release_notes", []))
    return Integration(
        id=loaded.id,
        name=str(data["name"]),
        version=str(data["version"]),
        open=_opener(path, loaded),
        capabilities=capabilities_of(data),
        description=str(data.get("description", "")),
        config=_config(loaded),
        classification=Classification(data.get("classification", "Standard")),
        guide_url=str(data.get("guide_url", "")),
        release_notes=notes,
        extra={"template_file": str(path), "documentation": list(data.get("documentation", []))},
    )


def broken_integration(path: Path, error: TemplateError) -> Integration:
    """A template that does not load, listed with its problems; opening a book of it says them again."""
    declared = re.search(r"^id:\s*[\"']?([a-z][a-z0-9-]{1,40})", _head(path), re.MULTILINE)
    integration_id = declared.group(1) if declared else "template-" + (re.sub(r"[^a-z0-9-]", "-", path.stem.lower()))
    reason = f"The template {path.name} cannot be used: " + "; ".join(error.problems[:5])

    def refuse(context: BookContext) -> Connector:
        raise ConfigError(reason, code="invalid_config")

    return Integration(
        id=integration_id,
        name=f"{path.stem} (broken template)",
        version="0",
        open=refuse,
        capabilities=frozenset(),
        description=reason,
        extra={"template_file": str(path), "unavailable_reason": reason},
    )


def _head(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as text:
            return text.read(65536)
    except OSError:
        return ""


@dataclass(frozen=True)
class Discovered:
    integrations: list[Integration]
    problems: list[str]


def discover() -> Discovered:
    """Every template as an integration (the user's replace the catalogue's of the same id)."""
    by_id: dict[str, Integration] = {}
    problems: list[str] = []
    for path in template_files():
        try:
            loaded = load_file(path)
        except TemplateError as exc:
            log.error("template %s is broken: %s", path, "; ".join(exc.problems[:5]))
            problems += exc.problems
            integration = broken_integration(path, exc)
        else:
            integration = integration_for(path, loaded)
        by_id[integration.id] = integration
    return Discovered(list(by_id.values()), problems)

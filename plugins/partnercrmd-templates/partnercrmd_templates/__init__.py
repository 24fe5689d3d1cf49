"""partnercrmd add-in: declarative REST integrations.

A template (YAML, checked against the published JSON Schema in `schema/template.schema.json`)
describes a CRM's REST API: settings, authentication, and the requests and response mappings of
each operation. This module turns every template of the catalogue and of the user's folder
(`discovery`, `loader`) into an integration whose schema comes from the template's parameters
(`settings`); `connector` runs a template's operations (with `client`, `auth`, `expressions`),
`checks` is Test connection, and `commands` (with `threecx`) holds the CLI commands
`partnercrmd template try|validate|authorize|import-3cx`, added through `partnercrmd_cli_commands`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partnercrmd.sdk import (
    BookContext,
    Classification,
    ConfigError,
    Connector,
    Integration,
    ReleaseNote,
    SettingsCheck,
    hookimpl,
)
from partnercrmd.sdk.cli import Subcommands

from .capabilities import capabilities_of
from .discovery import catalogue_dir, declared_id, file_stamp, template_files
from .loader import LoadedTemplate, TemplateError, load_file
from .settings import config_fields, settings_checker
from .signin import sign_in_for

if TYPE_CHECKING:
    from .connector import TemplateSource

__version__ = "0.1.0"

log = logging.getLogger(__name__)


def _opener(path: Path, loaded: LoadedTemplate) -> Callable[[BookContext], Connector]:
    """`Integration.open` of a template. Its requests and mappings are compiled (and the connector imported) when
    its first book opens, not for every template at every start; the file's stamp is the one it was read with, so
    an edit made in between is read again then."""
    stamp = file_stamp(path)
    source: TemplateSource | None = None  # the one source every book of this template shares, once made

    def open_book(context: BookContext) -> Connector:
        nonlocal source
        from .connector import TemplateBook, TemplateSource

        if source is None:
            source = TemplateSource(path, loaded, stamp)
        return TemplateBook(context, source)

    return open_book


def connection_checker(
    path: Path, loaded: LoadedTemplate
) -> Callable[[Mapping[str, Any], bool], Awaitable[SettingsCheck]]:
    """`Integration.check_settings`: the parameters' rules, then (when asked to connect) one real, authenticated
    search with the settings about to be saved, so a wrong API key is refused as it is typed. A book that signs
    in by authorisation code has no credentials yet at that moment: the user signs in once it is saved."""
    rules = settings_checker(loaded)
    signs_in_later = loaded.data["auth"]["type"] == "oauth2_authorization_code"

    async def check_settings(settings: Mapping[str, Any], connect: bool) -> SettingsCheck:
        rules(settings, connect)
        if not connect or signs_in_later:
            return SettingsCheck()
        from .connector import TemplateBook, TemplateSource

        with tempfile.TemporaryDirectory(prefix="partnercrmd-check-") as folder:
            book = TemplateBook(
                BookContext("settings-check", loaded.id, settings, Path(folder), None), TemplateSource(path, loaded)
            )
            try:
                results = await book.test()
            finally:
                await book.close()
        failed = next((r for r in results if not r.ok), None)
        if failed is None:
            return SettingsCheck()
        return SettingsCheck(message=failed.message, error_key=failed.error_key)

    return check_settings


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
        config=config_fields(loaded),
        check_settings=connection_checker(path, loaded),
        sign_in=sign_in_for(loaded),
        classification=Classification(data.get("classification", "Standard")),
        guide_url=str(data.get("guide_url", "")),
        release_notes=notes,
        extra={"template_file": str(path), "documentation": list(data.get("documentation", []))},
    )


def broken_integration(path: Path, error: TemplateError) -> Integration:
    """A template that does not load, listed with its problems; opening a book of it says them again."""
    integration_id = declared_id(path)
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


@dataclass(frozen=True)
class Discovered:
    integrations: list[Integration]
    problems: list[str]


def discover() -> Discovered:
    """Every template as an integration (the user's replace the catalogue's of the same id)."""
    by_id: dict[str, Integration] = {}
    problems: list[str] = []
    catalogue = catalogue_dir()
    for path in template_files():
        try:
            # The catalogue's files are part of this package and checked (schema, expressions, references) by its
            # tests; the checks cost a tenth of a second at every start for 41 templates. The user's files are checked.
            loaded = load_file(path, check=path.parent != catalogue)
        except TemplateError as exc:
            log.error("template %s is broken: %s", path, "; ".join(exc.problems[:5]))
            problems += exc.problems
            integration = broken_integration(path, exc)
        else:
            integration = integration_for(path, loaded)
        by_id[integration.id] = integration
    return Discovered(list(by_id.values()), problems)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    """One integration per template found (catalogue and user folder); broken ones say what is wrong."""
    return discover().integrations


@hookimpl
def partnercrmd_cli_commands(subcommands: Subcommands) -> None:
    """`partnercrmd template validate|try|authorize|import-3cx`."""
    from .commands import add_parser  # the commands' own imports (webbrowser, 3CX import) only for the CLI

    add_parser(subcommands)

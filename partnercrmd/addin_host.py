"""Finds, loads and guards add-ins; the typed facade through which the daemon reaches them.

Nothing else in partnercrmd calls `pm.hook`: it asks an `AddinHost`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from . import hookspecs
from .integration import Integration

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "partnercrmd.addins"
DISABLE_ENV = "PARTNERCRMD_DISABLE_ADDINS"
"""Comma-separated entry-point names not to load; `*` disables every add-in not built in."""
BUILTIN_DISTRIBUTION = "partnercrmd"


@dataclass(frozen=True)
class AddinInfo:
    """An add-in (entry point) the host found, loaded or not."""

    name: str
    distribution: str
    version: str
    builtin: bool
    error: str | None = None
    disabled: bool = False


class AddinHost:
    """The loaded add-ins and the integrations they provide."""

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self.addins: dict[str, AddinInfo] = {}
        self.integrations: dict[str, Integration] = {}
        self._provider: dict[str, str] = {}

    def load_entry_points(self, eps: Iterable[EntryPoint], disabled: set[str]) -> None:
        """Load each entry point in turn; a failure is recorded against it and never stops the others."""
        for ep in eps:
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else "?"
            builtin = dist == BUILTIN_DISTRIBUTION
            info = AddinInfo(ep.name, dist, version, builtin)
            if ep.name in disabled or ("*" in disabled and not builtin):
                self.addins[ep.name] = AddinInfo(ep.name, dist, version, builtin, disabled=True)
                log.info("add-in %s disabled by %s", ep.name, DISABLE_ENV)
                continue
            try:
                plugin = ep.load()
                self._pm.register(plugin, name=ep.name)
            except Exception as exc:  # noqa: BLE001  (any failure of third-party code is reported, not raised)
                message = f"{type(exc).__name__}: {exc}"
                log.error("add-in %s (%s) failed to load: %s", ep.name, dist, message)
                self.addins[ep.name] = AddinInfo(ep.name, dist, version, builtin, error=message)
                continue
            self.addins[ep.name] = info

    def register(self, plugin: object, name: str) -> None:
        """Register an add-in object directly (tests, embedding); then call `collect_integrations`."""
        self._pm.register(plugin, name=name)
        self.addins[name] = AddinInfo(name, "(registered)", "", builtin=False)

    def collect_integrations(self) -> None:
        """Ask every add-in for its integrations, one add-in at a time, keeping the good answers.

        May be called again while the daemon runs (an add-in's integrations can change, e.g. a template
        file added): the new set replaces the old one at once, never seen half-built.
        """
        integrations: dict[str, Integration] = {}
        providers: dict[str, str] = {}
        for impl in self._pm.hook.partnercrmd_integrations.get_hookimpls():
            name = impl.plugin_name
            try:
                answer: Any = impl.function()  # add-in code: every item is checked below
                provided: list[object] = list(answer)
                for integration in provided:
                    if not isinstance(integration, Integration):
                        raise TypeError(f"returned {type(integration).__name__}, not Integration")
                    if integration.id in integrations:
                        raise ValueError(
                            f"integration id {integration.id!r} is already provided by {providers[integration.id]}"
                        )
            except Exception as exc:  # noqa: BLE001  (reported against the add-in)
                message = f"{type(exc).__name__}: {exc}"
                log.error("add-in %s failed to list its integrations: %s", name, message)
                if name in self.addins:
                    old = self.addins[name]
                    self.addins[name] = AddinInfo(old.name, old.distribution, old.version, old.builtin, error=message)
                continue
            for integration in provided:
                assert isinstance(integration, Integration)
                integrations[integration.id] = integration
                providers[integration.id] = name
        self.integrations, self._provider = integrations, providers

    def add_cli_commands(self, subcommands: hookspecs.Subcommands) -> dict[str, str]:
        """Ask every add-in for its CLI commands (`partnercrmd_cli_commands`), one add-in at a time.

        Returns the add-ins whose call failed, with the error; what a failed add-in added before it failed
        is taken out again, so a half-built command never shows in the help or parses.
        """
        failed: dict[str, str] = {}
        for impl in self._pm.hook.partnercrmd_cli_commands.get_hookimpls():
            names_before, listed_before = set(subcommands.choices), len(subcommands._choices_actions)
            try:
                impl.function(subcommands=subcommands)
            except Exception as exc:  # noqa: BLE001  (an add-in's broken command must not take the CLI down)
                for name in set(subcommands.choices) - names_before:
                    del subcommands.choices[name]
                # argparse has no API to remove a subcommand: its help lines live in this private list
                del subcommands._choices_actions[listed_before:]
                failed[impl.plugin_name] = f"{type(exc).__name__}: {exc}"
        return failed

    def integration(self, integration_id: str) -> Integration | None:
        return self.integrations.get(integration_id)

    def unavailable_reason(self, integration_id: str) -> str:
        """Why a configured integration cannot be used, in words for the user."""
        info = self.addins.get(integration_id)
        if info is not None and info.error:
            return f"The add-in '{integration_id}' failed to load ({info.error})."
        if info is not None and info.disabled:
            return f"The add-in '{integration_id}' is disabled ({DISABLE_ENV})."
        failed = [a.name for a in self.addins.values() if a.error]
        hint = f" Add-ins that failed to load: {', '.join(failed)}." if failed else ""
        return f"The integration '{integration_id}' is not installed.{hint}"

    def provider(self, integration_id: str) -> AddinInfo | None:
        name = self._provider.get(integration_id)
        return self.addins.get(name) if name else None


def disabled_from_env() -> set[str]:
    return {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def installed_addins() -> AddinHost:
    """A host with the installed add-ins (entry points) loaded, except those disabled; nothing asked of them yet."""
    host = AddinHost()
    host.load_entry_points(entry_points(group=ENTRY_POINT_GROUP), disabled_from_env())
    return host


def create_host(extra_plugins: Iterable[tuple[str, object]] = (), *, use_entry_points: bool = True) -> AddinHost:
    """Build a host: installed add-ins (entry points) unless disabled, then any extra plugin objects."""
    host = installed_addins() if use_entry_points else AddinHost()
    for name, plugin in extra_plugins:
        host.register(plugin, name)
    host.collect_integrations()
    return host

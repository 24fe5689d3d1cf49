"""The add-in contract: every hook an add-in may implement.

Add-ins are found through the entry-point group `partnercrmd.addins`; the
object an entry point names (usually a module) is registered with pluggy and
its functions decorated with `partnercrmd.hookimpl` are called by the host.
Built-in add-ins use the same mechanism, and so do add-ins' CLI commands
(`partnercrmd_cli_commands`): one hook system, one disable switch.

pluggy notes for authors: hooks are called synchronously; a hookimpl whose
argument has a default value never receives that argument.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TypeAlias

import pluggy

from .integration import Integration

PROJECT = "partnercrmd"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What `partnercrmd_cli_commands` receives: `add_parser(NAME, help=...)` adds a command (argparse's own type)."""


@hookspec
def partnercrmd_integrations() -> Sequence[Integration]:
    """Return the integrations this add-in provides.

    Called once, when the host loads add-ins at start-up (and by `partnercrmd
    books` commands), and again, in a worker thread, when a configured book names
    an integration the host does not know yet (integrations defined by files may
    have been added). Return an empty sequence to provide none. Do no I/O here:
    connections are made when a configured address book is opened
    (`Integration.open`). An exception here is reported against this add-in
    and its integrations are left out; other add-ins are unaffected.
    """
    return ()


@hookspec
def partnercrmd_cli_commands(subcommands: Subcommands) -> None:
    """Add this add-in's commands to the `partnercrmd` command line (as datasette's `register_commands`).

    Called once per run of `partnercrmd` that needs every command: the top-level help, no command, or a
    command name that is not built in (possibly this add-in's); never for a built-in command such as
    `dial` or `version`, which start without loading add-ins. `subcommands` is the top-level parser's
    `add_subparsers()` result: call `subcommands.add_parser(NAME, help=...)` and give each command
    `set_defaults(func=...)`, a `func(args, paths) -> int` returning the exit code (`paths` is the
    daemon's `Paths`; raise `PartnerError` for a message and exit code 2). Return nothing. Do no I/O
    here and import heavy modules inside `func`. An add-in disabled by PARTNERCRMD_DISABLE_ADDINS is
    not asked; if this call raises (or adds a name that is taken), the add-in's commands are left out,
    the error is printed to stderr, and every other command still works.
    """

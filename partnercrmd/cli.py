"""The `partnercrmd` command: the parser's skeleton, the loader of command modules, and `main`.

Each command group lives in its own module under partnercrmd/commands/ and is imported only when
its command runs, so that light commands (`dial`, `version`, `numbers`) start at once: importing
this module loads neither the daemon, aiohttp's server, pluggy nor the add-ins. Add-ins add commands
through the add-in host (the `partnercrmd_cli_commands` hook), loaded only when the command given is not
a built-in one (or none is given, or the help is asked for).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .commands.common import branded, key_value_pairs
from .errors import PartnerError
from .paths import Paths

__all__ = ["COMMANDS", "build_parser", "key_value_pairs", "main"]

COMMANDS: dict[str, str] = {
    "serve": "serve",
    "version": "version",
    "dial": "dial",
    "handlers": "handlers",
    "service": "service",
    "numbers": "numbers",
    "ocr": "ocr",
    "import": "contacts_import",
    "apps": "apps",
    "books": "books",
    "settings": "settings",
    "vault": "vault",
    "partner": "partner",
    "unlock": "partner",
    "viewer": "viewer",
    "extension": "extension",
    "licence": "licence",
    "outbox": "outbox",
    "tls": "tls",
    "ui": "ui",
    "token": "token",
}
"""Each built-in command and the module of partnercrmd/commands/ that adds it (`add_parser(sub)`, which sets
`func(args, paths) -> int`); the help lists them in this order."""


class BrandedParser(argparse.ArgumentParser):
    """The CLI's parsers: help that names the partner's product where it names the product.

    The usage block keeps the command's own name (`partnercrmd` is what the user types); the rest of
    the help goes through the same branding as every other message. Subcommands' parsers are of this
    class too (argparse makes them of the parent's class).
    """

    def format_help(self) -> str:
        usage, sep, rest = super().format_help().partition("\n\n")
        return usage + sep + branded(Paths.from_env(), rest)


def _add_command_module(sub: argparse._SubParsersAction[argparse.ArgumentParser], module: str) -> None:
    importlib.import_module(f"{__package__}.commands.{module}").add_parser(sub)


def _add_addin_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Commands of the installed add-ins, through the add-in host (`partnercrmd_cli_commands`).

    The host honours PARTNERCRMD_DISABLE_ADDINS and reports an add-in that fails to load; an add-in whose
    hook fails is named here and its commands left out, and every other command still works.
    """
    from .addin_host import installed_addins  # pluggy and the add-ins: only when a command may be theirs

    for addin, error in installed_addins().add_cli_commands(sub).items():
        print(
            branded(Paths.from_env(), f"partnercrmd: the add-in '{addin}' failed to add its commands: {error}"),
            file=sys.stderr,
        )


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: only the named built-in command's module when it names one, else every command.

    A built-in command's arguments are all its module adds, so loading just that module parses them exactly
    as the full parser would; the top-level help, a missing or an unknown command (possibly an add-in's)
    need every command.
    """
    parser: argparse.ArgumentParser = BrandedParser(
        prog="partnercrmd", description="CRM integration daemon for softphones."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    named = next(iter(argv), None) if argv is not None else None
    if named in COMMANDS:
        _add_command_module(sub, COMMANDS[named])
        return parser
    for module in dict.fromkeys(COMMANDS.values()):  # in order, each module once (partner adds two commands)
        _add_command_module(sub, module)
    _add_addin_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(arguments).parse_args(arguments)
    paths = Paths.from_env()
    try:
        return int(args.func(args, paths))
    except PartnerError as exc:
        printable = "".join(c if c.isprintable() else "?" for c in exc.message)  # file text must not drive the terminal
        print(branded(paths, f"partnercrmd: {printable}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Command groups of the `partnercrmd` CLI that live in their own module.

Each module has `add_parser(sub)`, which adds its subcommand to the CLI's
subparsers and sets `func(args, paths) -> int` as the other commands do
(see `partnercrmd.cli`). List the module in `cli.COMMAND_MODULES`.
"""

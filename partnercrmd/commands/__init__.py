"""Command groups of the `partnercrmd` CLI that live in their own module.

Each module has `add_parser(sub)`, which adds its subcommand to the CLI's
subparsers and sets `func(args, paths) -> int` as the other commands do
(see `partnercrmd.cli`). Name the module in `cli.COMMANDS`; it is imported only when its command
runs, so keep heavy imports out of the modules of light commands (`dial`, `version`, `numbers`).
"""

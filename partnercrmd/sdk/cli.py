"""What an add-in's command-line commands use: part of the SDK's stable surface.

An add-in adds commands by implementing the `partnercrmd_cli_commands(subcommands)` hook: `subcommands`
(a `Subcommands`) is the `partnercrmd` parser's subcommand set, and each command's function receives the
parsed arguments and the daemon's `Paths`. Re-exported from the core
(and one small helper); the rules of `partnercrmd.sdk` (SDK_VERSION, deprecation) apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..commands.common import key_value_pairs
from ..hookspecs import Subcommands

if TYPE_CHECKING:
    from ..books import BookConfig
    from ..paths import Paths

__all__ = ["BookConfig", "Subcommands", "find_configured_book", "key_value_pairs"]


def find_configured_book(paths: Paths, ref: str) -> BookConfig:
    """The configured book whose id or name is `ref`, settings decrypted (secrets included); ConfigError when none.

    Blocking (reads the vault): call it from a command, or through `asyncio.to_thread`.
    """
    from ..books import find_book
    from ..vault import Vault

    paths.ensure()
    return find_book(Vault.open(paths.config_dir).read(), ref)


def __getattr__(name: str) -> object:
    """`BookConfig`, the type `find_configured_book` returns, imported on first use (books and the vault are heavy)."""
    if name == "BookConfig":
        from ..books import BookConfig

        return BookConfig
    raise AttributeError(name)

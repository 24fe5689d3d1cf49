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
from ..web_browser import open_page

if TYPE_CHECKING:
    from ..books import BookConfig
    from ..paths import Paths

__all__ = ["BookConfig", "Subcommands", "find_configured_book", "key_value_pairs", "open_page", "store_sign_in"]


def find_configured_book(paths: Paths, ref: str) -> BookConfig:
    """The configured book whose id or name is `ref`, settings decrypted (secrets included); ConfigError when none.

    Blocking (reads the vault): call it from a command, or through `asyncio.to_thread`.
    """
    from ..books import find_book
    from ..vault import Vault

    paths.ensure()
    return find_book(Vault.open(paths.config_dir).read(), ref)


def store_sign_in(
    paths: Paths,
    book_id: str,
    *,
    refresh_token: str,
    access_token: str = "",
    expires_at: float = 0.0,
    client_id: str = "",
    account: str = "",
) -> None:
    """Keep tokens a command obtained (its own sign-in, as `template authorize` runs it) as the book's sign-in in the
    encrypted vault, where the daemon's `BookContext.sign_in` finds them on the book's next request.

    `client_id` is the client the tokens were issued to; `expires_at` seconds since the epoch. Blocking.
    """
    import time

    from ..oauth_signin import SignInRecord, write_record
    from ..vault import Vault

    paths.ensure()
    record = SignInRecord(
        access_token=access_token,
        expires_at=expires_at,
        refresh_token=refresh_token,
        account=account,
        client_id=client_id,
        signed_in_at=time.time(),
    )
    write_record(Vault.open(paths.config_dir), book_id, record)


def __getattr__(name: str) -> object:
    """`BookConfig`, the type `find_configured_book` returns, imported on first use (books and the vault are heavy)."""
    if name == "BookConfig":
        from ..books import BookConfig

        return BookConfig
    raise AttributeError(name)

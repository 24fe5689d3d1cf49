"""Helpers shared by the CLI's command modules; light to import (heavy modules are imported inside each helper)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, PartnerError
from ..paths import Paths

if TYPE_CHECKING:
    from ..branding import Branding
    from ..vault import Vault


def key_value_pairs(items: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` arguments (of `--set` and the like) as a dict; ConfigError names a malformed one."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"'{item}' is not key=value.")
        pairs[key.strip()] = value
    return pairs


def print_table(rows: list[list[str]], header: list[str]) -> None:
    """Print `rows` under `header` in left-aligned columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def open_vault(paths: Paths) -> Vault:
    """The vault, with the embedded default book configured (as the daemon's first start would)."""
    from ..books import ensure_default_book
    from ..vault import Vault

    paths.ensure()
    vault = Vault.open(paths.config_dir)
    ensure_default_book(vault)
    return vault


def default_region(doc: dict[str, Any]) -> str:
    """The region for numbers without a country code: the `default_region` setting, else the locale's."""
    from ..config import region_from_locale
    from ..settings import read_settings

    return str(read_settings(doc).get("default_region") or region_from_locale())


def branding_in_effect(paths: Paths) -> Branding:
    """The partner's branding, else the unbranded defaults (also when the file is broken)."""
    from ..branding import Branding, load_branding

    try:
        return load_branding(paths)
    except PartnerError:
        return Branding()  # a broken branding file is reported by `serve`; messages still need a name


def product_name(paths: Paths) -> str:
    """The product's name as the user knows it: the partner's branding, else partnercrmd."""
    return branding_in_effect(paths).product_name


def branded(paths: Paths, text: str) -> str:
    """A message for the user of this install: the product's name where `text` names the default product."""
    from ..branded_text import brand

    return brand(branding_in_effect(paths), text)

"""Text written by any part of partnercrmd, as a branded product's user reads it: the one place the default name goes.

Messages are written once, saying "partnercrmd" (platform checks, add-ins' help, errors, log lines).
Wherever they reach a user (the configuration pages, the CLI's messages and help, the daemon's console)
they pass through `brand`, which puts the product's name in their place. What keeps its name is what
docs/branding.md lists under "Names that stay": the command in `partnercrmd …` hints, file, directory,
module and distribution names, PARTNERCRMD_* variables. Install hints (`pip install 'partnercrmd[ocr]'`)
become the partner's own (`[product] install_hint`). Light on purpose: the CLI imports it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .branding import Branding

INSTALL_EXTRA = re.compile(r"pip install '?partnercrmd\[([a-z0-9_,-]+)\]'?", re.IGNORECASE)
"""`pip install 'partnercrmd[ocr]'`: the unbranded product's way to add an optional part."""
URL_USER = re.compile(r"(?<=//)partnercrmd(?=@)", re.IGNORECASE)
"""A user name in an example address (postgresql://partnercrmd@db): the product's, as a slug."""
PRODUCT_WORD = re.compile(r"(?<![`\w/.\\-])partnercrmd(?![-_.\w/\\])", re.IGNORECASE)
"""The product's name as a word; not the command in `partnercrmd …`, nor file, module or package names."""


def brand(branding: Branding, text: str) -> str:
    """`text` with the product's own name (and install hint) wherever it names the product; unchanged unbranded."""
    if not branding.branded:
        return text
    text = INSTALL_EXTRA.sub(lambda m: branding.install_hint.replace("{extra}", m.group(1)), text)
    text = URL_USER.sub(branding.slug, text)
    return PRODUCT_WORD.sub(lambda _: branding.product_name, text)

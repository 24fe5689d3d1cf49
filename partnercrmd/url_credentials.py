"""User names and passwords written inside addresses (``http://bob:PW@host/dav/``).

Credentials belong in an integration's own user and password settings, where
the vault keeps the password as a secret and no page or listing shows it.
`books.convert_value` refuses them at save with `find_credentials`; values
saved before that rule (or edited into the vault by hand) are shown through
`mask_url_passwords`, and `url_passwords` gives the passwords to redact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "***"

# scheme://userinfo@ where userinfo ends at the authority's last "@" (as urllib.parse.urlsplit reads it):
# the authority stops at the first "/", "?", "#" or white space, so an "@" in a path or query is not userinfo.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^\s/?#:]*)(?::(?P<password>[^\s/?#]*))?@")


@dataclass(frozen=True)
class UrlCredentials:
    """The user name and password (None: none given) of one address found in a text."""

    user: str
    password: str | None


def find_credentials(text: str) -> list[UrlCredentials]:
    """Every address in `text` that carries a user name or a password, in order."""
    return [UrlCredentials(m["user"], m["password"]) for m in _USERINFO.finditer(text)]


def url_passwords(text: str) -> list[str]:
    """The passwords written inside addresses in `text` (for a redactor to mask)."""
    return [c.password for c in find_credentials(text) if c.password]


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every address replaced: ``http://bob:***@host/dav/``; the rest unchanged."""

    def masked(match: re.Match[str]) -> str:
        if match["password"] is None:
            return match[0]
        return f"{match['scheme']}{match['user']}:{MASK}@"

    return _USERINFO.sub(masked, text)

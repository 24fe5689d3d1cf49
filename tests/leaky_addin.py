"""A test add-in that breaks every rule about secrets, to show that the host masks them all the same.

Its one integration, `leaky` (settings `username` and `password`), logs the password as an
argument, inside the message, percent-encoded in a URL, JSON-escaped, in HTTP Basic credentials
and in a traceback, from the host's worker threads (a blocking connector), plus a session id it
obtains at run time and tells the host about with `BookContext.add_secret`. Every search fails
with the password and the session in its message; its connection test logs the password and
reports it.

The module is the add-in: registered in-process through `partnercrmd_addins`, and loaded by
`partnercrmd` processes through an entry point (`entry_point_site`: a `.dist-info` on PYTHONPATH
naming this module).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from partnercrmd import hookimpl
from partnercrmd.errors import AddinError
from partnercrmd.integration import BlockingConnector, BookContext, Capability, ConfigField, FieldKind, Integration
from partnercrmd.model import CheckResult, Contact, SearchQuery
from partnercrmd.testing import addin_site

INTEGRATION_ID = "leaky"
addin_log = logging.getLogger("leaky_addin")


class LeakyBook(BlockingConnector):
    def __init__(self, context: BookContext) -> None:
        self.context = context
        self.password = str(context.settings["password"])
        self.user = str(context.settings["username"])
        self.session = ""

    def start(self) -> None:
        self.session = f"session-{secrets.token_hex(12)}"
        self.context.add_secret(self.session)
        addin_log.info("signed in; session %s", self.session)

    def _leak(self) -> None:
        password = self.password
        addin_log.warning("signing in as %s with %s", self.user, password)
        addin_log.warning(f"password={password}")  # the secret inside the message itself
        addin_log.warning("GET https://crm.example/api/people?key=%s", quote(password, safe=""))
        addin_log.warning("sent %s", json.dumps({"user": self.user, "password": password}))
        credentials = base64.b64encode(f"{self.user}:{password}".encode()).decode()
        addin_log.warning("Authorization: Basic %s", credentials)
        try:
            raise ConnectionError(f"the server refused {password!r}")
        except ConnectionError:
            addin_log.exception("sign-in failed")

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        self._leak()
        addin_log.warning("still using session %s", self.session)
        raise AddinError(f"The CRM refused {self.password} (session {self.session}).", code="invalid_auth")

    def test(self) -> Sequence[CheckResult]:
        self._leak()
        return [CheckResult("authenticate", False, f"The CRM refused {self.password}.", "invalid_auth")]


LEAKY = Integration(
    id=INTEGRATION_ID,
    name="Leaky",
    version="1.0",
    open=LeakyBook,
    capabilities=frozenset({Capability.SEARCH_NUMBER, Capability.SEARCH_NAME}),
    config=(
        ConfigField("username", "User name", FieldKind.TEXT, required=True),
        ConfigField("password", "Password", FieldKind.SECRET, required=True),
    ),
)


@hookimpl
def partnercrmd_integrations() -> Sequence[Integration]:
    return [LEAKY]


def entry_point_site(site: Path) -> dict[str, str]:
    """Environment under which a `partnercrmd` process loads this add-in through an entry point."""
    return addin_site(site, {"leaky": "leaky_addin"}, distribution="leakyaddin", also=[Path(__file__).parent])

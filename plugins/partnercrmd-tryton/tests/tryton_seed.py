"""The tests' data in Tryton: three parties, a user with limited rights, and book settings for the server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tryton_testserver
from partnercrmd_tryton import TRYTON, TrytonBook
from tryton_testserver import ADMIN, ADMIN_PASSWORD, DATABASE, RawTryton, TrytonServer

from partnercrmd.sdk import BookContext

CLERK = "clerk"
CLERK_PASSWORD = "clerk-pass-2026"

# Valid numbers only: Tryton with phonenumbers rejects invalid ones (the 555-01xx drama range included).
DANA = {
    "name": "Dana Whitfield",
    "contact_mechanisms": [
        ["create", [
            {"type": "phone", "value": "+44 (0)20 7946-0958"},  # Tryton stores "+44 20 7946 0958"
            {"type": "email", "value": "dana.whitfield@northwind.example"},
            {"type": "website", "value": "https://northwind.example/dana"},
        ]],
    ],
}  # fmt: skip
HAROLD = {
    "name": "Harold Finch",
    "contact_mechanisms": [["create", [{"type": "mobile", "value": "+1 (212) 736-5000"}]]],
}
ZOE = {
    "name": "Zoë Lefèvre",
    "contact_mechanisms": [["create", [{"type": "fax", "value": "+33 1 42 68 53 00"}]]],
    "addresses": [["create", [{"street": "12 rue de Rivoli", "postal_code": "75004", "city": "Paris"}]]],
}


@dataclass
class Tryton:
    """A running server and the ids of its seeded parties."""

    server: TrytonServer
    ids: dict[str, int]

    @property
    def url(self) -> str:
        return self.server.url

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Book settings for this server as admin (what `configure_book` takes)."""
        return {"url": self.url, "database": DATABASE, "username": ADMIN, "password": ADMIN_PASSWORD, **changes}

    def admin(self) -> RawTryton:
        return self.server.admin()


def seed(server: TrytonServer) -> dict[str, int]:
    """Three parties, and a user 'clerk' who may read notes but not write them (a global access rule)."""
    admin = server.admin()
    ids = dict(zip(["dana", "harold", "zoe"], admin.call("model.party.party.create", [DANA, HAROLD, ZOE]), strict=True))
    admin.call("model.res.user.create", [{"name": "Clerk", "login": CLERK, "password": CLERK_PASSWORD}])
    rule = {"model": "ir.note", "perm_read": True, "perm_write": False, "perm_create": False, "perm_delete": False}
    admin.call("model.ir.model.access.create", [rule])  # applies to every user but the administrator
    return ids


def start_seeded(directory: Path, *, phonenumbers: bool = True) -> Tryton:
    server = tryton_testserver.start(directory, phonenumbers=phonenumbers)
    try:
        return Tryton(server, seed(server) if phonenumbers else {})
    except BaseException:
        server.stop()
        raise


@asynccontextmanager
async def connector(directory: Path, settings: dict[str, Any]) -> AsyncIterator[TrytonBook]:
    """The book as the daemon (or `partnercrmd books test`) opens it, with its index file in `directory`."""
    opened = TRYTON.open(BookContext("erp", "ERP", settings, directory, "GB"))
    assert isinstance(opened, TrytonBook)
    try:
        yield opened
    finally:
        await opened.close()

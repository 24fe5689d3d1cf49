"""Add-ins that misbehave on purpose, registered through the real hook, for isolation tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from partnercrmd import hookimpl
from partnercrmd.errors import AddinError
from partnercrmd.integration import (
    BlockingConnector,
    BookContext,
    Capability,
    ConfigField,
    Connector,
    FieldKind,
    Integration,
)
from partnercrmd.model import Contact, Phone, SearchQuery

SEARCHES = frozenset({Capability.SEARCH_NUMBER, Capability.SEARCH_NAME})


class Raising(Connector):
    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        raise RuntimeError("backend exploded")


class Hanging(Connector):
    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        await asyncio.sleep(3600)
        return []


class BlockingSlow(BlockingConnector):
    def search(self, query: SearchQuery) -> Sequence[Contact]:
        time.sleep(1.0)
        return []


class Garbage(Connector):
    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        return ["not a contact"]  # type: ignore[list-item]  # deliberately breaks the contract


class Loose(Connector):
    """Returns everyone whatever the query, like a backend with a sloppy substring match."""

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        return [
            Contact(id="right", display_name="Right Person", phones=[Phone("020 7946 0123")]),
            Contact(id="wrong", display_name="Wrong Person", phones=[Phone("+1 415 794 6012")]),
        ]


class Narrow(Loose):
    """Declared able to log calls, but its settings leave that out."""

    def capabilities(self) -> frozenset[Capability] | None:
        return SEARCHES | {Capability.POP}


class Secretive(Connector):
    def __init__(self, password: str) -> None:
        self.password = password

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        raise AddinError(f"login refused for password {self.password}", code="invalid_auth")


def _secretive(context: BookContext) -> Connector:
    return Secretive(str(context.settings["password"]))


def _broken_open(context: BookContext) -> Connector:
    raise ConnectionRefusedError("server at 127.0.0.1:9 refused")


def _integration(integration_id: str, connector: type[Connector | BlockingConnector]) -> Integration:
    return Integration(
        id=integration_id, name=integration_id.title(), version="1.0", open=lambda _: connector(), capabilities=SEARCHES
    )


INTEGRATIONS = [
    _integration("raising", Raising),
    _integration("hanging", Hanging),
    _integration("blocking-slow", BlockingSlow),
    _integration("garbage", Garbage),
    _integration("loose", Loose),
    Integration(
        id="secretive",
        name="Secretive",
        version="1.0",
        open=_secretive,
        capabilities=SEARCHES,
        config=(ConfigField("password", "Password", FieldKind.SECRET, required=True),),
    ),
    Integration(
        id="narrow",
        name="Narrow",
        version="1.0",
        open=lambda _: Narrow(),
        capabilities=SEARCHES | {Capability.POP, Capability.LOG_ACTIVITY},
    ),
    Integration(id="broken-open", name="Broken open", version="1.0", open=_broken_open, capabilities=SEARCHES),
]


class FakeAddins:
    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        return INTEGRATIONS


class ExplodingAddin:
    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        raise RuntimeError("cannot list integrations")

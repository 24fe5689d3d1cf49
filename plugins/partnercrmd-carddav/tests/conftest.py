"""Fixtures: one Radicale for the whole run, and a fresh, seeded address book per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from carddav_seed import seed_book
from carddav_servers import RadicaleServer, RawDav


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    server = RadicaleServer(tmp_path_factory.mktemp("radicale")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def raw(radicale: RadicaleServer) -> RawDav:
    """Alice's raw DAV client, for seeding and reading back."""
    return radicale.raw("alice")


@pytest.fixture
def book_path(raw: RawDav) -> str:
    """A new address book of Alice's holding Dana, Eamon and Zoë."""
    return seed_book(raw, f"/alice/{uuid.uuid4().hex}/")


@pytest.fixture
def settings(radicale: RadicaleServer, book_path: str) -> dict[str, Any]:
    """The book's settings as a user would enter them: the server, the user, the address book's path."""
    return {
        "url": radicale.url + "/",
        "username": "alice",
        "password": RadicaleServer.USERS["alice"],
        "addressbook": book_path,
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "book-data"
    path.mkdir()
    return path

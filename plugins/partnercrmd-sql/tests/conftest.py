"""Fixtures: one PostgreSQL and one MariaDB server for the whole run (started on first use, stopped at the end)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sql_test_support import MariaDbServer, PostgresServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.init()
        server.start()
        server.prepare()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDbServer]:
    server = MariaDbServer()
    try:
        server.init()
        server.start()
        server.prepare()
        yield server
    finally:
        server.remove()

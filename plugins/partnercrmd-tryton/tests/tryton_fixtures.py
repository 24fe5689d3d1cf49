"""Fixtures, loaded by the test modules with `pytest_plugins = ["tryton_fixtures"]`: seeded Tryton servers.

Not a conftest.py: other add-ins have their own, and two modules named `conftest` clash (in mypy, and for
`import conftest`). Test modules import helpers from tryton_seed, never from here (pytest must import a
plugin first to rewrite its asserts).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tryton_seed import Tryton, start_seeded


@pytest.fixture(scope="session")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tryton]:
    """One seeded Tryton server for all the add-in's tests (it starts in about 2 s), stopped by PID at the end.

    Tests add to it (parties, notes, an avatar) and may end its sessions, but never change the names or
    numbers of the seeded parties, so they do not depend on each other's order.
    """
    started = start_seeded(tmp_path_factory.mktemp("tryton"))
    yield started
    started.server.stop()


@pytest.fixture
def disposable_tryton(tmp_path: Path) -> Iterator[Tryton]:
    """A seeded server of the test's own, for a test that stops it."""
    started = start_seeded(tmp_path / "tryton")
    yield started
    started.server.stop()

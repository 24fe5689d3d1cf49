"""Where a blocking connector's reads run (issue #18): declared bounded reads on the event loop, the rest in threads.

Through the real app and its HTTP API: a blocking add-in answers with the name of the thread that ran each
call, so the answer shows where the host ran it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from aiohttp import web

from partnercrmd import hookimpl
from partnercrmd.books import DEFAULT_BOOK_ID
from partnercrmd.integration import ON_LOOP_STRIKES, BlockingConnector, Capability, Integration
from partnercrmd.local_book.addin import DATABASE_NAME
from partnercrmd.model import Activity, Contact, Phone, SearchQuery
from partnercrmd.testing import ApiSession, Paths, configure_book

NUMBER = "+44 20 7946 0111"
LOOP_THREAD = threading.current_thread().name  # the aiohttp test client serves the app on the test's own loop


class ThreadReporter(BlockingConnector):
    """Answers every read with one contact named after the thread that ran it."""

    def __init__(self, burn_on_loop: float = 0.0) -> None:
        self.burn_on_loop = burn_on_loop

    def _contact(self) -> Contact:
        here = threading.current_thread()
        if here is threading.main_thread() and self.burn_on_loop:  # CPU-bound work that was declared bounded
            until = time.thread_time() + self.burn_on_loop
            while time.thread_time() < until:
                pass
        return Contact(id="c1", display_name=here.name, phones=[Phone(NUMBER)])

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        return [self._contact()]

    def get(self, contact_id: str) -> Contact | None:
        return self._contact()

    def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        return []

    def log_activity(self, contact_id: str, activity: Activity) -> str:
        return threading.current_thread().name


class NumbersOnLoop(ThreadReporter):
    on_loop = frozenset({Capability.SEARCH_NUMBER, Capability.LOG_ACTIVITY})  # a write is never run on the loop


class SlowOnLoop(ThreadReporter):
    on_loop = frozenset({Capability.SEARCH_NUMBER})

    def __init__(self) -> None:
        super().__init__(burn_on_loop=0.02)


def integration(integration_id: str, connector: type[ThreadReporter]) -> Integration:
    return Integration(
        id=integration_id,
        name=integration_id,
        version="1",
        open=lambda context: connector(),
        capabilities=frozenset({Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.POP}),
    )


class ThreadAddins:
    @hookimpl
    def partnercrmd_integrations(self) -> Sequence[Integration]:
        return [
            integration("in-threads", ThreadReporter),
            integration("numbers-on-loop", NumbersOnLoop),
            integration("slow-on-loop", SlowOnLoop),
        ]


@pytest.fixture
def partnercrmd_addins() -> list[tuple[str, object]]:
    return [("thread-reporters", ThreadAddins())]


async def answered_by(api: ApiSession, book_id: str, query: str) -> str:
    """The thread that ran the book's search, as the book's one record says."""
    collections: list[dict[str, Any]] = await api.call("POST", "Search", query=query)
    (collection,) = [c for c in collections if c["AddinId"] == book_id]
    assert collection["ExceptionText"] == ""
    (record,) = collection["Records"]
    return str(record["DisplayText"])


async def test_a_blocking_connector_runs_in_its_threads_unless_it_declares_reads(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    book = await configure_book(partnercrmd_app, "in-threads")
    assert (await answered_by(api, book, NUMBER)).startswith("addin")
    assert (await answered_by(api, book, "Alice")).startswith("addin")


async def test_declared_number_searches_run_on_the_loop_and_name_searches_in_threads(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    book = await configure_book(partnercrmd_app, "numbers-on-loop")
    assert await answered_by(api, book, NUMBER) == LOOP_THREAD
    assert (await answered_by(api, book, "Alice")).startswith("addin")  # SEARCH_NAME was not declared


async def test_a_declared_read_that_proves_slow_goes_back_to_the_threads(
    api: ApiSession, partnercrmd_app: web.Application, caplog: pytest.LogCaptureFixture
) -> None:
    book = await configure_book(partnercrmd_app, "slow-on-loop")
    for _ in range(ON_LOOP_STRIKES):
        assert await answered_by(api, book, NUMBER) == LOOP_THREAD
    assert (await answered_by(api, book, NUMBER)).startswith("addin")
    assert "SEARCH_NUMBER" in caplog.text or "SearchByNumber" in caplog.text
    assert "run in threads from now on" in caplog.text


async def test_the_local_book_answers_number_searches_while_another_process_writes(
    api: ApiSession, partnercrmd_home: Paths
) -> None:
    """The local book reads on the loop: it must never wait for a writer (an import running in the CLI)."""
    path = partnercrmd_home.book_dir(DEFAULT_BOOK_ID) / DATABASE_NAME
    await api.call("POST", "Search", query="Alice")  # the book is open, its database exists
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE contacts SET display_name = 'Renamed' WHERE display_name = 'Alice Hartley'")
        started = time.monotonic()
        collections = await api.call("POST", "Search", query="+44 20 7946 0958")
        assert time.monotonic() - started < 0.5
        (local,) = [c for c in collections if c["AddinId"] == DEFAULT_BOOK_ID]
        assert [r["DisplayText"] for r in local["Records"]] == ["Alice Hartley"]  # the last committed state
        writer.execute("COMMIT")
    finally:
        writer.close()
    collections = await api.call("POST", "Search", query="+44 20 7946 0958")
    (local,) = [c for c in collections if c["AddinId"] == DEFAULT_BOOK_ID]
    assert [r["DisplayText"] for r in local["Records"]] == ["Renamed"]

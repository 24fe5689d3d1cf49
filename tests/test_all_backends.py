"""All five integration add-ins configured at once in one daemon, each against its real server.

Radicale (CardDAV), slapd (LDAP), PostgreSQL (SQL), trytond (Tryton) and BottleCRM run on
127.0.0.1 for this module (started in parallel by `tests.backend_servers`, which reuses each
add-in's own test helpers, and stopped by PID). Each holds Dana Whitfield with +44 20 7946 0958
written its own way, next to decoys with the same last digits; the daemon's local book holds her
too, created through the API. One `POST Search` must then answer from all six books, each in its
own `AddinCollection`, in priority order, with no `ExceptionText`; and when one server stops,
its book says so clearly within the deadline while the others still answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from aiohttp import web

from partnercrmd.testing import ApiSession, configure_book, names, remove_default_book, search
from tests.backend_servers import (
    KINDS,
    PERSON,
    PERSON_NUMBER,
    PERSON_SURNAME,
    Backend,
    close_all,
    start_all,
    start_backend,
    stopped_message_ok,
)

PRIORITIES = {"sql": 10, "carddav": 20, "local": 30, "bottlecrm": 40, "tryton": 50, "ldap": 60}
"""Not the order the books are configured in (KINDS, then the local book), so the answer's order means something."""
LOCAL_STORED_AS = "0044 20 7946 0958"
NUMBER_QUERIES = ("02079460958", "+442079460958")
"""Formats no server stores Dana's number in (CardDAV and BottleCRM compare numbers as literal text)."""
FIRST_SEARCH_MS = 10_000
"""The first search of a fresh daemon signs in to Tryton and fills the add-ins' number indexes: on a loaded
two-CPU machine that can take longer than the default deadline. The tests check what is found, not how fast."""
DEADLINE_MS = 1_500
"""The default search deadline, used once the books are warm."""
DEADLINE_SLACK = 3.0
"""Seconds a search with DEADLINE_MS may take in all, HTTP included."""


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Backend]]:
    """The five seeded servers, started at once; stopped by PID after the module."""
    started = start_all(tmp_path_factory.mktemp("backends"))
    try:
        yield started
    finally:
        close_all(started.values())


async def configure_all(app: web.Application, api: ApiSession, backends: Mapping[str, Backend]) -> dict[str, str]:
    """A book on each server plus a local book holding Dana (created through the API); book ids by kind.

    Every book must be ready: an add-in that did not load or a setting it refused fails here, by name.
    """
    await remove_default_book(app)
    ids: dict[str, str] = {}
    for kind in KINDS:
        backend = backends[kind]
        name = f"{kind} on {backend.name}"
        ids[kind] = await configure_book(app, kind, name=name, priority=PRIORITIES[kind], **backend.settings)
    # Not named "Local address book": its id would be "local", and the new book would open the removed
    # default book's database (with the sample contacts), which stays in the book's data folder.
    ids["local"] = await configure_book(app, "local", name="Local book", priority=PRIORITIES["local"])
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{ids['local']}/Contact",
        FirstName="Dana",
        LastName="Whitfield",
        Phone=LOCAL_STORED_AS,
    )
    assert created["DisplayText"] == PERSON
    listed = {book["AddinId"]: book for book in await api.call("GET", "AddressBooks")}
    for kind, book_id in ids.items():
        assert (listed[book_id]["Status"], listed[book_id]["ExceptionText"]) == ("Ready", ""), (kind, listed[book_id])
    return ids


def in_priority_order(ids: Mapping[str, str]) -> list[str]:
    return [ids[kind] for kind in sorted(ids, key=PRIORITIES.__getitem__)]


def assert_everyone_found_dana(collections: dict[str, dict[str, Any]], ids: Mapping[str, str]) -> None:
    """One collection per book, in priority order, each with Dana alone and no ExceptionText."""
    assert list(collections) == in_priority_order(ids)
    for collection in collections.values():
        assert names(collection) == [PERSON], collection


async def test_one_search_by_number_answers_from_every_book_in_priority_order(
    api: ApiSession, partnercrmd_app: web.Application, backends: dict[str, Backend]
) -> None:
    ids = await configure_all(partnercrmd_app, api, backends)
    for query in NUMBER_QUERIES:
        assert_everyone_found_dana(await search(api, query, timeoutMs=FIRST_SEARCH_MS), ids)


async def test_one_search_by_name_answers_from_every_book_in_priority_order(
    api: ApiSession, partnercrmd_app: web.Application, backends: dict[str, Backend]
) -> None:
    ids = await configure_all(partnercrmd_app, api, backends)
    assert_everyone_found_dana(await search(api, PERSON_SURNAME, timeoutMs=FIRST_SEARCH_MS), ids)
    # Warm now: every book answers well within the default deadline, all at once.
    started = time.monotonic()
    assert_everyone_found_dana(await search(api, "dana whitfield", timeoutMs=DEADLINE_MS), ids)
    assert time.monotonic() - started < DEADLINE_SLACK


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stopped_server_is_reported_in_its_book_while_the_others_answer(
    api: ApiSession,
    partnercrmd_app: web.Application,
    backends: dict[str, Backend],
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A server of `kind` of the test's own replaces the shared one; it answers once, then stops (by PID)."""
    doomed = await asyncio.to_thread(start_backend, kind, tmp_path_factory.mktemp(f"doomed-{kind}"))
    try:
        ids = await configure_all(partnercrmd_app, api, {**backends, kind: doomed})
        assert_everyone_found_dana(await search(api, PERSON_NUMBER, timeoutMs=FIRST_SEARCH_MS), ids)
        await asyncio.to_thread(doomed.stop)
        for query in (PERSON_NUMBER, PERSON_SURNAME):
            started = time.monotonic()
            collections = await search(api, query, timeoutMs=DEADLINE_MS)
            assert time.monotonic() - started < DEADLINE_SLACK, query
            assert list(collections) == in_priority_order(ids)
            for collection in collections.values():
                if collection["AddinId"] == ids[kind]:
                    assert collection["Records"] == [], collection
                    assert stopped_message_ok(collection["ExceptionText"], doomed), collection["ExceptionText"]
                else:
                    assert names(collection) == [PERSON], (query, collection)
    finally:
        await asyncio.to_thread(doomed.close)

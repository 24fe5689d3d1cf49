"""What users report breaking, for the templates built from their vendors' published documentation (issue #16.4):
Freshsales, Copper, Close, Insightly and Zendesk Sell.

test_templates_catalogue.py runs every behaviour test of these templates (numbers in other formats, names, pop,
call logging, creating, wrong credentials, 429 with Retry-After) against their reproductions, which follow the
documentation pages each names. Here, through the same reproductions and the daemon's HTTP API: callers who share
one number (a switchboard, a family) are all found, and a CRM slower than the search deadline costs the phone
client only that book's records (the others' arrive in time, that book says why it has none).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from templates_fake_crm import FakeCrm

# The catalogue's fixtures: the reproduction (with its vendor contract where there is one) and its book.
from test_templates_catalogue import CRMS, book, book_records, crm, dana_query, record_id

from partnercrmd.testing import ApiSession, configure_book, search

__all__ = ["book", "crm"]  # fixtures used by name

DOCUMENTED = ("freshsales", "copper", "close", "insightly", "zendesk-sell")


@pytest.fixture(params=DOCUMENTED)
def template_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def second_crm(template_id: str) -> AsyncIterator[FakeCrm]:
    """Another account of the same CRM, answering promptly."""
    fake: FakeCrm = CRMS[template_id].build()
    await fake.start()
    yield fake
    await fake.stop()


async def test_callers_sharing_a_number_are_all_found(api: ApiSession, book: str, crm: FakeCrm) -> None:
    """A second contact created with Dana's number (a colleague on the same line): a call from it finds both."""
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book}/Contact",
        FirstName="Sam",
        LastName="Whitfield",
        Phone="+44 20 7946 0958",
        Email="sam.whitfield@northwind.example",
    )
    assert created["DisplayText"] == "Sam Whitfield"
    for query in ("+44 20 7946 0958", "020 7946 0958"):
        found = await book_records(api, book, query)
        assert sorted(r["DisplayText"] for r in found) == ["Dana Whitfield", "Sam Whitfield"], query
        assert len({record_id(r, crm) for r in found}) == 2


async def test_a_crm_slower_than_the_deadline_costs_only_its_own_records(
    api: ApiSession,
    partnercrmd_app: web.Application,
    book: str,
    crm: FakeCrm,
    second_crm: FakeCrm,
    template_id: str,
) -> None:
    other = await configure_book(
        partnercrmd_app, template_id, name="Other account", **CRMS[template_id].settings(second_crm)
    )
    crm.hang = True  # the first account accepts the request and does not answer
    try:
        for query in ("+44 20 7946 0958", dana_query(template_id)):
            started = time.monotonic()
            found = await search(api, query, timeoutMs=1500)
            assert time.monotonic() - started < 4, query
            assert [r["DisplayText"] for r in found[other]["Records"]] == ["Dana Whitfield"], query
            assert found[other]["ExceptionText"] == ""
            assert (found[book]["Records"], found[book]["ExceptionText"]) == ([], "No answer within 1.5 s."), query
    finally:
        crm.hang = False

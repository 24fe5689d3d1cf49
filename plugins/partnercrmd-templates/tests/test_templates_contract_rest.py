"""What users report breaking, and what each API's limits make of it, for the templates held to a vendor's REST
description that this batch added (issue #16): QuickBooks Online, Jira Service Management, Dynamics 365 Business
Central and Pipeliner CRM.

test_templates_catalogue.py runs every behaviour test of these templates (numbers in other formats, names, pop, what
the API cannot do declared absent, creating, a 401 cured by one token refresh, 429 with Retry-After) against their
reproductions, each request and answer held to the vendor's description. Here, through the same reproductions,
contracts and the daemon's HTTP API: callers who share one number are all found; a CRM slower than the search deadline
costs only its own book's records; and each template's own answer where its API cannot do what a phone needs
(QuickBooks cannot filter customers by phone number: a budgeted window of the most recently changed customers; Jira
Service Management keeps no numbers at all: found by name, never by number), and Business Central's OData filters
built with odata_string; Pipeliner's exact filters, one phone field and number form a query, within a budget.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import crm_business_central
import crm_jira_service_management
import crm_pipeliner
import crm_quickbooks
import pytest
from aiohttp import web
from templates_fake_crm import FakeCrm

# The catalogue's fixtures: the reproduction with its vendor contract (checked when the test ends) and its book.
from test_templates_catalogue import (
    book,
    book_records,
    crm,
    finds_by_number,
    record_id,
)
from vendor_contracts import vendor_contract_of

from partnercrmd.testing import ApiSession, action, book_connector, configure_book, remove_default_book

__all__ = ["book", "crm"]  # fixtures used by name

CONTRACT_REST = ("quickbooks-online", "jira-service-management", "business-central", "pipeliner")
BY_NUMBER = tuple(t for t in CONTRACT_REST if finds_by_number(t))
"""Those that find a caller by number (Jira Service Management cannot)."""


@pytest.fixture(params=CONTRACT_REST)
def template_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- QuickBooks Online: no phone filter, so a budgeted window of customers ---------------------------------------


def quickbooks_statements(crm: FakeCrm) -> list[str]:
    """The query-language statements the book sent, in order."""
    return [
        parse_qs(urlsplit(path).query)["query"][0]
        for method, path in crm.requests
        if method == "GET" and urlsplit(path).path.endswith("/query")
    ]


@pytest.mark.parametrize("template_id", ["quickbooks-online"])
async def test_quickbooks_looks_for_a_number_among_the_most_recently_changed_customers(
    api: ApiSession, partnercrmd_app: web.Application, crm: FakeCrm
) -> None:
    """QuickBooks' query language has no phone filter (PrimaryPhone is not filterable): one request reads the
    `lookup_scan` most recently changed customers and the daemon keeps those with the number. Outside that window a
    caller is not found by number (the declared limit), yet by name still is; the window never asks past 1,000."""
    await remove_default_book(partnercrmd_app)
    settings = crm_quickbooks.settings(crm)
    narrow = await configure_book(partnercrmd_app, "quickbooks-online", name="Newest one", **settings, lookup_scan=1)
    # Zoë was changed last, Dana first (crm_quickbooks seeds them a minute apart).
    assert [r["DisplayText"] for r in await book_records(api, narrow, "+33 1 42 68 53 00")] == ["Zoë Lefèvre"]
    assert await book_records(api, narrow, "+44 20 7946 0958") == []
    assert [r["DisplayText"] for r in await book_records(api, narrow, "Whitfield")] == ["Dana Whitfield"]
    lookups = [s for s in quickbooks_statements(crm) if "WHERE" not in s]
    assert lookups == ["SELECT * FROM Customer ORDERBY MetaData.LastUpdatedTime DESC MAXRESULTS 1"] * 2
    # A customer changed since (here: created) comes into the window at once.
    await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{narrow}/Contact",
        FirstName="Ada",
        LastName="King",
        Phone="+44 20 7946 0321",
    )
    assert [r["DisplayText"] for r in await book_records(api, narrow, "+44 20 7946 0321")] == ["Ada King"]
    # Another book signs in on its own (Intuit rotates refresh tokens: the first book's has been spent).
    crm.refresh_tokens.add("refresh-token-second-sign-in")
    settings["refresh_token"] = "refresh-token-second-sign-in"
    wide = await configure_book(partnercrmd_app, "quickbooks-online", name="Too wide", **settings, lookup_scan=50000)
    assert [r["DisplayText"] for r in await book_records(api, wide, "+44 20 7946 0958")] == ["Dana Whitfield"]
    assert "SELECT * FROM Customer ORDERBY MetaData.LastUpdatedTime DESC MAXRESULTS 1000" in quickbooks_statements(crm)


@pytest.mark.parametrize("template_id", ["quickbooks-online"])
async def test_quickbooks_names_with_quotes_stay_one_literal(api: ApiSession, book: str, crm: FakeCrm) -> None:
    """The query language escapes a quote with a backslash: O'Neill is found, and each word typed must be in the
    display name, in order (LIKE '%Eamon%O\\'Neill%')."""
    assert [r["DisplayText"] for r in await book_records(api, book, "Eamon O'Neill")] == ["Eamon O'Neill"]
    assert quickbooks_statements(crm)[-1] == (
        "SELECT * FROM Customer WHERE DisplayName LIKE '%Eamon%O\\'Neill%' MAXRESULTS 25"
    )
    assert await book_records(api, book, "x' OR DisplayName LIKE '%") == []


async def test_quickbooks_traffic_exercises_the_described_operations(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    """Every operation the template uses is one of the description's (query, read and create a customer), and none
    of the traffic breaks it."""
    contract = vendor_contract_of("quickbooks-online")
    assert contract is not None
    fake = crm_quickbooks.build()
    fake.outer_middlewares.append(contract.middleware())
    await fake.start()
    try:
        await remove_default_book(partnercrmd_app)
        qbo = await configure_book(partnercrmd_app, "quickbooks-online", **crm_quickbooks.settings(fake))
        [dana] = await book_records(api, qbo, "+44 20 7946 0958")
        connector = book_connector(partnercrmd_app, qbo)  # a record read by its id (the add-in contract's get)
        assert connector is not None
        read = await connector.get(record_id(dana, fake))
        assert read is not None and read.display_name == "Dana Whitfield"
        await book_records(api, qbo, "Dana")
        await api.call("POST", "CreateNewRecord", RecordTypeId=f"{qbo}/Contact", FirstName="Grace", LastName="Hopper")
    finally:
        await fake.stop()
    prefix = "/v3/company/DefaultParameterValue"
    assert set(contract.checked) == {f"GET {prefix}/query", f"POST {prefix}/customer", f"GET {prefix}/customer/{{id}}"}
    contract.assert_kept()


# --- Jira Service Management: customers without numbers ------------------------------------------------------------


@pytest.mark.parametrize("template_id", ["jira-service-management"])
async def test_jira_finds_customers_by_name_and_never_by_number(
    api: ApiSession, partnercrmd_app: web.Application, book: str, crm: FakeCrm
) -> None:
    """A Jira Service Management customer has no phone number: a caller's number finds no one (and is no error, nor
    a request to Jira), while the name finds the customer of the service desk."""
    before = len(crm.requests)
    assert await book_records(api, book, "+44 20 7946 0958") == []
    assert crm.requests[before:] == []
    [dana] = await book_records(api, book, "Dana")
    assert dana["DisplayText"] == "Dana Whitfield"
    [integration] = [i for i in await api.call("GET", "Integrations") if i["Id"] == "jira-service-management"]
    assert "SearchByNumber" not in integration["Capabilities"]


async def test_jira_traffic_exercises_the_described_operations(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    """Search the desk's customers, create a customer and add it to the desk, raise a request for a call: each is one
    of the description's operations, and none of the traffic breaks it."""
    contract = vendor_contract_of("jira-service-management")
    assert contract is not None
    fake = crm_jira_service_management.build()
    fake.outer_middlewares.append(contract.middleware())
    await fake.start()
    try:
        await remove_default_book(partnercrmd_app)
        jsm = await configure_book(
            partnercrmd_app, "jira-service-management", **crm_jira_service_management.settings(fake)
        )
        [dana] = await book_records(api, jsm, "Whitfield")
        await api.call(
            "POST",
            "DoAction",
            actionId=action(dana, "LogActivity"),
            Direction="Outbound",
            CalledNumber="+44 20 7946 0958",
            DurationSeconds=30,
            Notes="Called back.",
        )
        await api.call(
            "POST",
            "CreateNewRecord",
            RecordTypeId=f"{jsm}/Contact",
            FirstName="Grace",
            LastName="Hopper",
            Email="grace.hopper@example.com",
        )
        assert [r["DisplayText"] for r in await book_records(api, jsm, "Hopper")] == ["Grace Hopper"]
    finally:
        await fake.stop()
    desk = "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"
    assert set(contract.checked) == {
        f"GET {desk}",
        f"POST {desk}",
        "POST /rest/servicedeskapi/customer",
        "POST /rest/servicedeskapi/request",
    }
    contract.assert_kept()


# --- Business Central: OData filters -------------------------------------------------------------------------------


@pytest.mark.parametrize("template_id", ["business-central"])
async def test_business_central_filters_keep_each_text_one_literal(api: ApiSession, book: str, crm: FakeCrm) -> None:
    """A name with an apostrophe is found (the quote doubled inside the literal), a text made to end the literal adds
    no condition, and a number is asked for in its three forms in one filter."""
    assert [r["DisplayText"] for r in await book_records(api, book, "O'Neill")] == ["Eamon O'Neill"]
    assert await book_records(api, book, "x') or contains(displayName,'a") == []
    filters = filters_sent(crm)
    assert "contains(displayName,'O''Neill')" in filters
    assert "contains(displayName,'x'') or contains(displayName,''a')" in filters
    await book_records(api, book, "020 7946 0958")
    assert filters_sent(crm)[-1] == (
        "phoneNumber eq '+442079460958' or phoneNumber eq '+44 20 7946 0958' or phoneNumber eq '020 7946 0958'"
    )


def filters_sent(crm: FakeCrm) -> list[str]:
    return [parse_qs(urlsplit(path).query)["$filter"][0] for method, path in crm.requests if "$filter" in path]


async def test_business_central_traffic_exercises_the_described_operations(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    """List (by number and by name), read and create customers: each is one of the description's operations, and none
    of the traffic breaks it."""
    contract = vendor_contract_of("business-central")
    assert contract is not None
    fake = crm_business_central.build()
    fake.outer_middlewares.append(contract.middleware())
    await fake.start()
    try:
        await remove_default_book(partnercrmd_app)
        bc = await configure_book(partnercrmd_app, "business-central", **crm_business_central.settings(fake))
        [dana] = await book_records(api, bc, "+44 20 7946 0958")
        await book_records(api, bc, "Whitfield")
        connector = book_connector(partnercrmd_app, bc)
        assert connector is not None
        read = await connector.get(record_id(dana, fake))
        assert read is not None and read.display_name == "Dana Whitfield"
        await api.call("POST", "CreateNewRecord", RecordTypeId=f"{bc}/Contact", FirstName="Grace", LastName="Hopper")
    finally:
        await fake.stop()
    customers = "/v2.0/sandbox/api/v1.0/companies({company_id})/customers"
    assert set(contract.checked) == {f"GET {customers}", f"POST {customers}", f"GET {customers}({{customer_id}})"}
    contract.assert_kept()


# --- Pipeliner: exact filters, one field and form a query ------------------------------------------------------------


@pytest.mark.parametrize("template_id", ["pipeliner"])
async def test_pipeliner_asks_each_phone_field_in_each_form_within_its_budget(
    api: ApiSession, book: str, crm: FakeCrm
) -> None:
    """Pipeliner's filter compares a value as stored and its filters AND together: a number is asked for in phone1 and
    phone2, in the E.164, international and national forms, one query each (six, the budget), and a mobile kept in
    phone2 is found."""
    before = len(crm.requests)
    assert await book_records(api, book, "+44 20 7946 0999") == []
    asked = [parse_qs(urlsplit(path).query) for _, path in crm.requests[before:]]
    assert [(sorted(k for k in q if k.startswith("filter[")), q["first"]) for q in asked] == [
        (["filter[phone1]"], ["25"]),
        (["filter[phone2]"], ["25"]),
    ] * 3
    assert [q.get("filter[phone1]", q.get("filter[phone2]")) for q in asked][::2] == [
        ["+442079460999"],
        ["+44 20 7946 0999"],
        ["020 7946 0999"],
    ]
    assert all(q.get("filter-op[phone1]", q.get("filter-op[phone2]")) == ["eq"] for q in asked)
    assert [r["DisplayText"] for r in await book_records(api, book, "+1 212 736 5001")] == ["Eamon O'Neill"]


async def test_pipeliner_traffic_exercises_the_described_operations(
    api: ApiSession, partnercrmd_app: web.Application
) -> None:
    """Contacts listed, read and created, a call's task created: each is one of the Swagger 2.0 description's
    operations (converted in memory), and none of the traffic breaks it."""
    contract = vendor_contract_of("pipeliner")
    assert contract is not None
    fake = crm_pipeliner.build()
    fake.outer_middlewares.append(contract.middleware())
    await fake.start()
    try:
        await remove_default_book(partnercrmd_app)
        pl = await configure_book(partnercrmd_app, "pipeliner", **crm_pipeliner.settings(fake))
        [dana] = await book_records(api, pl, "+44 20 7946 0958")
        connector = book_connector(partnercrmd_app, pl)
        assert connector is not None
        read = await connector.get(record_id(dana, fake))
        assert read is not None and read.display_name == "Dana Whitfield"
        await api.call(
            "POST",
            "DoAction",
            actionId=action(dana, "LogActivity"),
            Direction="Outbound",
            CalledNumber="+44 20 7946 0958",
            DurationSeconds=30,
            Notes="Called back.",
        )
        await api.call("POST", "CreateNewRecord", RecordTypeId=f"{pl}/Contact", FirstName="Grace", LastName="Hopper")
    finally:
        await fake.stop()
    entities = "/api/v100/rest/spaces/{space_id}/entities"
    assert set(contract.checked) == {
        f"GET {entities}/Contacts",
        f"GET {entities}/Contacts/{{id}}",
        f"POST {entities}/Contacts",
        f"POST {entities}/Tasks",
    }
    contract.assert_kept()

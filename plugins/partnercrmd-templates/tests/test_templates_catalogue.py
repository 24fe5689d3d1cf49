"""The cloud CRM catalogue, end to end through the daemon's HTTP API, against local reproductions.

Each CRM cannot be reached from here, so `crm_<name>.py` reproduces it on 127.0.0.1 from its
public REST documentation (its module docstring names the pages followed) with the shared
framework in templates_fake_crm.py. The same behaviour tests run for every CRM: a caller found by
number whatever its format, a name search, popping the record (view and edit), a logged call as
that CRM models calls, a created contact, and authentication: OAuth access tokens renewed after a
401 (a rotated refresh token kept), or wrong credentials reported without showing them.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import crm_activecampaign
import crm_agilecrm
import crm_brevo
import crm_business_central
import crm_capsule
import crm_clio
import crm_close
import crm_copper
import crm_dolibarr
import crm_dynamics
import crm_erpnext
import crm_espocrm
import crm_freshdesk
import crm_freshsales
import crm_front
import crm_google_contacts
import crm_halopsa
import crm_hubspot
import crm_insightly
import crm_intercom
import crm_jira_service_management
import crm_klaviyo
import crm_monday
import crm_odoo
import crm_outreach
import crm_pipedrive
import crm_pipeliner
import crm_quickbooks
import crm_salesforce
import crm_servicenow
import crm_suitecrm
import crm_teamleader
import crm_twenty
import crm_zammad
import crm_zendesk
import crm_zendesk_sell
import crm_zoho
import crm_zoho_desk
import pytest
from aiohttp import web
from graphql_contract import GraphQLContract
from templates_fake_crm import FakeCrm
from vendor_contract import VendorContract
from vendor_contracts import discovery_contract_of, graphql_contract_of, vendor_contract_of

from partnercrmd.testing import (
    ApiSession,
    RecordingOpener,
    action,
    addin_host,
    book_sign_in,
    configure_book,
    daemon_paths,
    remove_default_book,
    search,
)

CRMS: dict[str, ModuleType] = {
    "hubspot": crm_hubspot,
    "salesforce": crm_salesforce,
    "zoho-crm": crm_zoho,
    "dynamics365": crm_dynamics,
    "pipedrive": crm_pipedrive,
    "zendesk": crm_zendesk,
    "freshdesk": crm_freshdesk,
    "servicenow": crm_servicenow,
    "suitecrm": crm_suitecrm,
    "halopsa": crm_halopsa,
    "activecampaign": crm_activecampaign,
    "intercom": crm_intercom,
    "capsule": crm_capsule,
    "twenty": crm_twenty,
    "clio": crm_clio,
    "brevo": crm_brevo,
    "klaviyo": crm_klaviyo,
    "outreach": crm_outreach,
    "teamleader": crm_teamleader,
    "front": crm_front,
    "google-contacts": crm_google_contacts,
    "monday": crm_monday,
    "freshsales": crm_freshsales,
    "copper": crm_copper,
    "close": crm_close,
    "insightly": crm_insightly,
    "zendesk-sell": crm_zendesk_sell,
    "zammad": crm_zammad,
    "espocrm": crm_espocrm,
    "dolibarr": crm_dolibarr,
    "erpnext": crm_erpnext,
    "agilecrm": crm_agilecrm,
    "zoho-desk": crm_zoho_desk,
    "quickbooks-online": crm_quickbooks,
    "jira-service-management": crm_jira_service_management,
    "business-central": crm_business_central,
    "pipeliner": crm_pipeliner,
    "odoo": crm_odoo,
}


@pytest.fixture(params=sorted(CRMS))
def template_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def crm(template_id: str) -> AsyncIterator[FakeCrm]:
    """The CRM's reproduction; where the vendor publishes an API description, every request the template sends
    and every answer the reproduction gives are held to it (vendor_contract.py), and the test fails on a breach."""
    fake: FakeCrm = CRMS[template_id].build()
    contract: VendorContract | GraphQLContract | None = (
        vendor_contract_of(template_id) or graphql_contract_of(template_id) or discovery_contract_of(template_id)
    )
    if contract is not None:
        fake.outer_middlewares.append(contract.middleware())
    await fake.start()
    yield fake
    await fake.stop()
    if contract is not None:
        contract.assert_kept()


@pytest.fixture
async def book(api: ApiSession, partnercrmd_app: web.Application, template_id: str, crm: FakeCrm) -> str:
    await remove_default_book(partnercrmd_app)
    return await configure_book(partnercrmd_app, template_id, **CRMS[template_id].settings(crm))


def dana_query(template_id: str) -> str:
    """A query that finds Dana Whitfield by the CRM's own search: her name, or her number where the CRM has no
    name search (its ABSENT SearchByName)."""
    return "+44 20 7946 0958" if "SearchByName" in getattr(CRMS[template_id], "ABSENT", ()) else "Whitfield"


def finds_by_number(template_id: str) -> bool:
    """Whether the CRM can find a caller by number (not: its ABSENT SearchByNumber, as Jira Service Management, whose
    customers have no phone numbers)."""
    return "SearchByNumber" not in getattr(CRMS[template_id], "ABSENT", ())


def dana_by_number(template_id: str) -> str:
    """A query that finds Dana Whitfield by her number, or by her name where the CRM cannot search by number."""
    return "+44 20 7946 0958" if finds_by_number(template_id) else "Whitfield"


async def book_records(api: ApiSession, book: str, query: str, **fields: Any) -> list[dict[str, Any]]:
    """The records one book found for `query` (asserting it reported no error); more Search fields as keywords.

    A deadline of 15 s unless given: what these tests check is what the CRM answers, not the machine's speed (under
    load the vendor contract's checks of each request and answer alone can take a second, and a full suite on two
    cores once kept Freshsales' 20 ms answer from the test process for over 5 s)."""
    fields.setdefault("timeoutMs", 15_000)
    collection = (await search(api, query, **fields))[book]
    assert collection["ExceptionText"] == "", collection["ExceptionText"]
    return list(collection["Records"])


def fields(record: dict[str, Any]) -> dict[str, str]:
    return {f["WellKnownName"]: f["Value"] for f in record["Fields"] if f["WellKnownName"] != "Custom"}


def record_id(api_record: dict[str, Any], crm: FakeCrm) -> str:
    """The CRM's id of a record the daemon returned (its page shows it via the record token)."""
    token = api_record["UniqueId"].split(".")[0]
    padded = token + "=" * (-len(token) % 4)
    return str(json.loads(base64.urlsafe_b64decode(padded))["c"])


# --- the catalogue is installed ---------------------------------------------------------------------


async def test_every_template_is_an_integration_with_its_documentation(
    api: ApiSession, partnercrmd_app: web.Application, template_id: str
) -> None:
    integration = addin_host(partnercrmd_app).integration(template_id)
    assert integration is not None, addin_host(partnercrmd_app).unavailable_reason(template_id)
    # What the CRM's API cannot do (ABSENT in its crm_*.py, e.g. no call log) must be missing, the rest there.
    absent = set(getattr(CRMS[template_id], "ABSENT", ()))
    offered = {str(c) for c in integration.capabilities}
    assert offered >= {"SearchByNumber", "SearchByName", "Pop", "LogActivity", "CreateContact"} - absent
    assert not offered & absent, offered & absent
    assert integration.extra["documentation"] and all(
        url.startswith("https://") for url in integration.extra["documentation"]
    )
    assert any(f.secret for f in integration.config)


# --- search -------------------------------------------------------------------------------------------


async def test_a_caller_is_found_by_number_whatever_its_format(api: ApiSession, book: str, template_id: str) -> None:
    module = CRMS[template_id]
    if not finds_by_number(template_id):
        # A CRM without a search by number: a number finds nothing in this book, and that is no error.
        assert await book_records(api, book, "+44 20 7946 0958") == []
        return
    for query in ("+44 20 7946 0958", "020 7946 0958", "0044 20 7946 0958", "tel:+44-20-7946-0958"):
        [dana] = await book_records(api, book, query)
        shown = fields(dana)
        assert dana["DisplayText"] == "Dana Whitfield", query
        assert shown["BusinessPhone"] == getattr(module, "STORED", {}).get("Dana", "+44 (0)20 7946-0958")
        assert shown["Email"] == "dana.whitfield@northwind.example"
        if getattr(module, "COMPANY", True):
            assert shown["CompanyName"] == "Northwind Traders"
        else:
            assert "CompanyName" not in shown


async def test_numbers_of_other_countries_and_strangers(api: ApiSession, book: str, template_id: str) -> None:
    if not finds_by_number(template_id):
        assert await book_records(api, book, "+1 (212) 736-5000") == []
        return
    assert [r["DisplayText"] for r in await book_records(api, book, "+1 (212) 736-5000")] == ["Eamon O'Neill"]
    assert [r["DisplayText"] for r in await book_records(api, book, "+33 1 42 68 53 00")] == ["Zoë Lefèvre"]
    assert await book_records(api, book, "+44 20 7946 0999") == []


async def test_name_search(api: ApiSession, book: str, template_id: str) -> None:
    if "SearchByName" in getattr(CRMS[template_id], "ABSENT", ()):
        # A CRM without a name search: a name finds nothing in this book, and that is no error.
        for query in ("Dana", "Whitfield"):
            assert await book_records(api, book, query) == [], query
        return
    for query, found in [("Dana", ["Dana Whitfield"]), ("Whitfield", ["Dana Whitfield"]), ("Nobody", [])]:
        assert [r["DisplayText"] for r in await book_records(api, book, query)] == found, query


# --- pop ----------------------------------------------------------------------------------------------


async def test_the_record_pops_in_the_crm(
    api: ApiSession, book: str, crm: FakeCrm, template_id: str, partnercrmd_opener: RecordingOpener
) -> None:
    [dana] = await book_records(api, book, dana_by_number(template_id))
    if "Pop" in getattr(CRMS[template_id], "ABSENT", ()):
        # A CRM whose app has no address for a record: the record offers no Open, and nothing was opened.
        assert not {"Open", "OpenInEditMode"} & {a["SpecialKind"] for a in dana["Actions"]}, dana["Actions"]
        assert partnercrmd_opener.urls == []
        return
    await api.call("POST", "DoAction", actionId=action(dana, "Open"))
    await api.call("POST", "DoAction", actionId=action(dana, "OpenInEditMode"))
    assert partnercrmd_opener.urls == CRMS[template_id].pop_urls(crm, record_id(dana, crm))


# --- writing ------------------------------------------------------------------------------------------


async def test_a_call_is_logged_as_the_crm_models_calls(
    api: ApiSession, book: str, crm: FakeCrm, template_id: str
) -> None:
    [dana] = await book_records(api, book, dana_by_number(template_id))
    if "LogActivity" in getattr(CRMS[template_id], "ABSENT", ()):
        # A CRM without a call log: the record offers no Log activity, and nothing was written to the CRM.
        assert "LogActivity" not in {a["SpecialKind"] for a in dana["Actions"]}, dana["Actions"]
        assert not crm.written
        return
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    await api.call(
        "POST",
        "DoAction",
        actionId=action(dana, "LogActivity"),
        Direction="Inbound",
        CallerNumber="+44 20 7946 0958",
        CalledNumber="+44 20 7946 0000",
        StartTimeUtc=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        DurationSeconds=95,
        Notes="Wants a quote for 40 chairs.",
    )
    CRMS[template_id].check_call(crm, record_id(dana, crm), start)


async def test_a_created_contact_is_in_the_crm_and_found_by_number(
    api: ApiSession, book: str, crm: FakeCrm, template_id: str
) -> None:
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book}/Contact",
        FirstName="Grace",
        LastName="Hopper",
        Phone="020 7183 8750",
        Email="grace.hopper@example.com",
    )
    assert created["DisplayText"] == "Grace Hopper"
    CRMS[template_id].check_created(crm)
    grace = "+44 20 7183 8750" if finds_by_number(template_id) else "Hopper"
    assert [r["DisplayText"] for r in await book_records(api, book, grace)] == ["Grace Hopper"]


# --- authentication -----------------------------------------------------------------------------------


async def test_credentials_are_renewed_after_a_401_or_wrong_ones_reported(
    api: ApiSession, partnercrmd_app: web.Application, book: str, crm: FakeCrm, template_id: str
) -> None:
    module = CRMS[template_id]
    dana = dana_query(template_id)
    assert [r["DisplayText"] for r in await book_records(api, book, dana)] == ["Dana Whitfield"]
    if crm.oauth is None:
        wrong = module.wrong_settings(crm)
        other = await configure_book(partnercrmd_app, template_id, name="Wrong", **wrong)
        [collection] = [c for c in await api.call("POST", "Search", query=dana) if c["AddinId"] == other]
        text = collection["ExceptionText"]
        assert collection["Records"] == [] and "refused" in text and "Check the setting" in text
        assert all(value not in text for key, value in wrong.items() if key in module.SECRETS)
        return
    grants_before = len(crm.token_grants)
    crm.expire_access_tokens()  # the CRM now answers 401 to the token the book holds
    assert [r["DisplayText"] for r in await book_records(api, book, dana)] == ["Dana Whitfield"]
    assert len(crm.token_grants) == grants_before + 1 and crm.token_grants[-1] == module.GRANT
    assert crm.requests.count(("POST", crm.oauth.token_path)) == len(crm.token_grants)
    token_file = daemon_paths(partnercrmd_app).book_dir(book) / "oauth-tokens.json"
    if module.GRANT == "client_credentials":  # the app's own token, no user's grant: the book's private folder
        stored = json.loads(token_file.read_text())
    else:  # a user's sign-in: in the daemon's encrypted vault, never in a file
        stored = await book_sign_in(partnercrmd_app, book)
        assert not token_file.exists()
    assert stored["access_token"] in crm.access_tokens
    if crm.oauth.rotate_refresh_tokens:
        # The rotated refresh token replaced the spent one, in the vault too: a restarted daemon can still sign in.
        assert stored["refresh_token"] in crm.refresh_tokens and stored["refresh_token"] != crm.oauth.refresh_token


async def test_a_rate_limited_crm_is_waited_out(api: ApiSession, book: str, crm: FakeCrm, template_id: str) -> None:
    """Every one of these APIs answers 429 with Retry-After (seconds) when a client goes too fast."""
    crm.limit(1, retry_after="1")
    before = len(crm.requests)
    # A deadline with room beyond the 1 s wait: what is tested is the wait, not the machine's speed (under load the
    # vendor contract's checks of each request and answer alone can take a few hundred milliseconds).
    found = await book_records(api, book, dana_query(template_id), timeoutMs=5000)
    assert [r["DisplayText"] for r in found] == ["Dana Whitfield"]
    token_path = crm.oauth.token_path if crm.oauth else None
    sent = [path for _, path in crm.requests[before:] if path.split("?")[0] != token_path]
    assert crm.limited == 0 and len(sent) >= 2 and sent[0] == sent[1]  # refused, then sent again after the wait


# --- what users report breaking, for every template -----------------------------------------------------------------


@pytest.fixture
async def second_crm(template_id: str) -> AsyncIterator[FakeCrm]:
    """Another account of the same CRM, answering promptly."""
    fake: FakeCrm = CRMS[template_id].build()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.mark.parametrize("template_id", sorted(t for t in CRMS if finds_by_number(t)))
async def test_callers_sharing_a_number_are_all_found(
    api: ApiSession, book: str, crm: FakeCrm, template_id: str
) -> None:
    """A second contact created with Dana's number (a colleague on the same line): a call from it finds both,
    except where the CRM's lookup names one contact per number (its ONE_CONTACT_PER_NUMBER, documented)."""
    one = getattr(CRMS[template_id], "ONE_CONTACT_PER_NUMBER", False)
    expected = ["Dana Whitfield"] if one else ["Dana Whitfield", "Sam Whitfield"]
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
        assert sorted(r["DisplayText"] for r in found) == expected, query
        assert len({record_id(r, crm) for r in found}) == len(expected)


async def test_a_crm_slower_than_the_deadline_costs_only_its_own_records(
    api: ApiSession,
    partnercrmd_app: web.Application,
    book: str,
    crm: FakeCrm,
    second_crm: FakeCrm,
    template_id: str,
) -> None:
    """One account that accepts the request and never answers: the search answers by its deadline with the other
    account's records, and says which book did not answer."""
    other = await configure_book(
        partnercrmd_app, template_id, name="Other account", **CRMS[template_id].settings(second_crm)
    )
    crm.hang = True
    try:
        for query in (dana_by_number(template_id), dana_query(template_id)):
            started = time.monotonic()
            found = await search(api, query, timeoutMs=1500)
            assert time.monotonic() - started < 4, query
            assert [r["DisplayText"] for r in found[other]["Records"]] == ["Dana Whitfield"], query
            assert found[other]["ExceptionText"] == ""
            assert (found[book]["Records"], found[book]["ExceptionText"]) == ([], "No answer within 1.5 s."), query
    finally:
        crm.hang = False

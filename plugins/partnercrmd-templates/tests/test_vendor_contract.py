"""The contract harness itself (issue #16): it finds a template that misnames a parameter, and a reproduction
that answers what the vendor's description does not allow.

A copy of the shipped HubSpot template with one misspelt body key per operation (`filter_groups` for
HubSpot's `filterGroups`, `limits` for `limit`) runs as a user's template against the HubSpot reproduction:
the reproduction, written as loosely as a hurried reproduction would be, still answers, so only the harness
can tell. The same traffic from the shipped template keeps the contract (tests/test_templates_catalogue.py
holds every behaviour test of HubSpot and Zoho CRM to it).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import crm_freshdesk
import crm_hubspot
import pytest
from aiohttp import web
from templates_fake_crm import FakeCrm
from vendor_contract import VendorContract
from vendor_contracts import vendor_contract_of

from partnercrmd.testing import ApiSession, configure_book, remove_default_book, search

CATALOGUE = Path(__file__).resolve().parents[1] / "partnercrmd_templates" / "catalogue"


def misspelt_hubspot() -> str:
    """The shipped HubSpot template with a misspelt key in its lookup and in its name search, under another id."""
    text = (CATALOGUE / "hubspot.yaml").read_text(encoding="utf-8")
    assert text.count("        filterGroups:\n") == 1 and text.count('        limit: "{{ page.size }}"') == 1
    text = text.replace("        filterGroups:\n", "        filter_groups:\n")
    text = text.replace('        limit: "{{ page.size }}"', '        limits: "{{ page.size }}"')
    text = text.replace("id: hubspot\n", "id: hubspot-misspelt\n", 1)
    assert "id: hubspot-misspelt" in text
    return text


@pytest.fixture(autouse=True)
def user_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's template folder with the misspelt copy (before the daemon starts)."""
    folder = tmp_path / "user-templates"
    folder.mkdir()
    (folder / "hubspot-misspelt.yaml").write_text(misspelt_hubspot(), encoding="utf-8")
    monkeypatch.setenv("PARTNERCRMD_TEMPLATES_DIR", str(folder))
    return folder


@pytest.fixture
async def watched_crm() -> AsyncIterator[tuple[FakeCrm, VendorContract]]:
    crm = crm_hubspot.build()
    contract = vendor_contract_of("hubspot")
    assert contract is not None
    crm.outer_middlewares.append(contract.middleware())
    await crm.start()
    yield crm, contract
    await crm.stop()


async def test_the_harness_finds_a_misspelt_parameter_that_the_reproduction_lets_through(
    api: ApiSession, partnercrmd_app: web.Application, watched_crm: tuple[FakeCrm, VendorContract]
) -> None:
    crm, contract = watched_crm
    await remove_default_book(partnercrmd_app)
    book = await configure_book(partnercrmd_app, "hubspot-misspelt", **crm_hubspot.settings(crm))
    await search(api, "+44 20 7946 0958")
    await search(api, "Whitfield")
    assert book  # both searches reached the reproduction, which answered them
    assert ("POST", "/crm/v3/objects/contacts/search") in crm.requests
    found = "\n".join(contract.violations)
    assert "filter_groups" in found, found
    assert "limits" in found, found
    with pytest.raises(AssertionError, match="breaks the vendor's API description"):
        contract.assert_kept()


def test_a_query_parameter_the_vendor_does_not_declare_is_a_violation() -> None:
    contract = vendor_contract_of("hubspot")
    assert contract is not None
    found = contract.check_request(
        "GET",
        "/crm/v3/objects/contacts/1001",
        {"propertys": "firstname"},
        {"Authorization": "Bearer x"},
        b"",
        "",
    )
    assert found is not None
    assert contract.violations == [
        "GET /crm/v3/objects/contacts/1001: query parameter(s) propertys not declared by "
        "GET /crm/v3/objects/contacts/{contactId} (declared: archived, associations, idProperty, properties, "
        "propertiesWithHistory)"
    ]


def test_an_operation_the_vendor_does_not_describe_is_a_violation() -> None:
    contract = vendor_contract_of("zoho-crm")
    assert contract is not None
    assert contract.check_request("GET", "/crm/v6/Contacts/search", {"phone": "1"}, {}, b"", "") is None
    assert contract.violations == ["GET /crm/v6/Contacts/search: no such operation in zoho-crm's API description"]


def test_an_answer_outside_the_description_is_a_violation() -> None:
    contract = vendor_contract_of("hubspot")
    assert contract is not None
    found = contract.check_request(
        "GET", "/crm/v3/objects/contacts/1001", {}, {"Authorization": "Bearer x"}, b"", "application/json"
    )
    assert found is not None and not contract.violations
    contract.check_response(found, 200, b'{"id": "1001", "properties": {"phone": null}}', "application/json")
    assert len(contract.violations) == 1 and "createdAt" in contract.violations[0], contract.violations


# --- reading the vendors' descriptions as they mean it (Pipedrive, Zendesk) -------------------------------


def test_a_company_address_is_read_as_the_description_s_server_and_an_operation_it_lacks_is_reported() -> None:
    """Pipedrive serves its v1 routes at https://{company}.pipedrive.com/api/v1/… for the description's
    https://api.pipedrive.com/v1: the alias finds the call log operation; persons are described in API v2 only,
    so API v1's person search (what the template sent before) is no operation of Pipedrive's descriptions."""
    contract = vendor_contract_of("pipedrive")
    assert contract is not None
    headers = {"x-api-token": "t"}
    call = b'{"to_phone_number": "+44", "outcome": "connected", "start_time": "2026-12-07 10:00:00", '
    call += b'"end_time": "2026-12-07 10:01:35", "person_id": 1001}'
    assert contract.check_request("POST", "/api/v1/callLogs", {}, headers, call, "application/json") is not None
    assert contract.checked == ["POST /v1/callLogs"] and not contract.violations, contract.violations
    query = {"term": "2079460958", "fields": "phone"}
    assert contract.check_request("GET", "/api/v1/persons/search", query, headers, b"", "") is None
    assert contract.violations == ["GET /v1/persons/search: no such operation in pipedrive's API description"], (
        contract.violations
    )


def test_a_call_log_answer_with_its_id_keeps_the_description_whose_all_of_has_two_closed_halves() -> None:
    """Pipedrive's call log answer is allOf [the request's fields, {id, has_recording, company_id}]: read as one
    object, an answer with the id and the call's fields keeps it; a key neither half declares still breaks it."""
    contract = vendor_contract_of("pipedrive")
    assert contract is not None
    call = {
        "to_phone_number": "+44 20 7946 0000",
        "outcome": "connected",
        "start_time": "2026-12-07 10:00:00",
        "end_time": "2026-12-07 10:01:35",
        "person_id": 1001,
    }
    body = json.dumps(call).encode()
    found = contract.check_request("POST", "/api/v1/callLogs", {}, {"x-api-token": "t"}, body, "application/json")
    assert found is not None and not contract.violations, contract.violations
    answer = {"success": True, "data": {"id": "8a7c1", "has_recording": False, **call}}
    contract.check_response(found, 200, json.dumps(answer).encode(), "application/json")
    assert not contract.violations, contract.violations
    answer["data"]["recording"] = "x"  # type: ignore[index]
    contract.check_response(found, 200, json.dumps(answer).encode(), "application/json")
    assert len(contract.violations) == 1 and "'recording' was unexpected" in contract.violations[0]


def test_call_log_times_are_held_to_the_form_pipedrive_documents() -> None:
    """The call log times are "YYYY-MM-DD HH:MM:SS" (Pipedrive's text; its schema says date-time: the amendment,
    cited): that form keeps the contract, and an RFC 3339 time, which Pipedrive would not read so, breaks it."""
    contract = vendor_contract_of("pipedrive")
    assert contract is not None
    call = {"to_phone_number": "+44", "outcome": "connected", "start_time": "2026-12-07 10:00:00"}
    call["end_time"] = "2026-12-07 10:01:35"
    send = json.dumps(call).encode()
    contract.check_request("POST", "/api/v1/callLogs", {}, {"x-api-token": "t"}, send, "application/json")
    assert not contract.violations, contract.violations
    send = json.dumps(call | {"start_time": "2026-12-07T10:00:00Z"}).encode()
    contract.check_request("POST", "/api/v1/callLogs", {}, {"x-api-token": "t"}, send, "application/json")
    assert len(contract.violations) == 1 and "2026-12-07T10:00:00Z" in contract.violations[0], contract.violations


def test_a_path_parameter_the_path_does_not_have_is_not_required() -> None:
    """Zendesk's voice ticket route declares agent_id and ticket_id path parameters its path does not have
    (OpenAPI: a path parameter MUST be in the path); a request that keeps the rest of the description passes,
    and one with a key the ticket does not take is still refused."""
    contract = vendor_contract_of("zendesk")
    assert contract is not None
    ticket = {"via_id": 45, "requester_id": 1, "subject": "Call", "comment": {"body": "b", "public": False}}
    headers = {"Authorization": "Basic eDp5"}
    body = json.dumps({"ticket": ticket}).encode()
    found = contract.check_request("POST", "/api/v2/channels/voice/tickets", {}, headers, body, "application/json")
    assert found is not None and found[1].template == "/api/v2/channels/voice/tickets"
    assert not contract.violations, contract.violations
    body = json.dumps({"ticket": {**ticket, "requester": 1}}).encode()
    contract.check_request("POST", "/api/v2/channels/voice/tickets", {}, headers, body, "application/json")
    assert len(contract.violations) == 1 and "'requester' was unexpected" in contract.violations[0]


def test_freshdesk_is_held_where_its_thin_description_reaches() -> None:
    """Freshdesk's description has four paths: the contact list (its `phone` filter from Freshdesk's documentation,
    cited), a contact (the reproduction's record keeps its Contact schema) and creating a ticket are held to it; a
    misspelt filter is still a violation, and routes the description lacks (POST /api/v2/contacts) are left out
    by method, not by path, so GET /api/v2/contacts stays held."""
    contract = vendor_contract_of("freshdesk")
    assert contract is not None
    auth = {"Authorization": "Basic eDpY"}
    found = contract.check_request("GET", "/api/v2/contacts", {"phone": "+44 20 7946 0958"}, auth, b"", "")
    assert found is not None and not contract.violations, contract.violations
    records = list(crm_freshdesk.build().records.values())
    contract.check_response(found, 200, json.dumps(records).encode(), "application/json")
    assert not contract.violations, contract.violations
    found = contract.check_request("GET", f"/api/v2/contacts/{records[0]['id']}", {}, auth, b"", "")
    assert found is not None
    contract.check_response(found, 200, json.dumps(records[0] | {"phone_number": "1"}).encode(), "application/json")
    assert len(contract.violations) == 1 and "'phone_number' was unexpected" in contract.violations[0]
    contract.violations.clear()
    assert contract.check_request("POST", "/api/v2/contacts", {}, auth, b'{"name": "A"}', "application/json") is None
    contract.check_request("GET", "/api/v2/contacts", {"phones": "+44"}, auth, b"", "")
    assert contract.checked == ["GET /api/v2/contacts", "GET /api/v2/contacts/{id}", "GET /api/v2/contacts"]
    assert len(contract.violations) == 1 and "phones not declared" in contract.violations[0], contract.violations


def test_a_property_both_halves_of_an_all_of_declare_is_one_object_too() -> None:
    """Klaviyo's profile is allOf [{attributes: {subscriptions, predictive_analytics}}, {id, attributes: {email,
    first_name...}}]: both halves declare `attributes`, so it is one object with both halves' keys; a key neither
    declares still breaks it."""
    contract = vendor_contract_of("klaviyo")
    assert contract is not None
    headers = {"Authorization": "Klaviyo-API-Key pk_x", "revision": "2026-07-15"}
    query = {"filter": 'equals(phone_number,"+442079460958")'}
    found = contract.check_request("GET", "/api/profiles", query, headers, b"", "")
    assert found is not None and not contract.violations, contract.violations
    attributes = {"email": "dana@example.com", "first_name": "Dana", "subscriptions": {}}
    answer = {
        "data": [{"type": "profile", "id": "01J1", "attributes": attributes, "links": {"self": "https://a/1"}}],
        "links": {"self": "https://a/"},
    }
    contract.check_response(found, 200, json.dumps(answer).encode(), "application/vnd.api+json")
    assert not contract.violations, contract.violations
    attributes["nickname"] = "D"
    contract.check_response(found, 200, json.dumps(answer).encode(), "application/vnd.api+json")
    assert len(contract.violations) == 1 and "'nickname' was unexpected" in contract.violations[0], contract.violations

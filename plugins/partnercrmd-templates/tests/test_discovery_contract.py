"""The discovery-document contract harness (issue #16) finds what it must, against Google's own People API
discovery document (../shared/data/openapi/google-people/people-api.json).

Each unit case is a request or answer as a template and a reproduction would exchange them. The last test runs a
copy of the shipped Google Contacts template with a misspelt query parameter (`readmask` for `readMask`) and a
misspelt body property (`emailAdresses`) through the daemon against the reproduction: the reproduction creates the
contact regardless (it ignores keys it does not know, as a hurried reproduction would), so only the harness can tell.
test_templates_catalogue.py holds every behaviour test of the shipped template to the same harness.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import crm_google_contacts
import pytest
from aiohttp import web
from discovery_contract import to_openapi
from templates_fake_crm import FakeCrm
from vendor_contract import OPENAPI_DIR, VendorContract
from vendor_contracts import discovery_contract_of

from partnercrmd.testing import ApiSession, configure_book, remove_default_book, search

CATALOGUE = Path(__file__).resolve().parents[1] / "partnercrmd_templates" / "catalogue"
AUTH = {"Authorization": "Bearer ya29.a0"}
READ_MASK = "names,organizations,phoneNumbers,emailAddresses"
MASK = {"personFields": READ_MASK}
"""createContact's answer mask: "Required." in the document (its text adds "Defaults to all fields if not set")."""
DANA: dict[str, Any] = {
    "resourceName": "people/c1001",
    "etag": "%EgUBAi43PRoEAQIFByIM",
    "names": [
        {
            "metadata": {"primary": True, "source": {"type": "CONTACT", "id": "3e9"}},
            "displayName": "Dana Whitfield",
            "givenName": "Dana",
            "familyName": "Whitfield",
        }
    ],
    "phoneNumbers": [{"value": "+44 (0)20 7946-0958", "canonicalForm": "+442079460958", "type": "work"}],
}


def contract() -> VendorContract:
    found = discovery_contract_of("google-contacts")
    assert found is not None
    return found


def search_contacts(checker: VendorContract, query: dict[str, str]) -> Any:
    return checker.check_request("GET", "/v1/people:searchContacts", query, AUTH, b"", "")


def test_requests_and_answers_the_document_allows_pass() -> None:
    checker = contract()
    assert search_contacts(checker, {"query": "", "readMask": "names"}) is not None  # the warm-up: an empty query
    found = search_contacts(checker, {"query": "+442079460958", "readMask": READ_MASK, "pageSize": "30"})
    checker.check_response(found, 200, json.dumps({"results": [{"person": DANA}]}).encode(), "application/json")
    checker.check_response(found, 200, b"{}", "application/json")  # nobody: Google answers an empty object
    found = checker.check_request("GET", "/v1/people/c1001", {"personFields": READ_MASK}, AUTH, b"", "")
    assert found is not None
    checker.check_response(found, 200, json.dumps(DANA).encode(), "application/json")
    body = {"names": [{"givenName": "Grace", "familyName": "Hopper"}], "phoneNumbers": [{"value": "+442071838750"}]}
    send = json.dumps(body).encode()
    found = checker.check_request("POST", "/v1/people:createContact", MASK, AUTH, send, "application/json")
    assert found is not None
    checker.check_response(found, 200, json.dumps(DANA).encode(), "application/json")
    checker.assert_kept()
    assert checker.checked == [
        "GET /v1/people:searchContacts",
        "GET /v1/people:searchContacts",
        "GET /v1/people/{peopleId}",
        "POST /v1/people:createContact",
    ]


def test_a_misspelt_or_missing_query_parameter_is_a_violation() -> None:
    checker = contract()
    search_contacts(checker, {"query": "Dana", "readmask": "names"})
    found = "\n".join(checker.violations)
    assert "query parameter(s) readmask not declared by GET /v1/people:searchContacts" in found, found
    assert "Missing required query parameter: readMask" in found, found  # "Required." in the document's words
    checker = contract()
    checker.check_request("GET", "/v1/people/c1001", {}, AUTH, b"", "")
    assert len(checker.violations) == 1 and "Missing required query parameter: personFields" in checker.violations[0]


def test_a_value_outside_the_declared_enum_or_type_is_a_violation() -> None:
    for query, said in [
        ({"sources": "READ_SOURCE_TYPE_CONTACTS"}, "'READ_SOURCE_TYPE_CONTACTS' is not one of"),
        ({"pageSize": "thirty"}, "Failed to cast value to integer type: thirty"),
        ({"alt": "xml"}, "'xml' is not one of ['json', 'media', 'proto']"),  # a parameter shared by every method
    ]:
        checker = contract()
        search_contacts(checker, {"query": "Dana", "readMask": "names", **query})
        assert len(checker.violations) == 1 and said in checker.violations[0], (query, checker.violations)


def test_a_method_and_path_the_document_lacks_is_a_violation() -> None:
    checker = contract()
    assert checker.check_request("GET", "/v1/people:search", {"query": "Dana"}, AUTH, b"", "") is None
    assert checker.check_request("POST", "/v1/people:searchContacts", {}, AUTH, b"{}", "application/json") is None
    assert checker.violations == [
        "GET /v1/people:search: no such operation in google-contacts's API description",
        "POST /v1/people:searchContacts: no such operation in google-contacts's API description",
    ]


def test_a_body_with_a_misspelt_or_output_only_property_is_a_violation() -> None:
    checker = contract()
    body = {"names": [{"givenName": "Grace"}], "emailAdresses": [{"value": "grace@example.com"}]}
    send = json.dumps(body).encode()
    checker.check_request("POST", "/v1/people:createContact", MASK, AUTH, send, "application/json")
    assert len(checker.violations) == 1 and "'emailAdresses' was unexpected" in checker.violations[0]
    checker = contract()
    # canonicalForm is Google's own reading of a number ("Output only."): a client never writes it.
    body = {"phoneNumbers": [{"value": "020 7183 8750", "canonicalForm": "+442071838750"}]}
    send = json.dumps(body).encode()
    checker.check_request("POST", "/v1/people:createContact", MASK, AUTH, send, "application/json")
    assert len(checker.violations) == 1 and "Tried to write read-only property" in checker.violations[0]


def test_an_answer_the_document_does_not_allow_is_a_violation() -> None:
    for person, said in [
        ({**DANA, "phones": []}, "'phones' was unexpected"),
        ({**DANA, "names": {"displayName": "Dana"}}, "is not of type 'array'"),
        ({**DANA, "phoneNumbers": [{"value": "+44", "type": "work", "e164": "+44"}]}, "'e164' was unexpected"),
    ]:
        checker = contract()
        found = search_contacts(checker, {"query": "Dana", "readMask": READ_MASK})
        checker.check_response(found, 200, json.dumps({"results": [{"person": person}]}).encode(), "application/json")
        assert len(checker.violations) == 1 and said in checker.violations[0], (said, checker.violations)


def test_the_conversion_reads_paths_parameters_and_references_as_the_document_writes_them() -> None:
    """flatPath is the path; the top-level parameters are every method's; a repeated one is a list; `$ref` names a
    schema; "Required." makes a parameter required, except requestMask.includeField, which personFields replaces."""
    discovery = json.loads((OPENAPI_DIR / "google-people" / "people-api.json").read_text(encoding="utf-8"))
    converted = to_openapi(discovery)
    get = converted["paths"]["/v1/people/{peopleId}"]["get"]
    parameters = {p["name"]: p for p in get["parameters"]}
    assert parameters["peopleId"]["in"] == "path" and parameters["personFields"]["required"]
    assert not parameters["requestMask.includeField"]["required"] and not parameters["fields"]["required"]
    assert parameters["sources"]["schema"]["type"] == "array"
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Person"}
    assert converted["components"]["schemas"]["PhoneNumber"]["properties"]["canonicalForm"]["readOnly"] is True


# --- through the daemon: a misspelt template --------------------------------------------------------------


def misspelt_google_contacts() -> str:
    """The shipped template with `readmask` in its number lookup and `emailAdresses` in its created contact."""
    text = (CATALOGUE / "google-contacts.yaml").read_text(encoding="utf-8")
    lookup = '      query: {query: "{{ number }}", readMask: '
    created = "        emailAddresses: "
    assert text.count(lookup) == 1 and text.count(created) == 1
    text = text.replace(lookup, '      query: {query: "{{ number }}", readmask: ')
    text = text.replace(created, "        emailAdresses: ")
    text = text.replace("id: google-contacts\n", "id: google-contacts-misspelt\n", 1)
    assert "id: google-contacts-misspelt" in text
    return text


@pytest.fixture
def user_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's template folder with the misspelt copy (before the daemon starts)."""
    folder = tmp_path / "user-templates"
    folder.mkdir()
    (folder / "google-contacts-misspelt.yaml").write_text(misspelt_google_contacts(), encoding="utf-8")
    monkeypatch.setenv("PARTNERCRMD_TEMPLATES_DIR", str(folder))
    return folder


@pytest.fixture
async def watched_google(user_templates: Path) -> AsyncIterator[tuple[FakeCrm, VendorContract]]:
    crm = crm_google_contacts.build()
    checker = contract()
    crm.outer_middlewares.append(checker.middleware())
    await crm.start()
    yield crm, checker
    await crm.stop()


async def test_the_harness_finds_a_misspelt_parameter_and_body_property_in_a_template(
    watched_google: tuple[FakeCrm, VendorContract], api: ApiSession, partnercrmd_app: web.Application
) -> None:
    crm, checker = watched_google
    await remove_default_book(partnercrmd_app)
    book = await configure_book(partnercrmd_app, "google-contacts-misspelt", **crm_google_contacts.settings(crm))
    found = (await search(api, "+44 20 7946 0958"))[book]
    # Google refuses a search without its read mask; the book says so.
    assert found["Records"] == [] and "readMask mask is required" in found["ExceptionText"], found
    created = await api.call(
        "POST",
        "CreateNewRecord",
        RecordTypeId=f"{book}/Contact",
        FirstName="Grace",
        LastName="Hopper",
        Email="grace.hopper@example.com",
    )
    assert created["DisplayText"] == "Grace Hopper"  # the reproduction let the misspelt key through
    assert "emailAdresses" in crm.written["contacts"][0]
    violations = "\n".join(checker.violations)
    assert "query parameter(s) readmask not declared by GET /v1/people:searchContacts" in violations, violations
    assert "'emailAdresses' was unexpected" in violations, violations
    with pytest.raises(AssertionError, match="breaks the vendor's API description"):
        checker.assert_kept()

"""The contract harness itself (issue #16): it finds a template that misnames a parameter, and a reproduction
that answers what the vendor's description does not allow.

A copy of the shipped HubSpot template with one misspelt body key per operation (`filter_groups` for
HubSpot's `filterGroups`, `limits` for `limit`) runs as a user's template against the HubSpot reproduction:
the reproduction, written as loosely as a hurried reproduction would be, still answers, so only the harness
can tell. The same traffic from the shipped template keeps the contract (tests/test_templates_catalogue.py
holds every behaviour test of HubSpot and Zoho CRM to it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

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

"""The OData contract (odata_contract.py): Microsoft Graph's CSDL finds what a template or a reproduction gets wrong
about the contact type, where Graph itself would answer 400 or a reproduction would answer what Graph cannot.

The Microsoft 365 template's own queries keep it (test_oauth_signin_microsoft365.py runs its behaviour test under
the contract); here each kind of mistake is shown to be found."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from odata_contract import graph_contract

CATALOGUE = Path(__file__).resolve().parents[1] / "partnercrmd_templates" / "catalogue"
CONTACTS = "/v1.0/me/contacts"


def template_query(operation: str) -> dict[str, str]:
    """The Microsoft 365 template's query of one operation, its templated values filled as a number or a name."""
    template = yaml.safe_load((CATALOGUE / "microsoft365.yaml").read_text(encoding="utf-8"))
    query = template["operations"][operation]["request"]["query"]
    filled = {}
    for key, value in query.items():
        text = str(value).replace("{{ number }}", "+44 20 7946 0958")
        filled[key] = text.replace("{{ odata_string(text) }}", "'O''Neill'")
    assert "{{" not in "".join(filled.values()), filled
    return filled


def test_the_template_s_queries_keep_the_csdl() -> None:
    contract = graph_contract()
    for operation in ("lookup", "search"):
        assert contract.check_request("GET", CONTACTS, template_query(operation), b"") is not None
    assert contract.checked == ["GET microsoft.graph.contact[]"] * 2
    assert not contract.violations, contract.violations


def test_a_misspelt_property_and_a_collection_compared_with_eq_are_found() -> None:
    contract = graph_contract()
    query = template_query("lookup")
    query["$filter"] = query["$filter"].replace("mobilePhone eq", "mobilephone eq")
    query["$filter"] = query["$filter"].replace("homePhones/any(p:p eq '+44 20 7946 0958')", "homePhones eq '1'")
    contract.check_request("GET", CONTACTS, query, b"")
    found = "\n".join(contract.violations)
    assert "mobilephone is not a property" in found, found
    assert "homePhones eq '…' needs a string, not Collection(Edm.String)" in found, found


def test_select_top_and_unknown_options_are_checked() -> None:
    contract = graph_contract()
    contract.check_request("GET", CONTACTS, {"$select": "id,displayName,phone", "$top": "ten", "top": "5"}, b"")
    assert len(contract.violations) == 3, contract.violations
    assert "['phone']" in contract.violations[0] and "$top='ten'" in contract.violations[1]
    assert "top is not an OData system query option" in contract.violations[2]


def test_a_created_contact_and_an_answer_are_held_to_the_contact_type() -> None:
    contract = graph_contract()
    body = {"givenName": "Grace", "businessPhones": "020 7183 8750", "emailAddresses": [{"address": "g@x", "mail": 1}]}
    found = contract.check_request("POST", CONTACTS, {}, json.dumps(body).encode())
    assert found == ("microsoft.graph.contact", False)
    assert contract.violations == [
        f"POST {CONTACTS}: body: businessPhones is a Collection(Edm.String), not a list",
        f"POST {CONTACTS}: body: emailAddresses.mail is not a property of microsoft.graph.emailAddress",
    ], contract.violations
    contract.violations.clear()
    contract.check_response(found, 201, json.dumps({"id": "AAMk1", "displayName": "G", "phone": "1"}).encode())
    assert contract.violations == ["answer: phone is not a property of microsoft.graph.contact"]


def test_a_path_off_the_model_is_found() -> None:
    contract = graph_contract()
    assert contract.check_request("GET", "/v1.0/me/contact", {}, b"") is None
    assert contract.violations == ["GET /v1.0/me/contact: microsoft.graph.user has no navigation property contact"]

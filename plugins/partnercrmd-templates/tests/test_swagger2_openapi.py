"""Swagger 2.0 descriptions in the contract harness (swagger2_openapi.py): converted in memory, then held as strictly
as every OpenAPI 3 description (issue #16: "the harness finds a deliberately wrong parameter name")."""

from __future__ import annotations

import json

from swagger2_openapi import to_openapi3
from vendor_contract import VendorContract
from vendor_contracts import vendor_contract_of

SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "Demo", "version": "1"},
    "host": "api.example.com",
    "basePath": "/v1",
    "schemes": ["https"],
    "securityDefinitions": {"basic-auth": {"type": "basic"}},
    "definitions": {"Person": {"type": "object", "properties": {"name": {"type": "string", "x-nullable": True}}}},
    "paths": {
        "/people": {
            "get": {
                "parameters": [
                    {"name": "first", "in": "query", "type": "integer", "required": True},
                    {
                        "name": "ids",
                        "in": "query",
                        "type": "array",
                        "items": {"type": "string"},
                        "collectionFormat": "csv",
                    },
                ],
                "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Person"}}},
            },
            "post": {
                "parameters": [
                    {"name": "body", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Person"}}
                ],
                "responses": {"200": {"description": "ok"}},
            },
        }
    },
}

SIGNED = {"Authorization": "Basic dXNyOnB3ZA=="}
"""Basic credentials: the description's security (basic-auth) is checked too."""
CONTACTS = "/api/v100/rest/spaces/nv3_Northwind/entities/Contacts"
TASKS = "/api/v100/rest/spaces/nv3_Northwind/entities/Tasks"


def test_a_swagger_2_document_becomes_openapi_3() -> None:
    converted = to_openapi3(SWAGGER)
    assert converted["openapi"].startswith("3.0") and converted["servers"] == [{"url": "https://api.example.com/v1"}]
    assert converted["components"]["securitySchemes"] == {"basic-auth": {"type": "http", "scheme": "basic"}}
    assert converted["components"]["schemas"]["Person"]["properties"]["name"] == {"type": "string", "nullable": True}
    get = converted["paths"]["/people"]["get"]
    assert get["parameters"][0] == {"name": "first", "in": "query", "required": True, "schema": {"type": "integer"}}
    assert get["parameters"][1]["style"] == "form" and get["parameters"][1]["explode"] is False
    assert get["responses"]["200"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Person"}}
    }
    post = converted["paths"]["/people"]["post"]
    assert "parameters" not in post
    assert post["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Person"}}},
    }


def contract() -> VendorContract:
    found = vendor_contract_of("pipeliner")
    assert found is not None
    return found


def test_pipeliners_description_is_read_and_a_wrong_parameter_name_found() -> None:
    """A misspelt filter (`filters[phone1]`) and a `first` that is no integer, on Pipeliner's own (Swagger 2.0)
    description; the right request passes."""
    held = contract()
    good = {"first": "25", "filter[phone1]": "+442079460958", "filter-op[phone1]": "eq"}
    assert held.check_request("GET", CONTACTS, good, SIGNED, b"", "") is not None
    assert held.violations == []
    held.check_request("GET", CONTACTS, {"filters[phone1]": "+442079460958", "first": "ten"}, SIGNED, b"", "")
    found = "\n".join(held.violations)
    assert "query parameter(s) filters[phone1] not declared" in found, found
    assert "Query parameter error: first | CastError" in found, found  # an integer, not "ten"


def test_a_body_key_the_description_does_not_have_is_found() -> None:
    held = contract()
    held.check_request("POST", TASKS, {}, {}, json.dumps({"subject": "Call"}).encode(), "application/json")
    assert any("basic-auth" in v for v in held.violations), held.violations  # no credentials: found too
    held.violations.clear()
    task = {"subject": "Call", "unit_id": "u", "owner_id": "o", "contact_relation": [{"contact_id": "c"}]}
    held.check_request("POST", TASKS, {}, SIGNED, json.dumps(task).encode(), "application/json")
    assert any("contact_relation" in v for v in held.violations), held.violations
    held.violations.clear()
    held.check_request("POST", TASKS, {}, SIGNED, json.dumps({"subject": "Call"}).encode(), "application/json")
    assert any("unit_id" in v for v in held.violations), held.violations

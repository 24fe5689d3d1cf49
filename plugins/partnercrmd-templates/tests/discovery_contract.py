"""The contract harness for Google's discovery documents (issue #16): a reproduction's traffic held to Google's own
description of the API (../shared/data/openapi/google-people/people-api.json, the People API; see MANIFEST.md).

A discovery document (https://developers.google.com/discovery/v1/reference/apis) describes an API as resources with
methods: each method has its `httpMethod`, its `path` and `flatPath`, `parameters` (location `query` or `path`,
`type`, `enum`, `repeated`, `required`), and `request`/`response` references into `schemas`, whose types are
JSON Schema's own (type, properties, items, enum, additionalProperties, readOnly).

Rather than a second validator, the document is converted to OpenAPI 3.0 in memory and checked by the OpenAPI
harness (vendor_contract.py, openapi-core): the conversion is a small, mechanical mapping, while the checks it gets
(operation found by method and path, undeclared query parameters reported, types and enums of query values,
required parameters, the request body closed to undeclared properties and to output-only `readOnly` ones, every
answer checked against the response schema, again closed) are those every other vendor contract already runs and
its own tests prove. Writing those checks again with jsonschema over the discovery schemas would be more code to
trust, and a second way of reading the same rules.

How the discovery document is read (each as Google defines it):

- the path is the method's `flatPath` (`v1/people/{peopleId}`): the form a client sends; `path`'s reserved
  expansion `{+resourceName}` is the same URL with its `people/` prefix inside the variable;
- the document's top-level `parameters` (`fields`, `key`, `prettyPrint`, ...) are accepted on every method;
- a text (`type: string`) query parameter may be empty (`allowEmptyValue`: searchContacts' warm-up sends `query=`);
- `repeated: true` is a list (`sources=A&sources=B`), `type`/`format`/`enum` as given; `format: int64` is a decimal
  string in JSON (Google's JSON mapping), so only the formats OpenAPI checks the same way (`int32`, `float`,
  `double`) are kept;
- required: `required: true`, and a parameter whose description starts "Required." (how Google's generator writes
  the API's field behaviour REQUIRED into the document: `query` and `readMask` of searchContacts, `personFields`
  of people.get), except those named in `NOT_REQUIRED` with the page or words that say otherwise;
- `"$ref": "Person"` points into `schemas`; `type: any` is any value; a schema's `readOnly` (Google's "Output
  only.") stays, so a request that sends an output-only field (a phone number's `canonicalForm`) breaks it.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest
from vendor_contract import (
    OPENAPI_DIR,
    Description,
    Operation,
    VendorContract,
    _json_or_text,
    _open_free_form_objects,
    _operations,
    _server_prefix,
)

NOT_REQUIRED: dict[str, str] = {
    # parameter name: why a parameter the document calls "Required." is not
    "requestMask.includeField": "people.get's own description: 'The request returns a 400 error if 'personFields' is "
    "not specified': personFields is the mask a client gives; requestMask.includeField is its older spelling",
}
OPENAPI_FORMATS = {"integer": {"int32"}, "number": {"float", "double"}}
"""Discovery formats OpenAPI checks as Google means them (int64 is a string in Google's JSON: not kept)."""


def _schema(node: Any) -> Any:
    """A discovery schema as an OpenAPI 3.0 schema object."""
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        # OpenAPI 3.0 ignores a reference's siblings (the discovery document's `description`s beside it).
        return {"$ref": f"#/components/schemas/{node['$ref']}"}
    out: dict[str, Any] = {}
    kind = node.get("type")
    if isinstance(kind, str) and kind != "any":
        out["type"] = kind
    if node.get("format") in OPENAPI_FORMATS.get(str(kind), set()):
        out["format"] = node["format"]
    for key in ("enum", "readOnly", "required", "minimum", "maximum", "pattern"):
        if key in node:
            out[key] = copy.deepcopy(node[key])
    if "properties" in node:
        out["properties"] = {name: _schema(value) for name, value in node["properties"].items()}
    if "items" in node:
        out["items"] = _schema(node["items"])
    if isinstance(node.get("additionalProperties"), dict):  # a map: its values' schema
        out["additionalProperties"] = _schema(node["additionalProperties"])
    return out


def _methods(resources: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every method of every resource, nested resources included."""
    for resource in resources.values():
        yield from resource.get("methods", {}).values()
        yield from _methods(resource.get("resources", {}))


def _required(parameter: Mapping[str, Any], name: str) -> bool:
    if parameter.get("required"):
        return True
    return str(parameter.get("description", "")).startswith("Required.") and name not in NOT_REQUIRED


def to_openapi(discovery: Mapping[str, Any]) -> dict[str, Any]:
    """The discovery document as an OpenAPI 3.0 description (paths from `flatPath`, schemas under components)."""
    shared = discovery.get("parameters", {})
    paths: dict[str, dict[str, Any]] = {}
    for method in _methods(discovery.get("resources", {})):
        flat = "/" + str(method.get("flatPath") or method["path"])
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{([^}]+)\}", flat)
        ]
        for name, parameter in {**shared, **method.get("parameters", {})}.items():
            if parameter.get("location") != "query":
                continue  # path parameters are flatPath's own, above
            schema = _schema({k: v for k, v in parameter.items() if k in ("type", "format", "enum")})
            if parameter.get("repeated"):
                schema = {"type": "array", "items": schema}
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": _required(parameter, name),
                    "schema": schema,
                    "style": "form",
                    "explode": True,
                    # A text parameter may be empty (Google's default of a string): searchContacts' warm-up is
                    # "a warmup request with an empty query" in the method's own description.
                    "allowEmptyValue": parameter.get("type") == "string",
                }
            )
        answer: dict[str, Any] = {"description": method.get("id", "")}
        if "response" in method:
            answer["content"] = {"application/json": {"schema": _schema(method["response"])}}
        operation: dict[str, Any] = {
            "operationId": method["id"],
            "parameters": parameters,
            "responses": {"200": answer},
        }
        if "request" in method:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(method["request"])}},
            }
        paths.setdefault(flat, {})[str(method["httpMethod"]).lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": str(discovery.get("title", "")), "version": str(discovery.get("version", ""))},
        "servers": [{"url": str(discovery["rootUrl"]) + str(discovery.get("servicePath", ""))}],
        "paths": paths,
        "components": {"schemas": {name: _schema(s) for name, s in discovery.get("schemas", {}).items()}},
    }


@cache
def _converted(relative: str) -> dict[str, Any]:
    """The discovery document under ../shared/data/openapi, converted once per test session."""
    discovery = json.loads((OPENAPI_DIR / relative).read_text(encoding="utf-8"))
    assert discovery.get("discoveryVersion") == "v1", f"{relative} is not a Google discovery document"
    converted = to_openapi(discovery)
    _open_free_form_objects(converted)
    return converted


def discovery_description(relative: str) -> Description:
    """The converted document, ready for the OpenAPI harness (openapi-core, closed to undeclared properties)."""
    data = copy.deepcopy(_converted(relative))
    host_url, prefix = _server_prefix(data)
    config = Config(
        spec_validator_cls=None,
        additional_properties_default_policy="forbid",
        extra_media_type_deserializers={"*/*": _json_or_text},
    )
    return Description(relative, OpenAPI.from_dict(data, config=config), host_url, prefix, _operations(data, prefix))


class DiscoveryContract(VendorContract):
    """The OpenAPI harness over a converted discovery document."""

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        content_type: str,
    ) -> tuple[Description, Operation, MockRequest] | None:
        with warnings.catch_warnings():
            # OpenAPI 3.0.3 keeps allowEmptyValue (the conversion's way to let text parameters be empty) but
            # openapi-core warns that later versions drop it; the warning is about OpenAPI, not about the traffic.
            warnings.filterwarnings("ignore", "Use of allowEmptyValue property is deprecated", DeprecationWarning)
            return super().check_request(method, path, query, headers, body, content_type)


def discovery_contract(vendor: str, relative: str, outside: tuple[str, ...] = ()) -> VendorContract:
    """A fresh checker of one test's traffic against a Google discovery document: `middleware()` on the
    reproduction, `assert_kept()` at the end, as every vendor contract."""
    return DiscoveryContract(vendor, [discovery_description(relative)], outside)

"""Swagger 2.0 descriptions read as OpenAPI 3.0, in memory, for the contract harness (vendor_contract.py).

openapi-core validates OpenAPI 3.0 and 3.1 only, and several vendors' descriptions in ../shared/data/openapi are
Swagger 2.0 (Pipeliner's and other Power Platform connectors, Autotask's). The conversion is the mechanical mapping the
OpenAPI 3.0 specification's own changes from 2.0 describe (https://spec.openapis.org/oas/v3.0.3, and Swagger 2.0,
https://swagger.io/specification/v2/):

- `host`, `basePath` and `schemes` become one server (`https://host/basePath`, the first scheme);
- `definitions`, `parameters` and `responses` move under `components` (their `$ref`s with them);
- a `body` parameter becomes the `requestBody` with the operation's (or the document's) first `consumes` type, default
  application/json; `formData` parameters one form body (application/x-www-form-urlencoded, multipart/form-data when a
  file is among them) whose properties they are;
- other parameters keep name, place, `required` and description, and their `type`, `format`, `items`, `enum`,
  `default`, bounds and `pattern` move into `schema`; `collectionFormat` becomes `style`/`explode` (csv: form or
  simple without explode; multi: exploded form);
- a response's `schema` becomes its content in the first `produces` type (default application/json), its `headers`
  schemas; `x-nullable: true` becomes `nullable: true`; `type: file` a binary string;
- security definitions: `basic` an http basic scheme, `apiKey` as it is, `oauth2` its flow renamed (implicit, password,
  application -> clientCredentials, accessCode -> authorizationCode).

Vendor extensions (`x-ms-*`) are kept; nothing else is added or inferred.
"""

from __future__ import annotations

from typing import Any

PARAMETER_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
)
OAUTH2_FLOWS = {
    "implicit": "implicit",
    "password": "password",
    "application": "clientCredentials",
    "accessCode": "authorizationCode",
}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def is_swagger2(description: dict[str, Any]) -> bool:
    return str(description.get("swagger", "")).startswith("2.")


def _refs(node: Any) -> Any:
    """References and Swagger-only schema keywords in OpenAPI 3.0 form, throughout."""
    if isinstance(node, list):
        return [_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            value = (
                value.replace("#/definitions/", "#/components/schemas/")
                .replace("#/parameters/", "#/components/parameters/")
                .replace("#/responses/", "#/components/responses/")
            )
        elif key == "x-nullable":
            out["nullable"] = bool(value)
            continue
        out[key] = _refs(value)
    if out.get("type") == "file":
        out.update(type="string", format="binary")
    return out


def _style(parameter: dict[str, Any]) -> dict[str, Any]:
    collection = parameter.get("collectionFormat")
    if parameter.get("type") != "array" or collection is None:
        return {}
    if collection == "multi":
        return {"style": "form", "explode": True}
    if collection == "csv":
        return {"style": "form" if parameter["in"] == "query" else "simple", "explode": False}
    return {"style": {"ssv": "spaceDelimited", "pipes": "pipeDelimited"}.get(collection, "form"), "explode": False}


def _parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in parameter:
        return parameter
    converted = {k: v for k, v in parameter.items() if k not in PARAMETER_SCHEMA_KEYS and k != "collectionFormat"}
    converted["schema"] = {k: parameter[k] for k in PARAMETER_SCHEMA_KEYS if k in parameter}
    converted.update(_style(parameter))
    return converted


def _operation(
    operation: dict[str, Any], shared: list[Any], consumes: list[str], produces: list[str]
) -> dict[str, Any]:
    converted = {k: v for k, v in operation.items() if k not in ("parameters", "responses", "consumes", "produces")}
    consumes = operation.get("consumes") or consumes or ["application/json"]
    produces = operation.get("produces") or produces or ["application/json"]
    parameters: list[dict[str, Any]] = []
    form: list[dict[str, Any]] = []
    for parameter in [*shared, *operation.get("parameters", [])]:
        where = parameter.get("in")
        if where == "body":
            converted["requestBody"] = {
                "required": bool(parameter.get("required")),
                "content": {consumes[0]: {"schema": parameter.get("schema", {})}},
                **({"description": parameter["description"]} if "description" in parameter else {}),
            }
        elif where == "formData":
            form.append(parameter)
        else:
            parameters.append(_parameter(parameter))
    if form:
        media = "multipart/form-data" if any(p.get("type") == "file" for p in form) else consumes[0]
        if media not in ("multipart/form-data", "application/x-www-form-urlencoded"):
            media = "application/x-www-form-urlencoded"
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {p["name"]: _parameter(p)["schema"] for p in form},
        }
        required = [p["name"] for p in form if p.get("required")]
        if required:
            schema["required"] = required
        converted["requestBody"] = {"required": bool(required), "content": {media: {"schema": schema}}}
    if parameters:
        converted["parameters"] = parameters
    responses: dict[str, Any] = {}
    for status, response in (operation.get("responses") or {}).items():
        out = {k: v for k, v in response.items() if k not in ("schema", "examples", "headers")}
        out.setdefault("description", "")
        if "schema" in response:
            out["content"] = {produces[0]: {"schema": response["schema"]}}
        if "headers" in response:
            out["headers"] = {
                name: {"schema": {k: v for k, v in header.items() if k in PARAMETER_SCHEMA_KEYS}}
                for name, header in response["headers"].items()
            }
        responses[str(status)] = out
    converted["responses"] = responses or {"default": {"description": ""}}
    return converted


def _security_scheme(scheme: dict[str, Any]) -> dict[str, Any]:
    kind = scheme.get("type")
    if kind == "basic":
        return {"type": "http", "scheme": "basic"}
    if kind == "oauth2":
        flow: dict[str, Any] = {"scopes": scheme.get("scopes", {})}
        for key, name in (("authorizationUrl", "authorizationUrl"), ("tokenUrl", "tokenUrl")):
            if key in scheme:
                flow[name] = scheme[key]
        return {"type": "oauth2", "flows": {OAUTH2_FLOWS.get(scheme.get("flow", ""), "implicit"): flow}}
    return dict(scheme)


def to_openapi3(swagger: dict[str, Any]) -> dict[str, Any]:
    """The Swagger 2.0 description as an OpenAPI 3.0.3 one (see the module's docstring)."""
    scheme = (swagger.get("schemes") or ["https"])[0]
    base = str(swagger.get("basePath", "")).rstrip("/")
    servers = [{"url": f"{scheme}://{swagger['host']}{base}"}] if "host" in swagger else [{"url": base or "/"}]
    consumes = list(swagger.get("consumes") or [])
    produces = list(swagger.get("produces") or [])
    paths: dict[str, Any] = {}
    for template, item in (swagger.get("paths") or {}).items():
        shared = [p for p in item.get("parameters", []) if isinstance(p, dict)]
        converted_item = {k: v for k, v in item.items() if k not in (*HTTP_METHODS, "parameters")}
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                converted_item[method] = _operation(item[method], shared, consumes, produces)
        paths[template] = converted_item
    components: dict[str, Any] = {
        "schemas": swagger.get("definitions") or {},
        "securitySchemes": {k: _security_scheme(v) for k, v in (swagger.get("securityDefinitions") or {}).items()},
    }
    if swagger.get("parameters"):
        components["parameters"] = {k: _parameter(v) for k, v in swagger["parameters"].items()}
    if swagger.get("responses"):
        components["responses"] = {
            k: _operation({"responses": {"r": v}}, [], consumes, produces)["responses"]["r"]
            for k, v in swagger["responses"].items()
        }
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": swagger.get("info") or {"title": "", "version": ""},
        "servers": servers,
        "paths": paths,
        "components": components,
    }
    if "security" in swagger:
        document["security"] = swagger["security"]
    result = _refs(document)
    assert isinstance(result, dict)
    return result

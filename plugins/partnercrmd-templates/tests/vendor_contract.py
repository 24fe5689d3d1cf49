"""The contract harness (issue #16): holds a reproduction's traffic to its vendor's own API description.

A template tested only against a reproduction we wrote from the vendor's documentation can be wrong twice
in the same way (a misread parameter in the template and in the reproduction) and still pass. The
vendors' machine-readable descriptions in ../shared/data/openapi/ (see its MANIFEST.md: where each came
from, how close it is to the vendor) are the independent party: every request a template sends to a
reproduction, and every answer the reproduction gives, is checked against the description of that
operation with `openapi-core` (a well-kept OpenAPI 3.0/3.1 validator):

- the operation exists (method and path, with the description's server prefix);
- path, query and header parameters: required ones present, values of the declared types and enums;
  a query parameter the description does not declare is a violation (openapi-core lets them through; a
  misspelt `limit` would be silently ignored by the real server, so it is the harness's job to say so);
- the body: its media type and schema, with undeclared properties forbidden
  (`additional_properties_default_policy="forbid"`) unless the schema allows them;
- the answer: a status the operation declares (or any 2xx it declares) and its body's schema, again
  closed to undeclared properties.

The descriptions are read from ../shared/data/openapi/ beside the checkout (never copied here: several
vendors' terms do not allow redistribution). Routes outside a vendor's CRM description (its OAuth server,
documented on other pages cited in the reproduction) are named in `outside` and left unchecked.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from aiohttp.typedefs import Middleware
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from swagger2_openapi import is_swagger2, to_openapi3

OPENAPI_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "openapi"
"""../shared/data/openapi beside the checkout (CI has ../shared there too)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class _VendorYamlLoader(yaml.SafeLoader):
    """YAML 1.1 as the vendors' tools wrote it: Zendesk's description has a bare `=` (the YAML 1.1 value tag),
    which SafeLoader refuses; it is read as the text "="."""


def _value_tag(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


_VendorYamlLoader.add_constructor("tag:yaml.org,2002:value", _value_tag)


@cache
def load_description(relative: str) -> dict[str, Any]:
    """One description file under ../shared/data/openapi (JSON or YAML), parsed once per test session, with
    references to the vendor's other files made local (see `_local_only`)."""
    path = OPENAPI_DIR / relative
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_VendorYamlLoader)  # noqa: S506
    assert isinstance(data, dict), f"{path} is not an API description"
    if is_swagger2(data):  # openapi-core reads OpenAPI 3 only: a Swagger 2.0 file is converted in memory
        data = to_openapi3(data)
    result = _local_only(data)
    assert isinstance(result, dict)
    _drop_stray_path_parameters(result)
    _merge_all_of_objects(result, result)
    _open_composed_objects(result)
    _open_free_form_objects(result)
    _openapi_types(result)
    _lower_case_http_schemes(result)
    return result


def _merge_all_of_objects(description: dict[str, Any], node: Any) -> None:
    """`allOf` of plain object schemas made one object schema with all their properties.

    openapi-core's forbid policy checks each branch of an `allOf` on its own, so a value with the keys of both
    branches breaks both (Pipedrive's call log answer: `allOf: [<the request's fields>, {id, has_recording…}]`).
    An `allOf` of objects means one object with every branch's properties and required keys: that one schema
    is what is checked, still closed to keys no branch declares. An `allOf` with a branch that is not a plain
    object schema (itself composed, or of another type) is left as it is."""
    if isinstance(node, list):
        for item in node:
            _merge_all_of_objects(description, item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _merge_all_of_objects(description, value)
    branches = node.get("allOf")
    if not isinstance(branches, list) or not branches:
        return
    resolved = [_resolve(description, branch) for branch in branches]
    if not all(
        isinstance(b, dict)
        and b.get("type", "object") == "object"
        and not any(k in b for k in ("allOf", "anyOf", "oneOf"))
        and ("properties" in b or b.get("type") == "object")
        for b in resolved
    ):
        return
    properties: dict[str, Any] = dict(node.get("properties", {}))
    required: list[str] = list(node.get("required", []))
    open_to_more = False
    for branch in resolved:
        for name, schema in branch.get("properties", {}).items():
            if name in properties:
                # A property both branches declare (Klaviyo's profile `attributes`: one branch the additional
                # fields, the other the rest) is one object too, merged the same way.
                properties[name] = {"allOf": [properties[name], schema]}
                _merge_all_of_objects(description, properties[name])
            else:
                properties[name] = schema
        required += [r for r in branch.get("required", []) if r not in required]
        open_to_more = open_to_more or branch.get("additionalProperties") not in (None, False)
    del node["allOf"]
    node.update(type="object", properties=properties)
    if required:
        node["required"] = required
    if open_to_more and "additionalProperties" not in node:
        node["additionalProperties"] = True


CSHARP_TYPES: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "bool": {"type": "boolean"},
    "double": {"type": "number"},
    "obj": {"type": "object"},
    "DateTime": {"type": "string", "format": "date-time"},
    "List<int>": {"type": "array", "items": {"type": "integer"}},
}
"""Type names of the vendor's own language that its tool wrote where OpenAPI wants its own (Halo's description:
`{type: int}` for `page_size`, `{type: bool}` for `search_phonenumbers`, described as "(int)" and "(bool)")."""


def _openapi_types(node: Any) -> None:
    """Each schema whose `type` is a C# type name given the OpenAPI type it names (openapi-core refuses unknown
    types); the parameter's own text says which it is."""
    if isinstance(node, list):
        for item in node:
            _openapi_types(item)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if isinstance(kind, str) and kind in CSHARP_TYPES:
        node.update(CSHARP_TYPES[kind])
    for value in node.values():
        _openapi_types(value)


def _lower_case_http_schemes(description: dict[str, Any]) -> None:
    """HTTP authentication schemes in lower case, as openapi-core compares them: scheme names are case-insensitive
    (RFC 9110 §11.1), and Halo's description writes `scheme: Bearer`."""
    schemes = description.get("components", {}).get("securitySchemes", {})
    for scheme in schemes.values() if isinstance(schemes, dict) else ():
        if isinstance(scheme, dict) and scheme.get("type") == "http" and isinstance(scheme.get("scheme"), str):
            scheme["scheme"] = scheme["scheme"].lower()


def _open_free_form_objects(node: Any) -> None:
    """`{type: object}` with no properties, no composition and no `additionalProperties` left open.

    OpenAPI calls such a schema a free-form object (any keys: `additionalProperties` defaults to true). The
    forbid policy would refuse every key of it: ServiceNow's description says only "returns a JSON object"
    (`type: object`) for its answers, which {"result": [...]} must then still pass. Objects that declare
    properties stay closed to undeclared keys."""
    if isinstance(node, list):
        for item in node:
            _open_free_form_objects(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "object" and not any(
        k in node for k in ("properties", "additionalProperties", "patternProperties", "allOf", "anyOf", "oneOf")
    ):
        node["additionalProperties"] = True
    for value in node.values():
        _open_free_form_objects(value)


def _open_composed_objects(node: Any) -> None:
    """`{type: object, allOf: [...]}` without properties of its own is left to its branches to close.

    openapi-core's forbid policy closes every `type: object` schema that declares neither `properties` nor
    `additionalProperties`, so such a wrapper (Zendesk's voice ticket: `ticket: {type: object, allOf: [<input>]}`)
    would refuse every key, even those its branch declares. The branches still refuse undeclared keys."""
    if isinstance(node, list):
        for item in node:
            _open_composed_objects(item)
        return
    if not isinstance(node, dict):
        return
    composed = any(k in node for k in ("allOf", "anyOf", "oneOf"))
    if composed and node.get("type") == "object" and "properties" not in node and "additionalProperties" not in node:
        node["additionalProperties"] = True
    for value in node.values():
        _open_composed_objects(value)


def _drop_stray_path_parameters(description: dict[str, Any]) -> None:
    """Path parameters an operation declares that its path does not have, left out.

    OpenAPI 3 (Parameter Object, `name`): "If in is "path", the name field MUST correspond to a template
    expression occurring within the path field". Zendesk's POST /api/v2/channels/voice/tickets declares
    `agent_id` and `ticket_id` in the path (copied from the display route above it); openapi-core would then
    require a path parameter no request to that path can carry. The description's own rule says these
    declarations are void, so the harness drops them rather than report every request as missing one.
    """
    for template, item in description.get("paths", {}).items():
        if not isinstance(item, dict):
            continue
        in_path = set(re.findall(r"\{([^}]+)\}", template))

        def void(parameter: Any, in_path: set[str] = in_path) -> bool:
            resolved = _resolve(description, parameter)
            return isinstance(resolved, dict) and resolved.get("in") == "path" and resolved.get("name") not in in_path

        for holder in [item, *(item[m] for m in HTTP_METHODS if isinstance(item.get(m), dict))]:
            if isinstance(holder.get("parameters"), list):
                holder["parameters"] = [p for p in holder["parameters"] if not void(p)]


def _local_only(node: Any) -> Any:
    """The description with every reference to another file (Zoho's point at its common.json, users.json…
    on GitHub, not saved here) replaced: a security scheme by an OAuth 2 bearer placeholder, anything else by
    `{}` (any value). The harness never fetches anything; what such a reference described goes unchecked
    (Zoho's scheme is OAuth 2 with its own `Zoho-oauthtoken` header word, which openapi-core does not check)."""
    if isinstance(node, list):
        return [_local_only(item) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str) and not reference.startswith("#"):
        if "/securitySchemes/" in reference:
            return {"type": "oauth2", "flows": {}}
        return {}
    # YAML reads unquoted status codes (ServiceNow's `200:`) as integers; OpenAPI's keys are strings.
    return {(str(key) if type(key) is int else key): _local_only(value) for key, value in node.items()}


@dataclass(frozen=True)
class Operation:
    """One operation of a description: where it is, what it declares."""

    method: str
    template: str
    pattern: re.Pattern[str]
    query_names: frozenset[str]
    statuses: frozenset[str]


def _operations(description: Mapping[str, Any], prefix: str) -> list[Operation]:
    found = []
    for template, item in description.get("paths", {}).items():
        shared = [p for p in item.get("parameters", []) if isinstance(p, dict)]
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            parameters = [*shared, *operation.get("parameters", [])]
            names = set()
            for parameter in parameters:
                parameter = _resolve(description, parameter)
                if parameter.get("in") == "query":
                    names.add(parameter["name"])
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(prefix + template))
            found.append(
                Operation(
                    method.upper(),
                    prefix + template,
                    re.compile(f"^{regex}$"),
                    frozenset(names),
                    frozenset(str(s) for s in operation.get("responses", {})),
                )
            )
    # Literal paths before templated ones, as servers route them (/contacts/search before /contacts/{id}).
    return sorted(found, key=lambda op: (op.template.count("{"), -len(op.template)))


def _resolve(description: Mapping[str, Any], node: Any) -> Any:
    """The node a local `$ref` points to ({} for a reference the file does not define: see `_dangling`)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = description
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        node = target
    return node


def _server_prefix(description: Mapping[str, Any]) -> tuple[str, str]:
    """The description's first server as (host URL, path prefix), with server variables at their defaults."""
    servers = description.get("servers") or [{"url": "/"}]
    url = str(servers[0]["url"])
    for name, variable in (servers[0].get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(variable.get("default", "")))
    match = re.match(r"^(https?://[^/]+)?(.*)$", url)
    assert match is not None
    return match.group(1) or "https://vendor.example", match.group(2).rstrip("/")


@dataclass(frozen=True)
class Amendment:
    """What a vendor documents that its description leaves out, added to the description for one test session.

    `merge`'s keys are set (or, given None, removed) in the object at `pointer`: a JSON pointer into the file
    `file` as the harness reads it (an `allOf` of plain objects already merged into one, see
    `_merge_all_of_objects`). `source` is the page (or the description's own words) that says so. Kept few and
    cited: each one is a place where the description alone would refuse what the vendor's documentation shows."""

    file: str
    pointer: str
    merge: Mapping[str, Any]
    source: str

    def apply(self, description: dict[str, Any]) -> None:
        target: Any = description
        for part in self.pointer.lstrip("/").split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            target = target[int(key)] if isinstance(target, list) else target[key]
        assert isinstance(target, dict), f"{self.file}{self.pointer} is not an object"
        for key, value in self.merge.items():
            if value is None:  # a key the vendor's documentation contradicts, taken away
                target.pop(key, None)
            else:
                target[key] = copy.deepcopy(value)


@dataclass
class Description:
    """One vendor file, ready to validate against."""

    relative: str
    openapi: OpenAPI
    host_url: str
    prefix: str
    operations: list[Operation]

    @classmethod
    def load(cls, relative: str, amendments: Iterable[Amendment] = ()) -> Description:
        data = load_description(relative)
        mine = [a for a in amendments if a.file == relative]
        if mine:  # the cached file stays as the vendor wrote it
            data = copy.deepcopy(data)
            for amendment in mine:
                amendment.apply(data)
            _merge_all_of_objects(data, data)  # what an amendment added is read as the rest is
            _open_composed_objects(data)
        host_url, prefix = _server_prefix(data)
        config = Config(
            spec_validator_cls=None,
            additional_properties_default_policy="forbid",
            # HubSpot and others describe error answers as `*/*` with a JSON schema: read them as JSON.
            extra_media_type_deserializers={"*/*": _json_or_text},
        )
        return cls(relative, OpenAPI.from_dict(data, config=config), host_url, prefix, _operations(data, prefix))

    def find(self, method: str, path: str) -> Operation | None:
        return next((op for op in self.operations if op.method == method and op.pattern.match(path)), None)


@dataclass
class VendorContract:
    """A vendor's descriptions and what the traffic of one test broke of them."""

    vendor: str
    descriptions: list[Description]
    outside: tuple[str, ...] = ()
    """Path prefixes not covered by these descriptions (the vendor's OAuth server), left unchecked. An entry
    "METHOD /prefix" leaves out only that method's requests (Freshdesk's POST /api/v2/contacts, beside the GET its
    description has)."""
    strip_prefix: str = ""
    """A prefix the reproduction adds before the description's paths (none for most)."""
    known_gaps: Mapping[tuple[str, int], str] = field(default_factory=dict)
    """(operation, status) answers the vendor's documentation gives but its description leaves out, each with the
    documentation page that says so: e.g. Zoho's `204 No Content` for a search that finds nothing."""
    aliases: tuple[tuple[str, str], ...] = ()
    """(prefix a template sends, the description's prefix for it): the same routes under another base path, as
    Pipedrive serves `https://{company}.pipedrive.com/api/v1/...` for its description's `https://api.pipedrive.com/v1`.
    The first matching alias rewrites the path before it is looked up."""
    documented_query: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Query parameters the vendor documents for an operation ("METHOD template") that its description leaves out,
    each with the documentation page that says so (Freshdesk's `phone` filter on GET /api/v2/contacts)."""
    violations: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    """`METHOD template` of every operation a request was checked against (what the test exercised)."""

    @classmethod
    def of(
        cls,
        vendor: str,
        files: Iterable[str],
        outside: Iterable[str] = (),
        known_gaps: Mapping[tuple[str, int], str] | None = None,
        aliases: Iterable[tuple[str, str]] = (),
        documented_query: Mapping[str, Mapping[str, str]] | None = None,
        amendments: Iterable[Amendment] = (),
    ) -> VendorContract:
        amendments = tuple(amendments)
        return cls(
            vendor,
            [Description.load(f, amendments) for f in files],
            tuple(outside),
            known_gaps=dict(known_gaps or {}),
            aliases=tuple(aliases),
            documented_query=dict(documented_query or {}),
        )

    def described_path(self, path: str) -> str:
        """`path` as the description writes it (the first alias whose prefix it starts with applied)."""
        for sent, described in self.aliases:
            if path.startswith(sent):
                return described + path[len(sent) :]
        return path

    @staticmethod
    def _outside(entry: str, method: str, path: str) -> bool:
        verb, _, prefix = entry.rpartition(" ")
        return path.startswith(prefix) and verb in ("", method)

    def operation(self, method: str, path: str) -> tuple[Description, Operation] | None:
        for description in self.descriptions:
            found = description.find(method, path)
            if found is not None:
                return description, found
        return None

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        content_type: str,
    ) -> tuple[Description, Operation, MockRequest] | None:
        """Validate one request; the operation it is (None when it is outside the descriptions or broke them)."""
        if any(self._outside(entry, method, path) for entry in self.outside):
            return None
        path = self.described_path(path)
        found = self.operation(method, path)
        if found is None:
            self.violations.append(f"{method} {path}: no such operation in {self.vendor}'s API description")
            return None
        description, operation = found
        self.checked.append(f"{operation.method} {operation.template}")
        documented = self.documented_query.get(f"{operation.method} {operation.template}", {})
        undeclared = sorted(set(query) - operation.query_names - set(documented))
        if undeclared:
            declared = ", ".join(sorted(operation.query_names)) or "none"
            self.violations.append(
                f"{method} {path}: query parameter(s) {', '.join(undeclared)} not declared by "
                f"{operation.method} {operation.template} (declared: {declared})"
            )
        request = MockRequest(
            description.host_url,
            method.lower(),
            path,
            args=dict(query),
            headers=dict(headers),
            data=body or None,
            content_type=content_type,
        )
        try:
            with warnings.catch_warnings():
                # openapi-core checks apiKey and http schemes; for oauth2/openIdConnect it only warns.
                warnings.filterwarnings("ignore", "Unsupported scheme type")
                description.openapi.validate_request(request)
        except Exception as error:  # noqa: BLE001  (every openapi-core validation error is a finding)
            self.violations.append(f"{method} {path}: request breaks {operation.template}: {_explain(error)}")
        return description, operation, request

    def check_response(
        self, found: tuple[Description, Operation, MockRequest], status: int, body: bytes, content_type: str
    ) -> None:
        description, operation, request = found
        if (f"{operation.method} {operation.template}", status) in self.known_gaps:
            return
        declared = str(status) in operation.statuses or f"{str(status)[0]}XX" in operation.statuses
        if not declared and "default" not in operation.statuses:
            if 200 <= status < 300:
                self.violations.append(
                    f"{operation.method} {operation.template}: answered {status}, which the description does not "
                    f"declare ({', '.join(sorted(operation.statuses))})"
                )
            return  # an error the reproduction's framework sends (429, 503) that the description leaves out
        response = MockResponse(body, status_code=status, content_type=content_type.split(";")[0] or "application/json")
        try:
            description.openapi.validate_response(request, response)
        except Exception as error:  # noqa: BLE001
            self.violations.append(
                f"{operation.method} {operation.template}: the reproduction's {status} answer breaks the "
                f"description: {_explain(error)}"
            )

    def middleware(self) -> Middleware:
        """An aiohttp middleware that checks every request and answer of a reproduction against the contract."""

        @web.middleware
        async def contract(request: web.Request, handler: Handler) -> web.StreamResponse:
            body = await request.read()
            path = request.path[len(self.strip_prefix) :] if self.strip_prefix else request.path
            found = self.check_request(
                request.method, path, request.query, request.headers, body, request.headers.get("Content-Type", "")
            )
            response = await handler(request)
            if found is not None and isinstance(response, web.Response):
                answer = response.body if isinstance(response.body, bytes | bytearray) else b""
                self.check_response(found, response.status, bytes(answer), response.content_type or "")
            return response

        return contract

    def assert_kept(self) -> None:
        """AssertionError listing every violation (call at the end of a test)."""
        assert not self.violations, f"{self.vendor}: the traffic breaks the vendor's API description:\n" + "\n".join(
            dict.fromkeys(self.violations)
        )


def _json_or_text(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _explain(error: BaseException) -> str:
    """An openapi-core error with its causes (the schema errors are in __cause__ and .schema_errors)."""
    parts = [f"{type(error).__name__}: {error}"]
    cause = error.__cause__
    while cause is not None:
        parts.append(f"{type(cause).__name__}: {cause}")
        for schema_error in getattr(cause, "schema_errors", ()) or ():
            parts.append(f"  - {getattr(schema_error, 'message', schema_error)}")
        cause = cause.__cause__
    return " | ".join(parts)

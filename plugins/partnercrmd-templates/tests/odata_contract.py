"""The contract harness for OData APIs described by a CSDL (issue #16: "OData queries against the CSDL").

Microsoft Graph publishes no OpenAPI description of its own; its contract is the CSDL
(../shared/data/openapi/microsoft-graph/cleanMetadata.xml, Microsoft's $metadata): entity and complex types with
their properties and types, singletons such as `me`, navigation properties such as a user's `contacts`. This
module reads it with xml.etree and holds a reproduction's traffic to it, as vendor_contract.py does for OpenAPI:

- the path walks the model: a singleton, then navigation properties and keys (`/me/contacts/{id}`);
- system query options are OData's; `$select` names properties of the entity type; `$top` is an integer;
- `$filter` uses properties of the entity type as their types allow: `prop eq '…'` and `startswith(prop, '…')`
  on a single string, `prop/any(x:x eq '…')` on a collection of strings; a name the type does not have, or a
  collection compared with `eq`, is a violation (Graph answers 400 to both);
- a created entity's body has only properties of the type, of the declared types (strings, collections,
  complex types with their own properties);
- answers (2xx) carry only properties of the type, and OData's `@odata.*` annotations.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from vendor_contract import OPENAPI_DIR

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
QUERY_OPTIONS = {"$filter", "$select", "$top", "$skip", "$orderby", "$count", "$expand", "$search", "$format"}
FILTER_WORDS = {"and", "or", "not", "eq", "ne", "startswith", "any", "all", "true", "false", "null"}
STRING = "'(?:[^']|'')*'"


@dataclass(frozen=True)
class Property:
    type: str
    """Qualified by namespace (microsoft.graph.emailAddress, Edm.String), `Collection(...)` kept."""
    nullable: bool

    @property
    def element(self) -> str:
        match = re.fullmatch(r"Collection\((.+)\)", self.type)
        return match[1] if match else self.type

    @property
    def many(self) -> bool:
        return self.type.startswith("Collection(")


@dataclass
class Csdl:
    """The types of one CSDL document: properties (structural and navigation) by qualified type name."""

    properties: dict[str, dict[str, Property]]
    navigation: dict[str, dict[str, Property]]
    singletons: dict[str, str]

    @classmethod
    def load(cls, relative: str) -> Csdl:
        return _load_csdl(relative)

    def all_properties(self, type_name: str) -> dict[str, Property]:
        return self.properties.get(type_name, {})


@cache
def _load_csdl(relative: str) -> Csdl:
    root = ET.parse(OPENAPI_DIR / relative).getroot()  # noqa: S314
    schemas = list(root.iter(f"{EDM}Schema"))
    aliases = {s.get("Alias", ""): s.get("Namespace", "") for s in schemas if s.get("Alias")}

    def qualified(name: str) -> str:
        inner = re.fullmatch(r"Collection\((.+)\)", name)
        if inner:
            return f"Collection({qualified(inner[1])})"
        prefix, _, rest = name.rpartition(".")
        return f"{aliases.get(prefix, prefix)}.{rest}" if prefix else name

    own: dict[str, dict[str, Property]] = {}
    navigation: dict[str, dict[str, Property]] = {}
    bases: dict[str, str] = {}
    singletons: dict[str, str] = {}
    for schema in schemas:
        namespace = schema.get("Namespace", "")
        for kind in ("EntityType", "ComplexType"):
            for element in schema.iter(f"{EDM}{kind}"):
                name = f"{namespace}.{element.get('Name')}"
                own[name] = {
                    str(p.get("Name")): Property(qualified(str(p.get("Type"))), p.get("Nullable") != "false")
                    for p in element.iter(f"{EDM}Property")
                }
                navigation[name] = {
                    str(p.get("Name")): Property(qualified(str(p.get("Type"))), True)
                    for p in element.iter(f"{EDM}NavigationProperty")
                }
                if element.get("BaseType"):
                    bases[name] = qualified(str(element.get("BaseType")))
        for singleton in schema.iter(f"{EDM}Singleton"):
            singletons[str(singleton.get("Name"))] = qualified(str(singleton.get("Type")))

    def inherited(table: dict[str, dict[str, Property]], name: str) -> dict[str, Property]:
        base = bases.get(name)
        return {**(inherited(table, base) if base else {}), **table.get(name, {})}

    return Csdl(
        {name: inherited(own, name) for name in own},
        {name: inherited(navigation, name) for name in own},
        singletons,
    )


@dataclass
class ODataContract:
    """A CSDL and what the traffic of one test broke of it."""

    vendor: str
    csdl: Csdl
    prefix: str
    """The service root's path (Graph: /v1.0)."""
    outside: tuple[str, ...] = ()
    violations: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def resource(self, method: str, path: str) -> tuple[str, bool] | None:
        """(entity type, whether the path is a collection of it), or None with a violation."""
        segments = [s for s in path[len(self.prefix) :].split("/") if s]
        if not segments or segments[0] not in self.csdl.singletons:
            self.violations.append(f"{method} {path}: no singleton {segments[:1]} in {self.vendor}'s CSDL")
            return None
        current, many = self.csdl.singletons[segments[0]], False
        for segment in segments[1:]:
            if many:  # a key of the collection
                many = False
                continue
            target = self.csdl.navigation.get(current, {}).get(segment)
            if target is None:
                self.violations.append(f"{method} {path}: {current} has no navigation property {segment}")
                return None
            current, many = target.element, target.many
        return current, many

    def check_request(self, method: str, path: str, query: Mapping[str, str], body: bytes) -> tuple[str, bool] | None:
        if not path.startswith(self.prefix) or any(path.startswith(p) for p in self.outside):
            return None
        found = self.resource(method, path)
        if found is None:
            return None
        entity, many = found
        self.checked.append(f"{method} {entity}{'[]' if many else ''}")
        properties = self.csdl.all_properties(entity)
        for option, value in query.items():
            if option not in QUERY_OPTIONS:
                self.violations.append(f"{method} {path}: {option} is not an OData system query option")
            elif option == "$select":
                unknown = [p for p in value.split(",") if p.strip() not in properties]
                if unknown:
                    self.violations.append(f"{method} {path}: $select names {unknown}, not properties of {entity}")
            elif option == "$top" and not value.isdigit():
                self.violations.append(f"{method} {path}: $top={value!r} is not a non-negative integer")
            elif option == "$filter":
                self.violations += [f"{method} {path}: $filter: {p}" for p in filter_problems(value, properties)]
        if method == "POST" and body:
            self.violations += [f"{method} {path}: body: {p}" for p in self.value_problems(json.loads(body), entity)]
        if method == "POST" and many:
            return entity, False  # creating in a collection answers the new entity
        return found

    def value_problems(self, value: Any, type_name: str, where: str = "") -> list[str]:
        """What in `value` (an object of `type_name`) the CSDL does not allow."""
        if not isinstance(value, dict):
            return [f"{where or 'the body'} is not an object of {type_name}"]
        properties = self.csdl.all_properties(type_name)
        problems = []
        for key, item in value.items():
            if key.startswith("@odata."):
                continue
            declared = properties.get(key)
            if declared is None:
                problems.append(f"{where}{key} is not a property of {type_name}")
                continue
            if item is None:
                if not declared.nullable:
                    problems.append(f"{where}{key} is not nullable")
                continue
            items = item if declared.many else [item]
            if declared.many and not isinstance(item, list):
                problems.append(f"{where}{key} is a {declared.type}, not a list")
                continue
            for element in items:
                problems += self._element_problems(element, declared.element, f"{where}{key}.")
        return problems

    def _element_problems(self, element: Any, type_name: str, where: str) -> list[str]:
        if type_name in self.csdl.properties:
            return self.value_problems(element, type_name, where)
        expected: tuple[type, ...] = {
            "Edm.String": (str,),
            "Edm.Boolean": (bool,),
            "Edm.Int32": (int,),
            "Edm.Int64": (int,),
            "Edm.DateTimeOffset": (str,),
        }.get(type_name, (str, int, float, bool))
        if not isinstance(element, expected) or (isinstance(element, bool) and bool not in expected):
            return [f"{where.rstrip('.')} {element!r} is not an {type_name}"]
        return []

    def check_response(self, found: tuple[str, bool], status: int, body: bytes) -> None:
        if not 200 <= status < 300 or not body:
            return
        entity, many = found
        answer = json.loads(body)
        if many:
            if not isinstance(answer, dict) or not isinstance(answer.get("value"), list):
                self.violations.append(f"{entity}[]: the answer has no `value` list")
                return
            extra = [k for k in answer if k != "value" and not k.startswith("@odata.")]
            self.violations += [f"{entity}[]: the answer has {k}, not an OData collection's key" for k in extra]
            items = answer["value"]
        else:
            items = [answer]
        for item in items:
            self.violations += [f"answer: {p}" for p in self.value_problems(item, entity)]

    def middleware(self) -> Middleware:
        @web.middleware
        async def contract(request: web.Request, handler: Handler) -> web.StreamResponse:
            body = await request.read()
            found = self.check_request(request.method, request.path, request.query, body)
            response = await handler(request)
            if found is not None and isinstance(response, web.Response):
                answer = response.body if isinstance(response.body, bytes | bytearray) else b""
                self.check_response(found, response.status, bytes(answer))
            return response

        return contract

    def assert_kept(self) -> None:
        assert not self.violations, f"{self.vendor}: the traffic breaks the vendor's CSDL:\n" + "\n".join(
            dict.fromkeys(self.violations)
        )


def filter_problems(expression: str, properties: Mapping[str, Property]) -> list[str]:
    """What in an OData `$filter` the entity type's properties do not allow (the forms templates use)."""
    problems = []
    text = re.sub(STRING, "''", expression)

    def kind(name: str) -> Property | None:
        declared = properties.get(name)
        if declared is None:
            problems.append(f"{name} is not a property")
        return declared

    for name, variable in re.findall(r"([A-Za-z_]\w*)/any\(\s*(\w+)\s*:\s*\2\s+eq\s+''\s*\)", text):
        declared = kind(name)
        if declared is not None and declared.type != "Collection(Edm.String)":
            problems.append(
                f"{name}/any({variable}:{variable} eq …) needs a collection of strings, not {declared.type}"
            )
    text = re.sub(r"[A-Za-z_]\w*/any\(\s*(\w+)\s*:\s*\1\s+eq\s+''\s*\)", " ", text)
    for name in re.findall(r"startswith\(\s*([A-Za-z_]\w*)\s*,\s*''\s*\)", text):
        declared = kind(name)
        if declared is not None and declared.type != "Edm.String":
            problems.append(f"startswith({name}, …) needs a string, not {declared.type}")
    text = re.sub(r"startswith\(\s*[A-Za-z_]\w*\s*,\s*''\s*\)", " ", text)
    for name in re.findall(r"([A-Za-z_]\w*)\s+(?:eq|ne)\s+''", text):
        declared = kind(name)
        if declared is not None and declared.type != "Edm.String":
            problems.append(f"{name} eq '…' needs a string, not {declared.type} (a collection takes any())")
    text = re.sub(r"[A-Za-z_]\w*\s+(?:eq|ne)\s+''", " ", text)
    leftover = [w for w in re.findall(r"[A-Za-z_][\w/]*", text) if w not in FILTER_WORDS]
    if leftover:
        problems.append(f"not read as a comparison of a property: {leftover}")
    return problems


def graph_contract() -> ODataContract:
    """Microsoft Graph v1.0, held to its CSDL (the MANIFEST's microsoft-graph/cleanMetadata.xml)."""
    return ODataContract("microsoft365", Csdl.load("microsoft-graph/cleanMetadata.xml"), "/v1.0")

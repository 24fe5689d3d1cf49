"""The contract harness for GraphQL APIs (issue #16): a reproduction's traffic held to the vendor's GraphQL schema.

vendor_contract.py does this for OpenAPI descriptions; a GraphQL API has one endpoint and its contract is the
schema (monday.com publishes its SDL: ../shared/data/openapi/monday/schema.graphql, see MANIFEST.md). With
`graphql-core` (the reference implementation's Python port) every request a template sends is:

- a JSON body {query, variables} whose document parses;
- a document that validates against the schema (every field, argument and fragment exists on its type, every
  variable is declared and used where its type fits): a misspelt field is a violation;
- variables that coerce to the types the document declares (a number for an ID! is fine, a missing
  required variable or a list for a String! is not).

Every answer with `data` is checked by executing the same document against the schema with the answer as
the source of every field (a field's value is read from the answer by its response key): a missing non-null
field, a value that its scalar or enum cannot serialise, an object where a list belongs are errors, and the
result must equal the answer (so keys the query did not select are violations as well).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import graphql
from aiohttp import web
from aiohttp.typedefs import Middleware

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "openapi"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@cache
def load_schema(relative: str) -> graphql.GraphQLSchema:
    """The vendor's schema from ../shared/data/openapi/ (read once per test run)."""
    return graphql.build_schema((SHARED / relative).read_text(encoding="utf-8"))


def _by_response_key(source: Any, info: graphql.GraphQLResolveInfo, **_: Any) -> Any:
    """Every field's value is the answer's value under the field's response key (its alias, else its name)."""
    return source.get(info.path.key) if isinstance(source, dict) else None


def _type_of(value: Any, info: graphql.GraphQLResolveInfo, abstract: graphql.GraphQLAbstractType) -> str | None:
    """An interface or union value's type: its __typename, else the one possible type declaring all its keys."""
    if isinstance(value, dict) and isinstance(value.get("__typename"), str):
        return str(value["__typename"])
    if not isinstance(value, dict):
        return None
    fitting = [t.name for t in info.schema.get_possible_types(abstract) if set(value) <= set(t.fields)]
    return fitting[0] if fitting else None


@dataclass
class GraphQLContract:
    """One test's checker: `middleware()` on the reproduction, `assert_kept()` at the end."""

    vendor: str
    schema_file: str
    endpoint: str
    """The path GraphQL requests are POSTed to (monday.com: /v2); other paths are not the schema's business."""
    violations: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    """The operations (root fields) requests used, for tests that want to know the harness looked."""

    @property
    def schema(self) -> graphql.GraphQLSchema:
        return load_schema(self.schema_file)

    def check_request(self, body: bytes) -> tuple[graphql.DocumentNode, dict[str, Any]] | None:
        """Validate one request body; the parsed document and its variables when it is a valid operation."""
        try:
            sent = json.loads(body)
        except ValueError:
            self.violations.append(f"{self.endpoint}: the body is not JSON")
            return None
        if not isinstance(sent, dict) or not isinstance(sent.get("query"), str):
            self.violations.append(f"{self.endpoint}: the body is not a GraphQL request {{query, variables}}")
            return None
        variables = sent.get("variables") or {}
        try:
            document = graphql.parse(sent["query"])
        except graphql.GraphQLError as error:
            self.violations.append(f"query does not parse: {error.message}")
            return None
        errors = graphql.validate(self.schema, document)
        self.violations += [f"query breaks {self.vendor}'s schema: {e.message}" for e in errors]
        operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
        for operation in operations:
            root = self.schema.get_root_type(operation.operation)
            names = [s.name.value for s in operation.selection_set.selections if isinstance(s, graphql.FieldNode)]
            self.checked += [f"{root.name if root else operation.operation.value}.{n}" for n in names]
        if errors:
            return None
        if len(operations) == 1:
            coerced = graphql.execution.values.get_variable_values(
                self.schema, operations[0].variable_definitions or [], variables
            )
            if isinstance(coerced, list):
                self.violations += [f"variables break the query's declarations: {e.message}" for e in coerced]
                return None
        return document, variables

    def check_response(self, document: graphql.DocumentNode, variables: dict[str, Any], body: bytes) -> None:
        """An answer's `data` executed against the schema: it must be exactly what the schema lets the query get."""
        try:
            answer = json.loads(body)
        except ValueError:
            self.violations.append("the answer is not JSON")
            return
        if not isinstance(answer, dict) or answer.get("data") is None:
            return  # an error answer: {errors: [...]} (its shape is the GraphQL spec's, not the schema's)
        result = graphql.execute_sync(
            self.schema,
            document,
            root_value=answer["data"],
            variable_values=variables,
            field_resolver=_by_response_key,
            type_resolver=_type_of,
        )
        for error in result.errors or ():
            self.violations.append(f"the answer breaks {self.vendor}'s schema at {error.path}: {error.message}")
        if not result.errors and result.data != answer["data"]:
            self.violations.append(
                f"the answer carries what the query did not ask for: {answer['data']!r} (the query: {result.data!r})"
            )

    def middleware(self) -> Middleware:
        """An aiohttp middleware checking every GraphQL request to `endpoint` and its answer."""

        @web.middleware
        async def contract(request: web.Request, handler: Handler) -> web.StreamResponse:
            found = None
            if request.method == "POST" and request.path == self.endpoint:
                found = self.check_request(await request.read())
            response = await handler(request)
            if found is not None and isinstance(response, web.Response) and 200 <= response.status < 300:
                answer = response.body if isinstance(response.body, bytes | bytearray) else b""
                self.check_response(*found, bytes(answer))
            return response

        return contract

    def assert_kept(self) -> None:
        """AssertionError listing every violation (call at the end of a test)."""
        assert not self.violations, f"{self.vendor}: the traffic breaks the vendor's GraphQL schema:\n" + "\n".join(
            dict.fromkeys(self.violations)
        )

"""The GraphQL contract harness finds what it must (issue #16 acceptance: a deliberately wrong name is caught).

Each case is a request or answer as a template and a reproduction would exchange them, held to monday.com's own
schema (../shared/data/openapi/monday/schema.graphql)."""

from __future__ import annotations

import json
from typing import Any

from graphql_contract import GraphQLContract

FIND = """
query ($board: ID!, $column: String!, $numbers: [String]!) {
  items_page_by_column_values(board_id: $board, columns: [{column_id: $column, column_values: $numbers}], limit: 50) {
    items { id name column_values(ids: ["phone", "email"]) { id text } }
  }
}
"""
VARIABLES: dict[str, Any] = {"board": "1234567890", "column": "phone", "numbers": ["+442079460958"]}
ANSWER: dict[str, Any] = {
    "data": {
        "items_page_by_column_values": {
            "items": [
                {
                    "id": "9876543210",
                    "name": "Dana Whitfield",
                    "column_values": [{"id": "phone", "text": "+442079460958"}, {"id": "email", "text": "d@n.example"}],
                }
            ]
        }
    }
}


def contract() -> GraphQLContract:
    return GraphQLContract("monday.com", "monday/schema.graphql", "/v2")


def request(query: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def test_a_request_and_answer_the_schema_allows_pass() -> None:
    checker = contract()
    found = checker.check_request(request(FIND, VARIABLES))
    assert found is not None
    checker.check_response(*found, json.dumps(ANSWER).encode())
    checker.assert_kept()
    assert checker.checked == ["Query.items_page_by_column_values"]


def test_a_misspelt_field_or_argument_is_a_violation() -> None:
    for wrong, said in [
        (FIND.replace("items { id name", "items { id nme"), "Cannot query field 'nme' on type 'Item'"),
        (FIND.replace("items_page_by_column_values(", "items_by_column_values("), "Cannot query field"),
        (FIND.replace("column_id: $column", "column: $column"), "Field 'column' is not defined by type"),
    ]:
        checker = contract()
        assert checker.check_request(request(wrong, VARIABLES)) is None
        assert any(said in v for v in checker.violations), checker.violations


def test_variables_of_the_wrong_type_or_missing_are_violations() -> None:
    for variables in [{**VARIABLES, "numbers": {"a": 1}}, {k: v for k, v in VARIABLES.items() if k != "board"}]:
        checker = contract()
        assert checker.check_request(request(FIND, variables)) is None
        assert any(v.startswith("variables break") for v in checker.violations), checker.violations


def test_an_answer_the_schema_does_not_allow_is_a_violation() -> None:
    item = ANSWER["data"]["items_page_by_column_values"]["items"][0]
    for data, said in [
        ({"items_page_by_column_values": {"items": [{**item, "id": None}]}}, "non-nullable field Item.id"),
        ({"items_page_by_column_values": {"items": item}}, "Expected Iterable"),
        ({"items_page_by_column_values": {"items": [{**item, "phone": "+44"}]}}, "did not ask for"),
    ]:
        checker = contract()
        found = checker.check_request(request(FIND, VARIABLES))
        assert found is not None
        checker.check_response(*found, json.dumps({"data": data}).encode())
        assert any(said in v for v in checker.violations), (said, checker.violations)

"""monday.com reproduced as a GraphQL server over monday.com's own schema.

The server executes every request with graphql-core against ../shared/data/openapi/monday/schema.graphql
(mondaycom/mcp's SDL, MANIFEST.md), so it answers only what the schema allows: a query the schema refuses gets
GraphQL's {"errors": [...]} with 200, as https://developer.monday.com/api-reference/docs/errors describes. The
resolvers follow https://developer.monday.com/api-reference/reference/items-page-by-column-values (items of a
board whose column holds any of the values given, an exact match), .../items-page (query_params rules:
contains_text on the name column), .../items (items by id), .../phone and .../email (a phone column's value
{phone, countryShortName}, an email column's {email, text}; the text shown is the number or address), and
.../updates (create_update on an item). Authentication: https://developer.monday.com/api-reference/docs/authentication
(the API token as the Authorization header's whole value; 401 without a valid one); rate limits:
https://developer.monday.com/api-reference/docs/rate-limits (429 with Retry-After).
Contacts are items of the Contacts board: a phone column `phone` and an email column `email` (monday CRM's own
column ids differ per account: the template's settings name them).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import graphql
from aiohttp import web
from graphql_contract import load_schema
from templates_fake_crm import PEOPLE, FakeCrm

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ0aWQiOjQyMDAwMDAwMCwidWlkIjo3NzcsImlhZCI6IjIwMjYtMTItMDcifQ.bW9uZGF5LXRva2Vu"
SECRETS = ("api_token",)
ACCOUNT = "northwind"
BOARD = "1234567890"
COMPANY = False
"""The board has no company column; the template shows none."""
STORED = {"Dana": "+442079460958", "Eamon": "+12127365000", "Zoë": "+33142685300"}
SCHEMA = "monday/schema.graphql"


def column(column_id: str, typename: str, kind: str, text: str, value: dict[str, Any]) -> dict[str, Any]:
    """A column value as monday.com's ColumnValue interface describes one."""
    return {"__typename": typename, "id": column_id, "type": kind, "text": text, "value": json.dumps(value)}


def build() -> FakeCrm:
    crm = FakeCrm(
        "monday.com",
        unauthorized=lambda: web.json_response(
            {"errors": [{"message": "Not Authenticated", "extensions": {"code": "UNAUTHENTICATED"}}]}, status=401
        ),
        static_credentials={TOKEN},
        error_body=lambda status, message: {"errors": [{"message": message}], "status_code": status},
    )

    def new_item(name: str, phone: dict[str, Any] | None, email: dict[str, Any] | None) -> str:
        item_id = str(9_000_000_000 + crm.new_id())
        columns = []
        if phone and phone.get("phone"):
            columns.append(column("phone", "PhoneValue", "phone", phone["phone"], phone))
        if email and email.get("email"):
            columns.append(column("email", "EmailValue", "email", email["email"], email))
        crm.records[item_id] = {"id": item_id, "name": name, "columns": columns}
        return item_id

    for p in PEOPLE:
        new_item(p.name, {"phone": STORED[p.first], "countryShortName": p.region}, {"email": p.email, "text": p.email})

    def item(record: dict[str, Any]) -> dict[str, Any]:
        """An Item for graphql-core: column_values answers its `ids` and `types` arguments."""

        def column_values(info: graphql.GraphQLResolveInfo, **args: Any) -> list[dict[str, Any]]:
            return [
                c
                for c in record["columns"]
                if ("ids" not in args or c["id"] in args["ids"]) and ("types" not in args or c["type"] in args["types"])
            ]

        return {"id": record["id"], "name": record["name"], "column_values": column_values}

    def on_board(board_id: str) -> list[dict[str, Any]]:
        if board_id != BOARD:
            raise graphql.GraphQLError(f"Board {board_id} not found")
        return list(crm.records.values())

    class Root:
        """The Query and Mutation fields the template uses (graphql-core calls them with their arguments)."""

        def items_page_by_column_values(
            self, info: graphql.GraphQLResolveInfo, board_id: str, columns: list[dict[str, Any]], **_: Any
        ) -> dict[str, Any]:
            found = on_board(board_id)
            for rule in columns:
                wanted = set(rule["column_values"])
                found = [
                    r for r in found if any(c["id"] == rule["column_id"] and c["text"] in wanted for c in r["columns"])
                ]
            return {"cursor": None, "items": [item(r) for r in found]}

        def boards(self, info: graphql.GraphQLResolveInfo, ids: list[str], **_: Any) -> list[dict[str, Any]]:
            def items_page(info: graphql.GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
                found = on_board(ids[0])
                for rule in (args.get("query_params") or {}).get("rules", []):
                    if (rule["column_id"], rule.get("operator")) != ("name", "contains_text"):
                        raise graphql.GraphQLError("rule not reproduced")
                    words = (
                        rule["compare_value"] if isinstance(rule["compare_value"], list) else [rule["compare_value"]]
                    )
                    found = [r for r in found if any(str(w).lower() in r["name"].lower() for w in words)]
                return {"cursor": None, "items": [item(r) for r in found]}

            return [{"id": ids[0], "items_page": items_page}]

        def items(self, info: graphql.GraphQLResolveInfo, ids: list[str], **_: Any) -> list[dict[str, Any]]:
            return [item(crm.records[i]) for i in ids if i in crm.records]

        def create_item(
            self, info: graphql.GraphQLResolveInfo, board_id: str, item_name: str, column_values: Any = None, **_: Any
        ) -> dict[str, Any]:
            on_board(board_id)
            values = json.loads(column_values) if isinstance(column_values, str) else column_values or {}
            crm.write("contacts", {"item_name": item_name, "column_values": values})
            return item(crm.records[new_item(item_name, values.get("phone"), values.get("email"))])

        def create_update(self, info: graphql.GraphQLResolveInfo, body: str, item_id: str, **_: Any) -> dict[str, Any]:
            if item_id not in crm.records:
                raise graphql.GraphQLError(f"Item {item_id} not found")
            crm.write("calls", {"item_id": item_id, "body": body})
            return {"id": str(crm.new_id())}

    @crm.route("POST", "/v2")
    async def api(request: web.Request) -> web.Response:
        body = await request.json()
        result = await graphql.graphql(
            load_schema(SCHEMA), body["query"], root_value=Root(), variable_values=body.get("variables")
        )
        return web.json_response(result.formatted)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"api_token": TOKEN, "account": ACCOUNT, "board_id": BOARD, "phone_country": "GB", "api_url": crm.url}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_token": "eyJhbGciOiJIUzI1NiJ9.eyJyZXZva2VkIjp0cnVlfQ.cmV2b2tlZA"}


def pop_urls(crm: FakeCrm, item_id: str) -> list[str]:
    return [f"https://{ACCOUNT}.monday.com/boards/{BOARD}/pulses/{item_id}"] * 2


def check_call(crm: FakeCrm, item_id: str, start: datetime) -> None:
    [update] = crm.written["calls"]
    assert update["item_id"] == item_id
    subject, _, body = update["body"].partition("\n")
    assert subject == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in body
    assert f"Start: {start:%Y-%m-%d %H:%M:%S} UTC" in body and "Duration: 1:35" in body


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "item_name": "Grace Hopper",
        "column_values": {
            "phone": {"phone": "+442071838750", "countryShortName": "GB"},
            "email": {"email": "grace.hopper@example.com", "text": "grace.hopper@example.com"},
        },
    }

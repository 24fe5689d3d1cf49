"""SuiteCRM 8 reproduced from its V8 JSON:API: SuiteCRM's own description and developer guide.

Follows https://docs.suitecrm.com/developer/api/developer-setup-guide/json-api/ and the description in
salesagility/SuiteCRM (Api/docs/swagger/swagger.json): GET /module/{module} with filter[operator] (AND, OR:
one level) and filter[<field>][eq] (EQ compares the stored text; MySQL's default collation ignores case),
page[size] and page[number] -> 200 {"data": [{"type", "id", "attributes"}], "meta": {"total-pages"}};
GET /module/{moduleName}/{id} -> {"data": record}, 400 for an id that is not there; POST /module with
{"data": {"type": "Contacts" | "Calls", "attributes": {...}}} as application/vnd.api+json -> 201 {"data":
record}. A call's parent_type/parent_id put it in the contact's History. Authentication:
https://docs.suitecrm.com/developer/api/developer-setup-guide/configure-suitecrm/ (OAuth 2 client
credentials at Api/access_token, answered {"token_type": "Bearer", "expires_in": 3600, "access_token"});
SuiteCRM 8 serves all of it under /legacy/Api. A request without a valid token gets 401 {"error":
"access_denied", "error_description", "message"} (league/oauth2-server's answer).

The users here typed numbers in several ways (STORED); EQ needs the form as stored, so the template asks for
the E.164, international and national forms.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

API = "/legacy/Api/V8"
SECRETS = ("client_secret",)
GRANT = "client_credentials"
STORED = {"Dana": "020 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
JSON_API = "application/vnd.api+json"
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "phone_work",
    "phone_mobile",
    "phone_home",
    "email1",
    "account_name",
    "description",
)


def json_api(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, content_type=JSON_API)


def bad_request(detail: str) -> web.Response:
    return json_api({"errors": {"status": 400, "title": "Bad Request", "detail": detail}}, status=400)


def build() -> FakeCrm:
    crm = FakeCrm(
        "SuiteCRM",
        unauthorized=lambda: web.json_response(
            {
                "error": "access_denied",
                "error_description": "The resource owner or authorization server denied the request.",
                "message": "The resource owner or authorization server denied the request.",
            },
            status=401,
        ),
        oauth=OAuthSettings(token_path="/legacy/Api/access_token", expires_in=3600),
        error_body=lambda status, message: {"errors": {"status": status, "title": message, "detail": message}},
    )
    calls: dict[str, dict[str, Any]] = {}

    def new_contact(attributes: dict[str, Any]) -> str:
        contact_id = str(uuid.uuid4())
        crm.records[contact_id] = {field: attributes.get(field) or "" for field in CONTACT_FIELDS}
        return contact_id

    def resource(contact_id: str) -> dict[str, Any]:
        return {"type": "Contact", "id": contact_id, "attributes": dict(crm.records[contact_id])}

    for p in PEOPLE:
        new_contact(
            {
                "first_name": p.first,
                "last_name": p.last,
                "title": p.title,
                "phone_work": STORED[p.first],
                "phone_mobile": p.mobile,
                "email1": p.email,
                "account_name": p.company,
            }
        )

    @crm.route("GET", API + "/module/{module}")
    async def collection(request: web.Request) -> web.Response:
        if request.match_info["module"] != "Contacts":
            return bad_request("Module is not served by this reproduction")
        conditions = []
        for key, value in request.query.items():
            match = re.fullmatch(r"filter\[(\w+)\]\[(\w+)\]", key)
            if match is None:
                continue
            field, operator = match.groups()
            if operator.upper() != "EQ":
                return bad_request(f"Filter operator {operator} is not supported here")
            if field not in CONTACT_FIELDS:
                return bad_request(f"Filter field {field} in Contacts module is not found")
            conditions.append((field, value))
        joined = any if request.query.get("filter[operator]", "AND").upper() == "OR" else all
        hits = [
            i
            for i, r in crm.records.items()
            if not conditions or joined(str(r[f]).lower() == v.lower() for f, v in conditions)
        ]
        size = int(request.query.get("page[size]", 20))
        number = int(request.query.get("page[number]", 1))
        page = hits[(number - 1) * size : number * size]
        pages = max(1, -(-len(hits) // size))
        return json_api({"meta": {"total-pages": pages}, "data": [resource(i) for i in page]})

    @crm.route("GET", API + "/module/{module}/{id}")
    async def one(request: web.Request) -> web.Response:
        contact_id = request.match_info["id"]
        if request.match_info["module"] != "Contacts" or contact_id not in crm.records:
            return bad_request(f"The record with id {contact_id} is not found")
        return json_api({"data": resource(contact_id)})

    @crm.route("POST", API + "/module")
    async def create(request: web.Request) -> web.Response:
        if request.content_type != JSON_API:
            return json_api({"errors": {"status": 415, "title": "Unsupported Media Type"}}, status=415)
        data = (await request.json())["data"]
        attributes = data.get("attributes", {})
        if data.get("type") == "Contacts":
            unknown = set(attributes) - set(CONTACT_FIELDS)
            if unknown:
                return bad_request(f"Property {sorted(unknown)[0]} in Contacts module is invalid")
            crm.write("contacts", data)
            return json_api({"data": resource(new_contact(attributes))}, status=201)
        if data.get("type") == "Calls":
            if attributes.get("parent_type") != "Contacts" or attributes.get("parent_id") not in crm.records:
                return bad_request("parent_id is not a contact")
            crm.write("calls", data)
            call_id = str(uuid.uuid4())
            calls[call_id] = attributes
            return json_api({"data": {"type": "Call", "id": call_id, "attributes": attributes}}, status=201)
        return bad_request(f"Module {data.get('type')} does not exist")

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {"site_url": crm.url, "client_id": crm.oauth.client_id, "client_secret": crm.oauth.client_secret}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/#/contacts/record/{contact_id}", f"{crm.url}/#/contacts/edit/{contact_id}"]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    attributes = call["attributes"]
    assert (attributes["parent_type"], attributes["parent_id"]) == ("Contacts", contact_id)
    assert (attributes["direction"], attributes["status"]) == ("Inbound", "Held")
    assert (attributes["duration_hours"], attributes["duration_minutes"]) == (0, 1)  # 1:35
    assert attributes["date_start"] == f"{start:%Y-%m-%d %H:%M:%S}"
    # A call's name holds 50 characters in SuiteCRM (the Calls module's vardefs: varchar 50).
    assert attributes["name"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"[:50]
    assert "Wants a quote for 40 chairs." in attributes["description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "type": "Contacts",
        "attributes": {
            "first_name": "Grace",
            "last_name": "Hopper",
            "phone_work": "020 7183 8750",
            "email1": "grace.hopper@example.com",
        },
    }

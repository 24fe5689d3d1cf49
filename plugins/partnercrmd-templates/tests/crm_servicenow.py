"""ServiceNow Customer Service Management reproduced from its REST API reference.

Follows https://www.servicenow.com/docs/r/australia/api-reference/rest-apis/contact-api.html (GET
/api/now/contact with sysparm_query, sysparm_limit, sysparm_offset -> 200 {"result": [contacts]}; GET
/api/now/contact/{id} -> {"result": contact} or 404; POST /api/now/contact -> 201 {"result": contact}; a
contact of the customer_contact table: sys_id, name, first_name, last_name, title, email, phone,
mobile_phone, account as a reference {"link", "value"}), .../case-api.html (POST
/api/sn_customerservice/case -> 201 {"result": case}, contact_type naming the channel), encoded queries
(https://www.servicenow.com/docs/r/australia/platform-user-interface/r_OpAvailableFiltersQueries.html:
conditions `<field><operator><value>` joined by ^ (AND) and ^OR, which binds to the conditions either
side of it; = is exact, IN "is one of" a comma-separated list, LIKE "contains" ignoring case; ORDERBY
sorts) and the OAuth client credentials grant
(https://www.servicenow.com/docs/r/australia/platform-security/authentication/client-credentials.html;
POST /oauth_token.do, access tokens of 30 minutes). A request without a valid token gets 401
{"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
"status": "failure"}; too many requests get 429 with Retry-After.

The users here typed numbers in several ways (STORED): as ServiceNow compares text, the template asks for
the E.164, international and national forms at once with IN.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

SECRETS = ("client_secret",)
GRANT = "client_credentials"
COMPANY = False
"""A contact's account is a reference (its sys_id); the Contact API gives no display values, so no company."""
STORED = {"Dana": "020 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
INSTANCE = "https://northwind.service-now.com"
"""The instance's own address, which its answers' reference links carry."""
ACCOUNT = "4a1f0c2b8f3e4d5a9b6c7d8e9f0a1b2c"
"""The sys_id of the customer_account every seeded contact belongs to."""
FIELDS = ("sys_id", "name", "first_name", "last_name", "title", "email", "phone", "mobile_phone")


def error(status: int, message: str, detail: str = "") -> web.Response:
    return web.json_response({"error": {"message": message, "detail": detail}, "status": "failure"}, status=status)


def condition_holds(record: dict[str, Any], condition: str) -> bool:
    """One `<field><operator><value>` condition of an encoded query, as ServiceNow evaluates it."""
    match = re.fullmatch(r"([a-z_]+)(IN|LIKE|STARTSWITH|=)(.*)", condition, re.S)
    if match is None:
        raise web.HTTPBadRequest(text=f"Invalid query condition: {condition}")
    field, operator, value = match.groups()
    if field not in FIELDS:
        # This instance has glide.invalid_query.returns_no_rows set to true: a condition on a field the table does
        # not have matches nothing (left false, ServiceNow drops the condition and a misspelt field matches all).
        return False
    stored = str(record.get(field) or "")
    if operator == "=":
        return stored == value
    if operator == "IN":
        return stored in value.split(",")
    if operator == "STARTSWITH":
        return stored.lower().startswith(value.lower())
    return value.lower() in stored.lower()


def query_matches(record: dict[str, Any], query: str) -> bool:
    """An encoded query without ORDERBY: ^ joins conditions (AND), ^OR joins one to the one before (OR)."""
    groups: list[list[str]] = []
    for part in query.split("^"):
        if part.startswith("OR") and groups:
            groups[-1].append(part[2:])
        elif part:
            groups.append([part])
    return all(any(condition_holds(record, c) for c in group) for group in groups)


def build() -> FakeCrm:
    crm = FakeCrm(
        "ServiceNow",
        unauthorized=lambda: error(401, "User Not Authenticated", "Required to provide Auth information"),
        oauth=OAuthSettings(token_path="/oauth_token.do", expires_in=1799, token_extra={"scope": "useraccount"}),
        error_body=lambda status, message: {"error": {"message": message, "detail": ""}, "status": "failure"},
    )

    def new_contact(body: dict[str, Any]) -> str:
        sys_id = uuid.uuid4().hex
        first, last = body.get("first_name") or "", body.get("last_name") or ""
        crm.records[sys_id] = {
            "sys_id": sys_id,
            "name": f"{first} {last}".strip(),
            "first_name": first,
            "last_name": last,
            "title": body.get("title") or "",
            "email": body.get("email") or "",
            "phone": body.get("phone") or "",
            "mobile_phone": body.get("mobile_phone") or "",
            "account": {"link": f"{INSTANCE}/api/now/table/customer_account/{ACCOUNT}", "value": ACCOUNT},
            "sys_created_on": "2026-11-25 10:00:00",
        }
        return sys_id

    for p in PEOPLE:
        new_contact(
            {
                "first_name": p.first,
                "last_name": p.last,
                "title": p.title,
                "email": p.email,
                "phone": STORED[p.first],
                "mobile_phone": p.mobile,
            }
        )

    @crm.route("GET", "/api/now/contact")
    async def contacts(request: web.Request) -> web.Response:
        query, _, order = request.query.get("sysparm_query", "").partition("^ORDERBY")
        hits = [r for r in crm.records.values() if query_matches(r, query)]
        if order:
            hits.sort(key=lambda r: str(r.get(order, "")))
        offset = int(request.query.get("sysparm_offset", 0))
        limit = int(request.query.get("sysparm_limit", 10000))
        return web.json_response({"result": hits[offset : offset + limit]})

    @crm.route("GET", "/api/now/contact/{id}")
    async def contact(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return error(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
        return web.json_response({"result": record})

    @crm.route("POST", "/api/now/contact")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        crm.write("contacts", body)
        return web.json_response({"result": crm.records[new_contact(body)]}, status=201)

    @crm.route("POST", "/api/sn_customerservice/case")
    async def create_case(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("contact") not in crm.records:
            return error(400, "Invalid contact", "The contact is not a customer_contact")
        crm.write("calls", body)
        case = {"sys_id": uuid.uuid4().hex, "number": f"CS{crm.new_id():07d}", "state": "1", **body}
        return web.json_response({"result": case}, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "instance": "northwind",
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "api_url": crm.url,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/customer_contact.do?sys_id={contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [case] = crm.written["calls"]
    assert (case["contact"], case["contact_type"]) == (contact_id, "phone")
    assert case["short_description"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in case["description"] and "Duration: 1:35" in case["description"]
    assert f"Start: {start:%Y-%m-%d %H:%M:%S} UTC" in case["description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace.hopper@example.com",
        "phone": "+442071838750",
    }

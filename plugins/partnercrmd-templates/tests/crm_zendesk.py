"""Zendesk Support reproduced from its API documentation.

Follows https://developer.zendesk.com/api-reference/ and Zendesk's own OpenAPI description
(../shared/data/openapi/zendesk-support/openapi.yaml, which the catalogue test holds this reproduction's traffic
to): Users (GET /api/v2/users/search?query= matching names, emails and phone numbers, 100 a page, answering
{"users": [...]} with offset pagination's "next_page", "previous_page", "count"
(https://developer.zendesk.com/api-reference/introduction/pagination/#using-offset-pagination);
GET /api/v2/users/{id} -> {"user"}; POST /api/v2/users {"user": {name, email, role, identities}} -> 201 {"user"},
a phone_number identity becoming the user's phone, a key Create User does not take refused with 400), the Talk
Partner Edition API (POST /api/v2/channels/voice/tickets with via_id 45/46 and the Create Ticket fields ->
201 {"ticket"} as a ticket object: via, description from the comment) and API-token authentication:
Basic base64("{email}/token:{api_token}"); a wrong one gets 401 {"error": "Couldn't authenticate you"}.

Live calls follow the Talk Partner Edition pages: POST /api/v2/calls (the call object's mandatory
fields app_id, from_line, to_line, call_started_at, direction, as "Creating a call record in Zendesk"
shows them, top level) -> 201 {"call": {...}}; PATCH /api/v2/calls/{id} with fields of the Calls
reference (agent_id, wait_time, hold_time, talk_time, call_ended_at, completion_status), 404 for an
unknown call; POST /api/v2/channels/voice/agents/{agent_id}/users/{user_id}/display -> 200 "" or 404
for an unknown agent or user, as the Support OpenAPI description's OpenUsersProfileInAgentBrowser
(test_templates_call_events.py checks the route against that file). Everything taken is in
written["live"] as (what, call id or user id, body), in order.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, same_number

EMAIL = "agent@northwind.example"
TOKEN = "zd-token-6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"
SECRETS = ("api_token",)
APP_ID = 735264019863524
AGENT_ID = 385473779372
DISPLAY_USER = "/api/v2/channels/voice/agents/{agent_id}/users/{user_id}/display"
CALL_FIELDS = {
    "agent_id": int,
    "app_id": int,
    "call_ended_at": str,
    "call_started_at": str,
    "completion_status": str,
    "customer_id": int,
    "direction": str,
    "from_line": str,
    "hold_time": int,
    "talk_time": int,
    "to_line": str,
    "wait_time": int,
}
COMPLETION = {"completed", "abandoned_in_queue", "abandoned_in_ivr", "abandoned_in_voicemail", "abandoned_on_hold"}
ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
USER_CREATE_KEYS = {"name", "email", "role", "identities", "external_id", "organization_id", "organization"}
"""The keys of Create User's user object (its description's UserCreateInput, less custom_role_id)."""
COMPANY = False
"""A user's organisation is another resource (organization_id); the template shows no company."""


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def build() -> FakeCrm:
    crm = FakeCrm(
        "Zendesk",
        unauthorized=lambda: web.json_response({"error": "Couldn't authenticate you"}, status=401),
        static_credentials={basic(f"{EMAIL}/token", TOKEN)},
    )

    def new_user(name: str, email: str, phone: str) -> int:
        user_id = 360000000000 + crm.new_id()
        record: dict[str, Any] = {
            "id": user_id,
            "url": f"{crm.url if crm.server else ''}/api/v2/users/{user_id}.json",
            "name": name,
            "role": "end-user",
            "verified": True,
            "notes": "",
            "user_fields": {},
            "created_at": "2026-11-25T10:00:00Z",
        }
        # Zendesk's description types email and phone as strings (not nullable): a user without one has no key.
        if email:
            record["email"] = email
        if phone:
            record["phone"] = phone
        crm.records[str(user_id)] = record
        return user_id

    for p in PEOPLE:
        new_user(p.name, p.email, p.phone)

    @crm.route("GET", "/api/v2/users/search")
    async def search(request: web.Request) -> web.Response:
        query = request.query["query"]
        words = query.lower().split()
        hits = [
            r
            for r in crm.records.values()
            if same_number(query, r.get("phone", ""))
            or all(any(w in str(r.get(k, "")).lower() for k in ("name", "email")) for w in words)
        ]
        per_page = 100  # Search Users takes no per_page
        page = int(request.query.get("page", 1))
        chunk = hits[(page - 1) * per_page : page * per_page]
        following = None
        if page * per_page < len(hits):
            following = str(request.url.update_query({"page": str(page + 1)}))
        return web.json_response({"users": chunk, "next_page": following, "previous_page": None, "count": len(hits)})

    @crm.route("GET", "/api/v2/users/{id}")
    async def get(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return web.json_response({"error": "RecordNotFound", "description": "Not found"}, status=404)
        return web.json_response({"user": record})

    @crm.route("POST", "/api/v2/users")
    async def create(request: web.Request) -> web.Response:
        body = (await request.json())["user"]
        unknown = sorted(set(body) - USER_CREATE_KEYS)
        if unknown or not body.get("name"):
            return web.json_response(
                {"error": "RecordInvalid", "description": f"Record validation errors: {unknown or 'name'}"}, status=400
            )
        crm.write("contacts", body)
        phones = [i["value"] for i in body.get("identities", []) if i.get("type") == "phone_number"]
        user_id = new_user(body["name"], body.get("email", ""), phones[0] if phones else "")
        return web.json_response({"user": crm.records[str(user_id)]}, status=201)

    @crm.route("POST", "/api/v2/channels/voice/tickets")
    async def voice_ticket(request: web.Request) -> web.Response:
        ticket = (await request.json())["ticket"]
        if ticket.get("via_id") not in (44, 45, 46):
            return web.json_response(
                {"error": "InvalidValue", "description": "via_id must be 44, 45 or 46"}, status=422
            )
        if str(ticket.get("requester_id")) not in crm.records:
            return web.json_response({"error": "RecordInvalid", "description": "Requester is invalid"}, status=422)
        crm.write("calls", ticket)
        # The answer is a ticket object: comment and via_id are write-only (the comment becomes the description,
        # via_id the via object).
        made = {k: v for k, v in ticket.items() if k not in ("comment", "via_id")}
        made |= {
            "id": crm.new_id(),
            "description": ticket.get("comment", {}).get("body", ""),
            "via": {"channel": "voice", "source": {"rel": "inbound" if ticket["via_id"] != 46 else "outbound"}},
        }
        return web.json_response({"ticket": made}, status=201)

    calls: dict[int, dict[str, Any]] = {}

    def invalid(what: str) -> web.Response:
        return web.json_response({"error": "RecordInvalid", "description": what}, status=422)

    def check_fields(body: dict[str, Any]) -> str:
        for key, value in body.items():
            kind = CALL_FIELDS.get(key)
            if kind is None or not isinstance(value, kind) or isinstance(value, bool):
                return f"{key}: not a field of a call, or not a {kind.__name__ if kind else 'known'} value"
        for key in ("call_started_at", "call_ended_at"):
            if key in body and not ISO.match(body[key]):
                return f"{key}: not ISO 8601"
        if "completion_status" in body and body["completion_status"] not in COMPLETION:
            return "completion_status"
        return ""

    @crm.route("POST", "/api/v2/calls")
    async def create_call(request: web.Request) -> web.Response:
        body = await request.json()
        missing = [k for k in ("app_id", "from_line", "to_line", "call_started_at", "direction") if k not in body]
        problem = f"missing {', '.join(missing)}" if missing else check_fields(body)
        if not problem and (body["app_id"] != APP_ID or body["direction"] not in ("inbound", "outbound")):
            problem = "app_id or direction"
        if not problem and not all(E164.match(body[k]) for k in ("from_line", "to_line")):
            problem = "from_line and to_line are E.164 numbers"
        if problem:
            return invalid(problem)
        call_id = 9000000 + crm.new_id()
        calls[call_id] = dict(body)
        crm.write("live", {"what": "create", "id": call_id, "body": body})
        return web.json_response({"call": {"id": call_id, **body}}, status=201)

    @crm.route("PATCH", "/api/v2/calls/{id}")
    async def update_call(request: web.Request) -> web.Response:
        call_id = int(request.match_info["id"])
        if call_id not in calls:
            return web.json_response({"error": "RecordNotFound", "description": "Not found"}, status=404)
        body = await request.json()
        problem = check_fields(body) or ("app_id cannot change" if "app_id" in body else "")
        if problem:
            return invalid(problem)
        calls[call_id].update(body)
        crm.write("live", {"what": "update", "id": call_id, "body": body})
        return web.json_response({"call": {"id": call_id, **calls[call_id]}})

    @crm.route("POST", DISPLAY_USER)
    async def display_user(request: web.Request) -> web.Response:
        agent, user = request.match_info["agent_id"], request.match_info["user_id"]
        if agent != str(AGENT_ID) or user not in crm.records:
            return web.json_response("", status=404)
        crm.write("live", {"what": "display", "id": int(user), "body": {}})
        return web.json_response("")

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"subdomain": "northwind", "email": EMAIL, "api_token": TOKEN, "api_url": crm.url}


def live_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "app_id": str(APP_ID), "agent_id": str(AGENT_ID)}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {
        "subdomain": "northwind",
        "email": EMAIL,
        "api_token": "zd-token-revoked-0000000000000000",
        "api_url": crm.url,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://northwind.zendesk.com/agent/users/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [ticket] = crm.written["calls"]
    assert (ticket["via_id"], ticket["requester_id"], ticket["status"]) == (45, int(contact_id), "solved")
    assert ticket["subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    body = ticket["comment"]["body"]
    assert ticket["comment"]["public"] is False and "Wants a quote for 40 chairs." in body
    assert f"Start: {start:%Y-%m-%d %H:%M:%S} UTC" in body and "Duration: 1:35" in body


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "name": "Grace Hopper",
        "email": "grace.hopper@example.com",
        "role": "end-user",
        "identities": [{"type": "phone_number", "value": "+442071838750"}],
    }

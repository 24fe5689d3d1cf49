"""Pipedrive reproduced from its API v1 documentation.

Follows https://developers.pipedrive.com/docs/api/v1: Persons (GET /v1/persons/search answering
{"success", "data": {"items": [{"result_score", "item": {...phones, emails, organization}}]},
"additional_data": {"pagination": {"start", "limit", "more_items_in_collection"}}}; partial matches
of the term unless exact_match; GET /v1/persons/{id} with phone/email lists of {label, value, primary};
POST /v1/persons), CallLogs (POST /v1/callLogs: to_phone_number, outcome, start_time and end_time
required; the new log's id is a string) and API tokens in the x-api-token header. A wrong token
gets 401 {"success": false, "error": "unauthorized access", "errorCode": 401}.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, digits

TOKEN = "pd-api-token-0123456789abcdef0123456789abcdef"
SECRETS = ("api_token",)
REQUIRED_CALL_FIELDS = ("to_phone_number", "outcome", "start_time", "end_time")


def build() -> FakeCrm:
    crm = FakeCrm(
        "Pipedrive",
        unauthorized=lambda: web.json_response(
            {
                "success": False,
                "error": "unauthorized access",
                "errorCode": 401,
                "error_info": "Please check developers.pipedrive.com",
            },
            status=401,
        ),
        static_credentials={TOKEN},
        credential_header="x-api-token",
    )

    def new_person(
        name: str, first: str, last: str, phones: list[dict[str, Any]], emails: list[dict[str, Any]], org: str = ""
    ) -> int:
        person_id = crm.new_id()
        crm.records[str(person_id)] = {
            "id": person_id,
            "name": name,
            "first_name": first,
            "last_name": last,
            "phone": phones or [{"value": "", "primary": True}],
            "email": emails or [{"value": "", "primary": True}],
            "org_name": org or None,
            "org_id": {"name": org, "value": 7} if org else None,
        }
        return person_id

    for p in PEOPLE:
        phones = [{"label": "work", "value": p.phone, "primary": True}]
        if p.mobile:
            phones.append({"label": "mobile", "value": p.mobile, "primary": False})
        new_person(p.name, p.first, p.last, phones, [{"label": "work", "value": p.email, "primary": True}], p.company)

    def item(record: dict[str, Any]) -> dict[str, Any]:
        org = {"id": 7, "name": record["org_name"], "address": None} if record["org_name"] else None
        return {
            "result_score": 0.92,
            "item": {
                "id": record["id"],
                "type": "person",
                "name": record["name"],
                "phones": [p["value"] for p in record["phone"] if p["value"]],
                "emails": [e["value"] for e in record["email"] if e["value"]],
                "visible_to": 3,
                "owner": {"id": 1},
                "organization": org,
                "custom_fields": [],
                "notes": [],
            },
        }

    @crm.route("GET", "/api/v1/persons/search")
    async def search(request: web.Request) -> web.Response:
        term = request.query["term"]
        fields = request.query.get("fields", "name,email,phone").split(",")
        if len(term) < 2:
            return web.json_response(
                {"success": False, "error": "Search term must be at least 2 characters long"}, status=400
            )

        def hit(record: dict[str, Any]) -> bool:
            if "phone" in fields and digits(term) and any(digits(term) in digits(p["value"]) for p in record["phone"]):
                return True
            if "name" in fields and term.lower() in record["name"].lower():
                return True
            return "email" in fields and any(term.lower() in e["value"].lower() for e in record["email"])

        hits = [r for r in crm.records.values() if hit(r)]
        start, limit = int(request.query.get("start", 0)), int(request.query.get("limit", 100))
        page = hits[start : start + limit]
        more = start + limit < len(hits)
        pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
        if more:
            pagination["next_start"] = start + limit
        return web.json_response(
            {"success": True, "data": {"items": [item(r) for r in page]}, "additional_data": {"pagination": pagination}}
        )

    @crm.route("GET", "/api/v1/persons/{id}")
    async def get(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return web.json_response({"success": False, "error": "Person not found", "errorCode": 404}, status=404)
        return web.json_response({"success": True, "data": record})

    @crm.route("POST", "/api/v1/persons")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("name"):
            return web.json_response({"success": False, "error": "Name must be given.", "errorCode": 400}, status=400)
        crm.write("contacts", body)
        person_id = new_person(
            body["name"],
            body.get("first_name", ""),
            body.get("last_name", ""),
            body.get("phone", []),
            body.get("email", []),
        )
        return web.json_response({"success": True, "data": crm.records[str(person_id)]}, status=201)

    @crm.route("POST", "/api/v1/callLogs")
    async def call_logs(request: web.Request) -> web.Response:
        body = await request.json()
        missing = [k for k in REQUIRED_CALL_FIELDS if not body.get(k)]
        if missing:
            return web.json_response(
                {"success": False, "error": f"{missing[0]} is required", "errorCode": 400}, status=400
            )
        if str(body.get("person_id")) not in crm.records:
            return web.json_response({"success": False, "error": "Person not found", "errorCode": 404}, status=404)
        crm.write("calls", body)
        return web.json_response({"success": True, "data": {"id": f"8a7c{crm.new_id()}", **body}}, status=200)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"company_domain": "northwind", "api_token": TOKEN, "api_url": f"{crm.url}/api"}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {
        "company_domain": "northwind",
        "api_token": "pd-not-the-right-token-9876543210",
        "api_url": f"{crm.url}/api",
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://northwind.pipedrive.com/person/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [log] = crm.written["calls"]
    assert log["person_id"] == int(contact_id)
    assert (log["outcome"], log["duration"]) == ("connected", "95")
    assert (log["from_phone_number"], log["to_phone_number"]) == ("+44 20 7946 0958", "+44 20 7946 0000")
    assert log["start_time"] == start.strftime("%Y-%m-%d %H:%M:%S")
    assert log["end_time"] == (start + timedelta(seconds=95)).strftime("%Y-%m-%d %H:%M:%S")
    assert "Wants a quote for 40 chairs." in log["note"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "name": "Grace Hopper",
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone": [{"value": "020 7183 8750", "primary": True, "label": "work"}],
        "email": [{"value": "grace.hopper@example.com", "primary": True, "label": "work"}],
    }

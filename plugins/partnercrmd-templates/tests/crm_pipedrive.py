"""Pipedrive reproduced from its documentation and its own OpenAPI descriptions (API v2 for persons, v1 for calls).

Follows https://developers.pipedrive.com/docs/api/v1 and Pipedrive's descriptions (../shared/data/openapi/
pipedrive/v2.yaml and v1.yaml, which the catalogue test holds this reproduction's traffic to): Persons in API v2
(GET /api/v2/persons/search answering {"success", "data": {"items": [{"result_score", "item": {id, type, name,
phones, emails, visible_to, owner, organization {id, name}, custom_fields, notes}}]}, "additional_data":
{"next_cursor"}} with cursor pagination (`limit`, `cursor`; next_cursor null on the last page, as the
description's text says); `fields` one of phone, name, email, notes, custom_fields; partial matches of the term
unless exact_match; GET /api/v2/persons/{id} with `phones`/`emails` as lists of {value, primary, label} and the
organisation as `org_id` alone; POST /api/v2/persons answering 200 with the person), the v2 migration guide
(https://pipedrive.readme.io/docs/pipedrive-api-v2-migration-guide: RFC 3339 timestamps, strict input: an
unknown or mistyped field is a 400), CallLogs in API v1 (POST /api/v1/callLogs: to_phone_number, outcome,
start_time and end_time required; the new log's id is a string) and API tokens in the x-api-token header. A wrong
token gets 401 {"success": false, "error": "unauthorized access", "errorCode": 401}.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, digits

TOKEN = "pd-api-token-0123456789abcdef0123456789abcdef"
SECRETS = ("api_token",)
REQUIRED_CALL_FIELDS = ("to_phone_number", "outcome", "start_time", "end_time")
SEARCH_FIELDS = ("custom_fields", "email", "notes", "phone", "name")
NEW_PERSON_FIELDS = {"name": str, "owner_id": int, "org_id": int, "emails": list, "phones": list, "visible_to": int}
CREATED = "2026-11-25T10:00:00Z"
ORG_ID = 7


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
    organisations: dict[int, str] = {}

    def bad_request(error: str) -> web.Response:
        return web.json_response({"success": False, "error": error, "errorCode": 400}, status=400)

    def new_person(name: str, phones: list[dict[str, Any]], emails: list[dict[str, Any]], org: str = "") -> int:
        person_id = crm.new_id()
        first, _, last = name.partition(" ")
        record: dict[str, Any] = {
            "id": person_id,
            "name": name,
            "first_name": first,
            "last_name": last,
            "owner_id": 1,
            "add_time": CREATED,
            "update_time": CREATED,
            "phones": phones,
            "emails": emails,
            "is_deleted": False,
            "visible_to": 3,
            "label_ids": [],
            "custom_fields": {},
        }
        if org:  # a person without an organisation has no org_id
            if org not in organisations.values():
                organisations[ORG_ID + len(organisations)] = org
            record["org_id"] = next(i for i, n in organisations.items() if n == org)
        crm.records[str(person_id)] = record
        return person_id

    for p in PEOPLE:
        phones = [{"label": "work", "value": p.phone, "primary": True}]
        if p.mobile:
            phones.append({"label": "mobile", "value": p.mobile, "primary": False})
        new_person(p.name, phones, [{"label": "work", "value": p.email, "primary": True}], p.company)

    def item(record: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": record["id"],
            "type": "person",
            "name": record["name"],
            "phones": [p["value"] for p in record["phones"] if p["value"]],
            "emails": [e["value"] for e in record["emails"] if e["value"]],
            "visible_to": record["visible_to"],
            "owner": {"id": record["owner_id"]},
            "custom_fields": [],
            "notes": [],
        }
        if "org_id" in record:
            found["organization"] = {"id": record["org_id"], "name": organisations[record["org_id"]]}
        return {"result_score": 0.92, "item": found}

    @crm.route("GET", "/api/v2/persons/search")
    async def search(request: web.Request) -> web.Response:
        term = request.query["term"]
        field = request.query.get("fields")
        if field is not None and field not in SEARCH_FIELDS:
            return bad_request(f"fields must be one of {', '.join(SEARCH_FIELDS)}")
        fields = [field] if field else list(SEARCH_FIELDS)
        if len(term) < 2:
            return bad_request("Search term must be at least 2 characters long")

        def hit(record: dict[str, Any]) -> bool:
            if "phone" in fields and digits(term) and any(digits(term) in digits(p["value"]) for p in record["phones"]):
                return True
            if "name" in fields and term.lower() in record["name"].lower():
                return True
            return "email" in fields and any(term.lower() in e["value"].lower() for e in record["emails"])

        hits = [r for r in crm.records.values() if hit(r)]
        # The cursor is opaque to clients; here it is the position of the next item, base64-encoded.
        cursor = request.query.get("cursor")
        start = json.loads(base64.urlsafe_b64decode(cursor))["start"] if cursor else 0
        limit = int(request.query.get("limit", 100))
        following = start + limit
        next_cursor = (
            base64.urlsafe_b64encode(json.dumps({"start": following}).encode()).decode()
            if following < len(hits)
            else None
        )
        return web.json_response(
            {
                "success": True,
                "data": {"items": [item(r) for r in hits[start:following]]},
                "additional_data": {"next_cursor": next_cursor},
            }
        )

    @crm.route("GET", "/api/v2/persons/{id}")
    async def get(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return web.json_response({"success": False, "error": "Person not found", "errorCode": 404}, status=404)
        return web.json_response({"success": True, "data": record})

    @crm.route("POST", "/api/v2/persons")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        for key, value in body.items():  # API v2 validates its input strictly (the migration guide)
            kind = NEW_PERSON_FIELDS.get(key)
            if kind is None or not isinstance(value, kind):
                return bad_request(f"Unknown or invalid field: {key}")
        if not body.get("name"):
            return bad_request("Name must be given.")
        crm.write("contacts", body)
        person_id = new_person(body["name"], body.get("phones", []), body.get("emails", []))
        return web.json_response({"success": True, "data": crm.records[str(person_id)]})

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
        answer = {"id": f"8a7c{crm.new_id()}", "has_recording": False, "company_id": 5, **body}
        return web.json_response({"success": True, "data": answer}, status=200)

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
        "phones": [{"value": "020 7183 8750", "primary": True, "label": "work"}],
        "emails": [{"value": "grace.hopper@example.com", "primary": True, "label": "work"}],
    }

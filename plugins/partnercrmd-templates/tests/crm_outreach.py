"""Outreach reproduced from its API v2 documentation.

Follows https://developers.outreach.io/api/reference/tag/Phone-Number/ (GET /api/v2/phoneNumbers with
filter[number]: the prospects' phone numbers, `number` in E.164 and `rawNumber` as typed, each with
relationships.prospect.data {type, id}; Outreach makes them from a prospect's workPhones, mobilePhones, homePhones),
.../tag/Prospect/ (GET /api/v2/prospects/{id}: {"data"}, 404 {"errors": [{"id", "title", "detail"}]}; POST
/api/v2/prospects {"data": {"type": "prospect", "attributes"}} -> 201), .../tag/Call/ (POST /api/v2/calls {"data":
{"type": "call", "attributes": {direction, outcome, from, to, dialedAt, completedAt, note}, "relationships":
{"prospect": {"data": {"type": "prospect", "id"}}}}} -> 201; 422 for an unknown prospect),
https://developers.outreach.io/api/making-requests/ (JSON:API bodies as application/vnd.api+json; filter[x]=value,
an exact match) and https://developers.outreach.io/api/oauth/ (authorisation code at /oauth/authorize and
/oauth/token with the client secret; access tokens of two hours and refresh tokens). Held to
../shared/data/openapi/outreach/outreach.oas.json (vendor_contracts.py; Outreach's generated description, tier V).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import phonenumbers
from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

SECRETS = ("client_secret", "refresh_token")
GRANT = "refresh_token"
ABSENT = ("SearchByName",)
"""Outreach's filters compare a whole attribute and AND together: no one request finds a first or a last name."""
STAMP = "2026-11-25T10:00:00.000Z"
JSON_API = "application/vnd.api+json"
PHONE_KINDS = {"workPhones": "work", "mobilePhones": "mobile", "homePhones": "home"}


def error(status: int, title: str, detail: str) -> web.Response:
    body = {"errors": [{"id": title.lower().replace(" ", "_"), "title": title, "detail": detail}]}
    return web.json_response(body, status=status, content_type=JSON_API)


def e164(number: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def build() -> FakeCrm:
    crm = FakeCrm(
        "Outreach",
        unauthorized=lambda: error(401, "Unauthorized", "The access token is invalid or has expired."),
        oauth=OAuthSettings(expires_in=7200, secret_required=True),
        error_body=lambda status, message: {
            "errors": [{"id": "rateLimitExceeded", "title": message, "detail": message}]
        },
        error_content_type=JSON_API,
    )
    phones: dict[int, dict[str, Any]] = {}

    def new_prospect(attributes: dict[str, Any], region: str) -> int:
        prospect_id = crm.new_id()
        attributes = {**attributes, "createdAt": STAMP, "updatedAt": STAMP}
        attributes["name"] = " ".join(filter(None, [attributes.get("firstName"), attributes.get("lastName")]))
        crm.records[str(prospect_id)] = {"type": "prospect", "id": prospect_id, "attributes": attributes}
        for key, kind in PHONE_KINDS.items():
            for raw in attributes.get(key, []):
                phone_id = 50000 + crm.new_id()
                phones[phone_id] = {
                    "type": "phoneNumber",
                    "id": phone_id,
                    "attributes": {"number": e164(raw, region), "rawNumber": raw, "phoneType": kind},
                    "relationships": {"prospect": {"data": {"type": "prospect", "id": prospect_id}}},
                }
        return prospect_id

    for p in PEOPLE:
        seeded: dict[str, Any] = {
            "firstName": p.first,
            "lastName": p.last,
            "emails": [p.email],
            "workPhones": [p.phone],
        }
        if p.mobile:
            seeded["mobilePhones"] = [p.mobile]
        if p.company:
            seeded["company"] = p.company
        if p.title:
            seeded["title"] = p.title
        new_prospect(seeded, p.region)

    @crm.route("GET", "/api/v2/phoneNumbers")
    async def phone_numbers(request: web.Request) -> web.Response:
        wanted = request.query.get("filter[number]")
        found = [p for p in phones.values() if wanted is None or p["attributes"]["number"] == wanted]
        size = int(request.query.get("page[size]", 50))
        return web.json_response({"data": found[:size]}, content_type=JSON_API)

    @crm.route("GET", "/api/v2/prospects/{id}")
    async def prospect(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return error(404, "Not Found", "Could not find 'prospect' with ID.")
        return web.json_response({"data": record}, content_type=JSON_API)

    @crm.route("POST", "/api/v2/prospects")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        crm.write("contacts", body)
        data = body.get("data", {})
        if data.get("type") != "prospect":
            return error(422, "Validation Error", "data.type must be prospect")
        prospect_id = new_prospect(copy.deepcopy(data.get("attributes", {})), "GB")
        return web.json_response({"data": crm.records[str(prospect_id)]}, status=201, content_type=JSON_API)

    @crm.route("POST", "/api/v2/calls")
    async def call(request: web.Request) -> web.Response:
        body = await request.json()
        data = body.get("data", {})
        target = data.get("relationships", {}).get("prospect", {}).get("data", {})
        if data.get("type") != "call" or str(target.get("id")) not in crm.records:
            return error(422, "Validation Error", "The call needs a prospect that exists.")
        crm.write("calls", body)
        answer = {
            "type": "call",
            "id": 70000 + crm.new_id(),
            "attributes": {**data["attributes"], "createdAt": STAMP, "updatedAt": STAMP, "state": "completed"},
            "relationships": data["relationships"],
        }
        return web.json_response({"data": answer}, status=201, content_type=JSON_API)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "refresh_token": crm.oauth.refresh_token,
        "api_url": crm.url,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://web.outreach.io/prospects/{contact_id}/overview"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [logged] = crm.written["calls"]
    data = logged["data"]
    assert data["relationships"] == {"prospect": {"data": {"type": "prospect", "id": int(contact_id)}}}
    attributes = data["attributes"]
    assert attributes["direction"] == "inbound" and attributes["outcome"] == "Answered"
    assert attributes["from"] == "+44 20 7946 0958" and attributes["to"] == "+44 20 7946 0000"
    assert attributes["dialedAt"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert attributes["note"].startswith("Incoming call: +44 20 7946 0958 -> +44 20 7946 0000\n\n")
    assert "Wants a quote for 40 chairs." in attributes["note"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "data": {
            "type": "prospect",
            "attributes": {
                "firstName": "Grace",
                "lastName": "Hopper",
                "emails": ["grace.hopper@example.com"],
                "workPhones": ["020 7183 8750"],
            },
        }
    }

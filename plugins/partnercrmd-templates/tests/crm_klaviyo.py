"""Klaviyo reproduced from its API documentation (revision 2026-07-15).

Follows https://developers.klaviyo.com/en/reference/get_profiles (GET /api/profiles: `filter` with
equals(phone_number,"…") among the allowed fields id, email, phone_number, external_id, _kx, created, updated, no
name; page[size] 1..100; answers {"data": [...], "links": {"self", "next"}}), .../get_profile (GET
/api/profiles/{id}: {"data"}; 404 for an unknown id), .../create_profile (POST /api/profiles {"data": {"type":
"profile", "attributes": {email, phone_number, first_name, last_name, organization, title}}}: an email, phone_number
or external_id is needed, phone_number in E.164; 201 {"data"}), .../create_event (POST /api/events {"data":
{"type": "event", "attributes": {properties, time, metric: {data: {type: metric, attributes: {name}}}, profile:
{data: {type: profile, id}}}}}: 202 with no body) and https://developers.klaviyo.com/en/reference/api_overview
(the `revision` header, required; `Authorization: Klaviyo-API-Key <private key>`, else 401 {"errors": [{"id",
"code": "not_authenticated", "title", "detail"}]}; JSON:API bodies as application/vnd.api+json; 429
with Retry-After). Klaviyo keeps a profile's phone_number in E.164. Held to
../shared/data/openapi/klaviyo/profiles.json and events.json (vendor_contracts.py; Klaviyo's own descriptions).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import phonenumbers
from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "pk_5b8e1f2a9c3d4e6f7a8b9c0d1e2f3a4b5c"
SECRETS = ("api_key",)
ABSENT = ("SearchByName",)
"""Klaviyo's profile filter has no name field (id, email, phone_number, external_id, _kx, created, updated)."""
STORED = {"Dana": "+442079460958", "Eamon": "+12127365000", "Zoë": "+33142685300"}
STAMP = "2026-11-25T10:00:00+00:00"
REVISION = "2026-07-15"
FILTER = re.compile(r"""^equals\(phone_number,["']([^"']*)["']\)$""")
JSON_API = "application/vnd.api+json"


def error(status: int, code: str, title: str, detail: str) -> web.Response:
    body = {"errors": [{"id": str(uuid.uuid4()), "code": code, "title": title, "detail": detail}]}
    return web.json_response(body, status=status, content_type=JSON_API)


def build() -> FakeCrm:
    crm = FakeCrm(
        "Klaviyo",
        unauthorized=lambda: error(
            401, "not_authenticated", "Authentication credentials were not provided.", "Missing or invalid private key."
        ),
        static_credentials={f"Klaviyo-API-Key {API_KEY}"},
        error_body=lambda status, message: {
            "errors": [{"id": str(uuid.uuid4()), "code": "throttled", "title": message, "detail": message}]
        },
        error_content_type=JSON_API,
    )

    def profile(record: dict[str, Any], base: str) -> dict[str, Any]:
        return {**record, "links": {"self": f"{base}/api/profiles/{record['id']}/"}}

    def new_profile(attributes: dict[str, Any]) -> str:
        profile_id = f"01J{crm.new_id():023d}"
        crm.records[profile_id] = {
            "type": "profile",
            "id": profile_id,
            "attributes": {**attributes, "created": STAMP, "updated": STAMP},
        }
        return profile_id

    for p in PEOPLE:
        seeded = {"email": p.email, "phone_number": STORED[p.first], "first_name": p.first, "last_name": p.last}
        if p.company:
            seeded["organization"] = p.company
        if p.title:
            seeded["title"] = p.title
        new_profile(seeded)

    def revised(request: web.Request) -> web.Response | None:
        if request.headers.get("revision") != REVISION:
            return error(400, "invalid", "Invalid input.", "The revision header is required.")
        return None

    @crm.route("GET", "/api/profiles")
    async def profiles(request: web.Request) -> web.Response:
        if (refused := revised(request)) is not None:
            return refused
        base = crm.url
        found = list(crm.records.values())
        if "filter" in request.query:
            match = FILTER.match(request.query["filter"])
            if match is None:
                return error(400, "invalid", "Invalid input.", "Invalid filter provided.")
            found = [r for r in found if r["attributes"].get("phone_number") == match[1]]
        size = int(request.query.get("page[size]", 20))
        answer = {"data": [profile(r, base) for r in found[:size]], "links": {"self": f"{base}{request.path_qs}"}}
        return web.json_response(answer, content_type=JSON_API)

    @crm.route("GET", "/api/profiles/{id}")
    async def one(request: web.Request) -> web.Response:
        if (refused := revised(request)) is not None:
            return refused
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return error(404, "not_found", "Not found.", "A profile with the given id does not exist.")
        answer = {"data": profile(record, crm.url), "links": {"self": f"{crm.url}{request.path}"}}
        return web.json_response(answer, content_type=JSON_API)

    @crm.route("POST", "/api/profiles")
    async def create(request: web.Request) -> web.Response:
        if (refused := revised(request)) is not None:
            return refused
        body = await request.json()
        crm.write("contacts", body)
        attributes = dict(body["data"]["attributes"])
        if not any(attributes.get(k) for k in ("email", "phone_number", "external_id")):
            return error(400, "invalid", "Invalid input.", "One of email, phone_number or external_id is required.")
        number = attributes.get("phone_number")
        if number is not None:
            try:
                valid = phonenumbers.is_valid_number(phonenumbers.parse(number, None)) and number.startswith("+")
            except phonenumbers.NumberParseException:
                valid = False
            if not valid:
                return error(400, "invalid", "Invalid input.", "Invalid phone number format (E.164).")
        profile_id = new_profile(attributes)
        answer = {"data": profile(crm.records[profile_id], crm.url), "links": {"self": f"{crm.url}/api/profiles/"}}
        return web.json_response(answer, status=201, content_type=JSON_API)

    @crm.route("POST", "/api/events")
    async def event(request: web.Request) -> web.Response:
        if (refused := revised(request)) is not None:
            return refused
        body = await request.json()
        attributes = body["data"]["attributes"]
        profile_id = attributes["profile"]["data"].get("id")
        if profile_id not in crm.records:
            return error(400, "invalid", "Invalid input.", "The profile does not exist.")
        crm.write("calls", body)
        return web.Response(status=202)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"api_key": API_KEY, "api_url": crm.url}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "pk_revoked00000000000000000000000000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://www.klaviyo.com/profile/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [event] = crm.written["calls"]
    attributes = event["data"]["attributes"]
    assert event["data"]["type"] == "event"
    assert attributes["profile"] == {"data": {"type": "profile", "id": contact_id, "attributes": {}}}
    assert attributes["metric"] == {"data": {"type": "metric", "attributes": {"name": "Phone call"}}}
    assert attributes["time"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    properties = attributes["properties"]
    assert properties["Subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert properties["Direction"] == "Inbound" and properties["DurationSeconds"] == 95
    assert "Wants a quote for 40 chairs." in properties["Notes"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "data": {
            "type": "profile",
            "attributes": {
                "email": "grace.hopper@example.com",
                "phone_number": "+442071838750",
                "first_name": "Grace",
                "last_name": "Hopper",
            },
        }
    }

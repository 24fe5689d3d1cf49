"""Twenty CRM reproduced from its REST API documentation and its generated core description.

Follows https://twenty.com/developers/section/api-and-webhooks/api and the core description Twenty generates
per workspace (the saved copy, schema v0.1): everything under /rest; GET /rest/people?filter=… where a filter is
`field[comparator]:value` and or(…)/and(…) combine them (eq compares the stored text, ilike is a
case-insensitive LIKE with % wildcards; string values in double quotes), depth=1 adding the related company,
answering {"data": {"people": [...]}}; GET /rest/people/{id} (a UUID) -> {"data": {"person"}}; POST
/rest/people -> 201 {"data": {"createPerson"}}; POST /rest/activities -> 201 {"data": {"createActivity"}} and
POST /rest/activityTargets -> 201 {"data": {"createActivityTarget"}} (a note linked to a person); API keys
as bearer tokens, 401 {"statusCode": 401, "message": "Token invalid.", "error": "Unauthorized"}. People here
wrote their numbers in international form, which `eq` needs. Held to
../shared/data/openapi/twenty/twenty_core.oas.json (vendor_contracts.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3b3Jrc3BhY2UifQ.twenty-key-signature"
SECRETS = ("api_key",)
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
STAMP = "2026-11-25T10:00:00.000Z"
CONDITION = re.compile(r'([A-Za-z.]+)\[(eq|ilike)\]:"((?:[^"\\]|\\.)*)"')


def problem(status: int, message: str, error: str) -> web.Response:
    return web.json_response({"statusCode": status, "message": message, "error": error}, status=status)


def _like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def build() -> FakeCrm:
    crm = FakeCrm(
        "Twenty",
        unauthorized=lambda: problem(401, "Token invalid.", "Unauthorized"),
        static_credentials={f"Bearer {API_KEY}"},
        error_body=lambda status, message: {"statusCode": status, "message": message, "error": message},
    )
    companies: dict[str, dict[str, Any]] = {}
    activities: dict[str, dict[str, Any]] = {}

    def new_person(body: dict[str, Any]) -> str:
        person_id = str(uuid.uuid4())
        crm.records[person_id] = {"id": person_id, "createdAt": STAMP, "updatedAt": STAMP, **body}
        return person_id

    for p in PEOPLE:
        company_id = None
        if p.company:
            company = companies.setdefault(p.company, {"id": str(uuid.uuid4()), "name": p.company})
            company_id = company["id"]
        person = {
            "name": {"firstName": p.first, "lastName": p.last},
            "email": p.email,
            "phone": STORED[p.first],
            "jobTitle": p.title,
            "city": "",
        }
        if company_id:
            person["companyId"] = company_id
        new_person(person)

    def shaped(person: dict[str, Any], depth: int) -> dict[str, Any]:
        if depth >= 1 and person.get("companyId"):
            company = next(c for c in companies.values() if c["id"] == person["companyId"])
            return {**person, "company": company}
        return person

    def field(person: dict[str, Any], path: str) -> str:
        value: Any = person
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return str(value or "")

    def matches(person: dict[str, Any], expression: str) -> bool:
        """or(c1,c2,…), and(…) or one condition, as the filter parameter's documentation describes."""
        expression = expression.strip()
        outer = re.fullmatch(r"(or|and)\((.*)\)", expression, re.DOTALL)
        if outer:
            found = [matches(person, m.group(0)) for m in CONDITION.finditer(outer.group(2))]
            return any(found) if outer.group(1) == "or" else all(found)
        condition = CONDITION.fullmatch(expression)
        if condition is None:
            raise web.HTTPBadRequest(reason="filter not reproduced")
        name, comparator, value = condition.groups()
        value = value.replace('\\"', '"')
        stored = field(person, name)
        return stored == value if comparator == "eq" else _like(value, stored)

    @crm.route("GET", "/rest/people")
    async def find_many(request: web.Request) -> web.Response:
        expression = request.query.get("filter", "")
        limit = int(request.query.get("limit", 60))
        depth = int(request.query.get("depth", 1))
        people = [p for p in crm.records.values() if not expression or matches(p, expression)]
        return web.json_response({"data": {"people": [shaped(p, depth) for p in people[:limit]]}})

    @crm.route("GET", "/rest/people/{id}")
    async def find_one(request: web.Request) -> web.Response:
        person = crm.records.get(request.match_info["id"])
        if person is None:
            return problem(404, "Record not found", "NotFoundException")
        return web.json_response({"data": {"person": shaped(person, int(request.query.get("depth", 1)))}})

    @crm.route("POST", "/rest/people")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        crm.write("contacts", body)
        person_id = new_person(dict(body))
        return web.json_response({"data": {"createPerson": crm.records[person_id]}}, status=201)

    @crm.route("POST", "/rest/activities")
    async def create_activity(request: web.Request) -> web.Response:
        body = await request.json()
        activity = {"id": str(uuid.uuid4()), "createdAt": STAMP, "updatedAt": STAMP, **body}
        activities[activity["id"]] = activity
        crm.write("activities", body)
        return web.json_response({"data": {"createActivity": activity}}, status=201)

    @crm.route("POST", "/rest/activityTargets")
    async def create_target(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("activityId") not in activities or body.get("personId") not in crm.records:
            return problem(400, "activityId and personId must name existing records", "Bad Request")
        crm.write("calls", {**activities[body["activityId"]], "personId": body["personId"]})
        target = {"id": str(uuid.uuid4()), "createdAt": STAMP, "updatedAt": STAMP, **body}
        return web.json_response({"data": {"createActivityTarget": target}}, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"api_key": API_KEY, "app_url": "https://crm.northwind.example", "api_url": f"{crm.url}/rest"}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "eyJhbGciOiJIUzI1NiJ9.revoked.0000000000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://crm.northwind.example/object/person/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [note] = crm.written["calls"]
    assert (note["personId"], note["type"]) == (contact_id, "Note")
    assert note["title"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in note["body"] and f"Start: {start:%Y-%m-%d %H:%M:%S} UTC" in note["body"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "name": {"firstName": "Grace", "lastName": "Hopper"},
        "email": "grace.hopper@example.com",
        "phone": "+442071838750",
    }

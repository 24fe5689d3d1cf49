"""Copper reproduced from its published Developer API documentation (no machine-readable description exists).

Follows these pages of https://developer.copper.com/:
- https://developer.copper.com/introduction/requests.html: every call carries X-PW-AccessToken (the API key),
  X-PW-Application: developer_api, X-PW-UserEmail (the key owner's address) and Content-Type: application/json;
  a call missing any of them, or whose key and email do not belong together, is refused (401). 180 requests a
  minute, then 429.
- https://developer.copper.com/people/list-people-search.html: POST /developer_api/v1/people/search, a JSON body
  of the listed criteria (ids, page_number, page_size, sort_by, sort_direction, name, phone_number, emails, ...;
  anything else is refused with 400 here), criteria ANDed, answering a list of people. How phone_number compares
  numbers is not documented: reproduced as Copper's own phone matching behaves for these seeds, the digits equal
  (the country code counts), and name as every word in the person's name.
- https://developer.copper.com/people/overview.html: a person's fields (id, name, first_name, last_name, title,
  company_name, emails[] {email, category}, phone_numbers[] {number, category}, date_created, ...); GET
  /people/{id} (404 for an unknown id), POST /people (name required), each answering the person.
- https://developer.copper.com/introduction/appendix.html: phone categories mobile, work, home, other; email
  categories work, personal, other (other categories are refused with 422).
- https://developer.copper.com/activities/overview.html: POST /activities with type, parent and details required,
  activity_date a Unix time, answering the activity; https://developer.copper.com/activities/list-activity-types.html:
  user activity types are Note (id 0) and the account's own Phone Call and Meeting ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, digits

API_KEY = "cu-7f3b9a1c5e8d2f4a6b0c9e7d"
OWNER = "dana@northwind.example"
SECRETS = ("api_key",)
ABSENT = ("Pop",)
"""Copper documents no address of a person in its web app: a Copper book offers no Open."""
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "212-736-5000", "Zoë": "+33 1 42 68 53 00"}
"""As these users typed them: international form, or national for the US office's own numbers."""
PHONE_CALL = 190711
"""This account's Phone Call activity type (each account's own id)."""
USER_ACTIVITY_TYPES = {0, PHONE_CALL, 190712}
SEARCH_CRITERIA = {
    "ids",
    "page_number",
    "page_size",
    "sort_by",
    "sort_direction",
    "name",
    "phone_number",
    "emails",
    "contact_type_ids",
    "assignee_ids",
    "company_ids",
    "tags",
    "city",
    "state",
    "postal_code",
    "country",
}
PERSON_FIELDS = {
    "name",
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "address",
    "assignee_id",
    "company_id",
    "company_name",
    "contact_type_id",
    "details",
    "emails",
    "phone_numbers",
    "socials",
    "tags",
    "title",
    "websites",
    "custom_fields",
}
PHONE_CATEGORIES = {"mobile", "work", "home", "other"}
EMAIL_CATEGORIES = {"work", "personal", "other"}
STAMP = 1764064800

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build() -> FakeCrm:
    @web.middleware
    async def documented_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Requests: the three X-PW headers and Content-Type on every call, the email the key's owner's."""
        headers = request.headers
        if headers.get("X-PW-AccessToken") == API_KEY and (
            headers.get("X-PW-Application") != "developer_api"
            or headers.get("X-PW-UserEmail") != OWNER
            or headers.get("Content-Type", "").split(";")[0] != "application/json"
        ):
            return web.json_response({"success": False, "status": 401, "message": "Invalid credentials"}, status=401)
        return await handler(request)

    crm = FakeCrm(
        "Copper",
        unauthorized=lambda: web.json_response(
            {"success": False, "status": 401, "message": "Invalid credentials"}, status=401
        ),
        static_credentials={API_KEY},
        credential_header="X-PW-AccessToken",
        error_body=lambda status, message: {"success": False, "status": status, "message": message},
    )
    crm.outer_middlewares.append(documented_headers)

    def unprocessable(message: str) -> web.Response:
        return web.json_response({"success": False, "status": 422, "message": message}, status=422)

    def new_person(body: dict[str, Any]) -> int:
        person_id = 27140000 + crm.new_id()
        first, _, last = body["name"].partition(" ")
        person: dict[str, Any] = {
            "id": person_id,
            "name": body["name"],
            "prefix": None,
            "first_name": first,
            "middle_name": None,
            "last_name": last or None,
            "suffix": None,
            "address": None,
            "assignee_id": None,
            "company_id": None,
            "company_name": None,
            "contact_type_id": None,
            "details": None,
            "emails": [],
            "phone_numbers": [],
            "socials": [],
            "tags": [],
            "title": None,
            "websites": [],
            "custom_fields": [],
            "date_created": STAMP,
            "date_modified": STAMP,
            "interaction_count": 0,
        }
        person.update(body)
        crm.records[str(person_id)] = person
        return person_id

    companies: dict[str, int] = {}
    for p in PEOPLE:
        seeded: dict[str, Any] = {
            "name": p.name,
            "title": p.title or None,
            "emails": [{"email": p.email, "category": "work"}],
            "phone_numbers": [{"number": STORED[p.first], "category": "work"}],
        }
        if p.mobile:
            seeded["phone_numbers"].append({"number": p.mobile, "category": "mobile"})
        if p.company:
            seeded["company_id"] = companies.setdefault(p.company, 9000000 + len(companies))
            seeded["company_name"] = p.company
        new_person(seeded)

    def matches(person: dict[str, Any], criteria: dict[str, Any]) -> bool:
        if "phone_number" in criteria:
            wanted = digits(str(criteria["phone_number"]))
            if not wanted or all(digits(n["number"]) != wanted for n in person["phone_numbers"]):
                return False
        if "name" in criteria:
            name = person["name"].lower()
            if not all(word in name for word in str(criteria["name"]).lower().split()):
                return False
        return True

    @crm.route("POST", "/developer_api/v1/people/search")
    async def search(request: web.Request) -> web.Response:
        criteria = await request.json()
        unknown = sorted(set(criteria) - SEARCH_CRITERIA)
        if unknown:
            return web.json_response(
                {"success": False, "status": 400, "message": f"Unknown search criteria: {', '.join(unknown)}"},
                status=400,
            )
        size = int(criteria.get("page_size", 20))
        page = int(criteria.get("page_number", 1))
        hits = [p for p in crm.records.values() if matches(p, criteria)]
        hits.sort(key=lambda p: str(p.get("first_name") or ""))  # sort_by's default: first_name
        return web.json_response(hits[(page - 1) * size : page * size])

    @crm.route("GET", "/developer_api/v1/people/{id}")
    async def fetch(request: web.Request) -> web.Response:
        person = crm.records.get(request.match_info["id"])
        if person is None:
            return web.json_response({"success": False, "status": 404, "message": "Resource not found"}, status=404)
        return web.json_response(person)

    @crm.route("POST", "/developer_api/v1/people")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = sorted(set(body) - PERSON_FIELDS)
        if unknown:
            return unprocessable(f"Unknown fields: {', '.join(unknown)}")
        if not body.get("name"):
            return unprocessable("name is required")
        if any(n.get("category") not in PHONE_CATEGORIES for n in body.get("phone_numbers", [])):
            return unprocessable("phone_numbers: category is one of mobile, work, home, other")
        if any(e.get("category") not in EMAIL_CATEGORIES for e in body.get("emails", [])):
            return unprocessable("emails: category is one of work, personal, other")
        crm.write("contacts", body)
        return web.json_response(crm.records[str(new_person(body))])

    @crm.route("POST", "/developer_api/v1/activities")
    async def activity(request: web.Request) -> web.Response:
        body = await request.json()
        if not all(body.get(k) is not None for k in ("type", "parent", "details")):
            return unprocessable("type, parent and details are required")
        kind, parent = body["type"], body["parent"]
        if kind.get("category") != "user" or kind.get("id") not in USER_ACTIVITY_TYPES:
            return unprocessable("type: only user activity types of this account can be created")
        if parent.get("type") != "person" or str(parent.get("id")) not in crm.records:
            return unprocessable("parent: no such person")
        if "activity_date" in body and not isinstance(body["activity_date"], int):
            return unprocessable("activity_date is a Unix timestamp")
        crm.write("calls", body)
        return web.json_response({"id": 3060000000 + crm.new_id(), "user_id": 1, "date_created": STAMP, **body})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {
        "email": OWNER,
        "api_key": API_KEY,
        "call_activity_type_id": PHONE_CALL,
        "api_url": f"{crm.url}/developer_api/v1",
    }


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "cu-revoked-00000000000000000"}


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [activity] = crm.written["calls"]
    assert activity["parent"] == {"type": "person", "id": int(contact_id)}
    assert activity["type"] == {"category": "user", "id": PHONE_CALL}
    assert activity["activity_date"] == int(start.timestamp())
    assert activity["details"].startswith("Incoming call: +44 20 7946 0958 -> +44 20 7946 0000")
    assert "Wants a quote for 40 chairs." in activity["details"] and "Duration: 1:35" in activity["details"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "name": "Grace Hopper",
        "phone_numbers": [{"number": "020 7183 8750", "category": "work"}],
        "emails": [{"email": "grace.hopper@example.com", "category": "work"}],
    }

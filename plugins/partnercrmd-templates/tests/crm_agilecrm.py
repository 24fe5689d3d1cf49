"""Agile CRM reproduced from its REST API documentation (the README of github.com/agilecrm/rest-api; no
machine-readable description is published).

Follows https://github.com/agilecrm/rest-api#authentication (HTTPS only; Basic authentication with the user's
email address and REST API key, the only credential accepted here, else 401; every request under
https://{domain}.agilecrm.com/dev/; JSON only when the request's Accept asks for application/json, XML otherwise,
as the README's examples show; "all data is case-sensitive"), #12-get-contact-by-id (GET dev/api/contacts/{id}:
the contact, or 204 with no body when there is none), #13-creating-a-contact (POST dev/api/contacts with the
contact's `properties`, first_name mandatory, each property {type SYSTEM|CUSTOM, name, subtype, value} with the
subtypes of the README's table: 400 for anything else; answers the new contact with its id),
#17-search-contactscompanies (GET dev/api/search with q, page_size and type, every one mandatory; type PERSON or
COMPANY; any other parameter is refused here; all default fields searched) and
#31-create-a-note-and-relate-that-to-contacts (POST dev/api/notes {subject, description, contact_ids}, subject and
description mandatory, each contact id an existing contact's; answers the note).
The search is reproduced as each word of q found in the contact's properties as typed (case-sensitive, as the
README says of all data); numbers are stored as these users typed them, in international form.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

EMAIL = "dana@northwind.example"
API_KEY = "agl4k8d9s7f6g5h4j3k2l1m0n9"
SECRETS = ("api_key",)
DOMAIN = "northwind"
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
"""As these users typed them: the international form."""
SEARCH_PARAMETERS = {"q", "page_size", "type"}
SUBTYPES = {
    "email": {"", "work", "personal"},
    "phone": {"", "work", "home", "mobile", "main", "home fax", "work fax", "other"},
    "address": {"", "home", "postal", "office"},
}
SYSTEM_NAMES = {"first_name", "last_name", "company", "title", "email", "phone", "address", "website", "image"}
CONTACT_KEYS = {"type", "tags", "lead_score", "contact_company_id", "star_value", "properties"}


def basic(email: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{key}".encode()).decode()


def build() -> FakeCrm:
    crm = FakeCrm(
        "Agile CRM",
        unauthorized=lambda: web.Response(status=401, text="Unauthorized"),
        static_credentials={basic(EMAIL, API_KEY)},
        error_body=lambda status, message: {"message": message},
    )

    @web.middleware
    async def json_only_when_asked(request: web.Request, handler: Any) -> web.StreamResponse:
        """Agile answers XML unless the request's Accept asks for application/json."""
        response: web.StreamResponse = await handler(request)
        if response.status == 200 and "application/json" not in request.headers.get("Accept", ""):
            return web.Response(text="<?xml version='1.0'?><contacts/>", content_type="application/xml")
        return response

    crm.outer_middlewares.append(json_only_when_asked)

    def new_contact(properties: list[dict[str, Any]]) -> dict[str, Any]:
        contact_id = 5716606839685000 + crm.new_id()
        contact = {
            "id": contact_id,
            "type": "PERSON",
            "created_time": 1764064800,
            "updated_time": 1764064800,
            "star_value": 0,
            "lead_score": 0,
            "tags": [],
            "properties": properties,
        }
        crm.records[str(contact_id)] = contact
        return contact

    for p in PEOPLE:
        properties = [
            {"type": "SYSTEM", "name": "first_name", "value": p.first},
            {"type": "SYSTEM", "name": "last_name", "value": p.last},
            {"type": "SYSTEM", "name": "email", "subtype": "work", "value": p.email},
            {"type": "SYSTEM", "name": "phone", "subtype": "work", "value": STORED[p.first]},
        ]
        if p.mobile:
            properties.append({"type": "SYSTEM", "name": "phone", "subtype": "mobile", "value": p.mobile})
        if p.company:
            properties.append({"type": "SYSTEM", "name": "company", "value": p.company})
        if p.title:
            properties.append({"type": "SYSTEM", "name": "title", "value": p.title})
        new_contact(properties)

    def matches(contact: dict[str, Any], q: str) -> bool:
        text = " ".join(str(p.get("value", "")) for p in contact["properties"])
        words = q.split()
        return bool(words) and all(word in text for word in words)

    def bad(message: str) -> web.Response:
        return web.json_response({"message": message}, status=400)

    def property_problem(prop: Any) -> str:
        if not isinstance(prop, dict) or set(prop) - {"type", "name", "subtype", "value"}:
            return f"a property is {{type, name, subtype, value}}: {prop!r}"
        if prop.get("type") == "SYSTEM":
            if prop.get("name") not in SYSTEM_NAMES:
                return f"no SYSTEM property {prop.get('name')!r}"
            if prop.get("subtype", "") not in SUBTYPES.get(prop["name"], {""}):
                return f"subtype {prop.get('subtype')!r} of {prop['name']}"
        elif prop.get("type") != "CUSTOM":
            return "a property's type is SYSTEM or CUSTOM"
        return ""

    @crm.route("GET", "/dev/api/search")
    async def search(request: web.Request) -> web.Response:
        given = set(request.query)
        if given != SEARCH_PARAMETERS:
            return bad(f"q, page_size and type are mandatory; got {sorted(given)}")
        if request.query["type"] not in ("PERSON", "COMPANY"):
            return bad("type should be PERSON or COMPANY")
        size = int(request.query["page_size"])
        hits = [
            c for c in crm.records.values() if c["type"] == request.query["type"] and matches(c, request.query["q"])
        ]
        return web.json_response(hits[:size])

    @crm.route("GET", "/dev/api/contacts/{id}")
    async def get(request: web.Request) -> web.Response:
        contact = crm.records.get(request.match_info["id"])
        return web.json_response(contact) if contact else web.Response(status=204)

    @crm.route("POST", "/dev/api/contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        properties = body.get("properties")
        if set(body) - CONTACT_KEYS or body.get("type", "PERSON") not in ("PERSON", "COMPANY"):
            return bad("the contact is in a wrong format")
        if not isinstance(properties, list) or not any(
            p.get("name") == "first_name" and p.get("value") for p in properties if isinstance(p, dict)
        ):
            return bad("first_name is mandatory")
        problems = [problem for problem in map(property_problem, properties) if problem]
        if problems:
            return bad(problems[0])
        crm.write("contacts", body)
        return web.json_response(new_contact(properties))

    @crm.route("POST", "/dev/api/notes")
    async def note(request: web.Request) -> web.Response:
        body = await request.json()
        if (
            set(body) - {"subject", "description", "contact_ids"}
            or not body.get("subject")
            or not body.get("description")
        ):
            return bad("subject and description are mandatory")
        if not body.get("contact_ids") or any(str(i) not in crm.records for i in body["contact_ids"]):
            return bad("contact_ids must name existing contacts")
        crm.write("calls", body)
        return web.json_response(
            {"id": crm.new_id(), "created_time": 1764064800, "entity_type": "note", "contacts": body["contact_ids"]}
            | {"subject": body["subject"], "description": body["description"]}
        )

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"domain": DOMAIN, "email": EMAIL, "api_key": API_KEY, "api_url": crm.url}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "agl-revoked-000000000000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://{DOMAIN}.agilecrm.com/#contact/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [note] = crm.written["calls"]
    assert note["contact_ids"] == [contact_id]
    assert note["subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in note["description"] and "Duration: 1:35" in note["description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "type": "PERSON",
        "properties": [
            {"type": "SYSTEM", "name": "first_name", "value": "Grace"},
            {"type": "SYSTEM", "name": "last_name", "value": "Hopper"},
            {"type": "SYSTEM", "name": "email", "subtype": "work", "value": "grace.hopper@example.com"},
            {"type": "SYSTEM", "name": "phone", "subtype": "work", "value": "020 7183 8750"},
        ],
    }

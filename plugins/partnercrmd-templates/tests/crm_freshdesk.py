"""Freshdesk reproduced from its API v2 documentation.

Follows https://developers.freshdesk.com/api/: List all contacts filtered by `phone` (an exact match on
the number as stored), Contact autocomplete (GET /api/v2/contacts/autocomplete?term= -> [{"id", "name"}]),
View and Create a contact, Create a ticket (source 3 = Phone, status 5 = Closed; 201 with the ticket),
Add a note to a ticket (POST /api/v2/tickets/[id]/notes, private), authentication (Basic with the API
key as user name and "X" as password; 401 {"code": "invalid_credentials", "message": ...}) and rate
limits: 429 with a Retry-After header in seconds.
Freshdesk users here wrote their numbers in international form, which the exact filter needs.

Freshdesk's description (../shared/data/openapi/freshdesk/openapi.yaml, Ballerina's, four paths) holds what it
covers: the contact list, a contact and creating a ticket (vendor_contracts.py adds the filters and ticket fields
the pages above document); autocomplete, creating a contact and ticket notes follow the pages alone.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "fd-apikey-sFhuY1bRh3v8n5qWx0z"
SECRETS = ("api_key",)
COMPANY = False
"""A contact's company is another resource (company_id); the template shows no company."""
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def build() -> FakeCrm:
    crm = FakeCrm(
        "Freshdesk",
        unauthorized=lambda: web.json_response(
            {"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}, status=401
        ),
        static_credentials={basic(API_KEY, "X")},
    )

    def new_contact(name: str, email: str, phone: str, title: str = "") -> int:
        contact_id = 43000000000 + crm.new_id()
        crm.records[str(contact_id)] = {
            "id": contact_id,
            "name": name,
            "email": email or None,
            "other_emails": [],
            "phone": phone or None,
            "mobile": None,
            "job_title": title or None,
            "company_id": None,
            "address": None,
            "description": None,
            "active": False,
            "created_at": "2026-11-25T10:00:00Z",
        }
        return contact_id

    for p in PEOPLE:
        new_contact(p.name, p.email, STORED[p.first], p.title)

    @crm.route("GET", "/api/v2/contacts")
    async def contacts(request: web.Request) -> web.Response:
        hits = list(crm.records.values())
        for key in ("phone", "mobile", "email"):
            if key in request.query:
                hits = [r for r in hits if r[key] == request.query[key]]
        return web.json_response(hits)

    @crm.route("GET", "/api/v2/contacts/autocomplete")
    async def autocomplete(request: web.Request) -> web.Response:
        term = request.query["term"].lower()
        hits = [r for r in crm.records.values() if any(w.startswith(term) for w in r["name"].lower().split())]
        return web.json_response([{"id": r["id"], "name": r["name"]} for r in hits])

    @crm.route("GET", "/api/v2/contacts/{id}")
    async def get(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return web.Response(status=404)
        return web.json_response(record)

    @crm.route("POST", "/api/v2/contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        if not (body.get("email") or body.get("phone") or body.get("mobile")):
            errors = [
                {"field": "email", "message": "Please fill at least 1 of email, mobile, phone", "code": "missing_field"}
            ]
            return web.json_response({"description": "Validation failed", "errors": errors}, status=400)
        crm.write("contacts", body)
        contact_id = new_contact(body["name"], body.get("email", ""), body.get("phone", ""))
        return web.json_response(crm.records[str(contact_id)], status=201)

    @crm.route("POST", "/api/v2/tickets")
    async def tickets(request: web.Request) -> web.Response:
        body = await request.json()
        if str(body.get("requester_id")) not in crm.records:
            errors = [
                {
                    "field": "requester_id",
                    "message": "There is no contact matching the given requester_id",
                    "code": "invalid_value",
                }
            ]
            return web.json_response({"description": "Validation failed", "errors": errors}, status=400)
        ticket_id = crm.new_id()
        crm.write("calls", {"id": ticket_id, **body})
        return web.json_response({"id": ticket_id, **body}, status=201)

    @crm.route("POST", "/api/v2/tickets/{id}/notes")
    async def notes(request: web.Request) -> web.Response:
        ticket_id = int(request.match_info["id"])
        if not any(t["id"] == ticket_id for t in crm.written.get("calls", [])):
            return web.json_response({"code": "access_denied", "message": "Ticket not found"}, status=404)
        body = await request.json()
        crm.write("notes", {"ticket_id": ticket_id, **body})
        return web.json_response(
            {"id": crm.new_id(), "ticket_id": ticket_id, "private": body.get("private", True), **body}, status=201
        )

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"domain": "northwind", "api_key": API_KEY, "api_url": crm.url}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {"domain": "northwind", "api_key": "fd-apikey-revoked-00000000", "api_url": crm.url}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    view = f"https://northwind.freshdesk.com/a/contacts/{contact_id}"
    return [view, f"{view}/edit"]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [ticket] = crm.written["calls"]
    assert (ticket["requester_id"], ticket["source"], ticket["status"]) == (int(contact_id), 3, 5)
    assert ticket["subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert ticket["description"] == "Inbound phone call of 00:01:35; the call is in the note."
    [note] = crm.written["notes"]
    assert (note["ticket_id"], note["private"]) == (ticket["id"], True)
    assert note["body"].startswith("Direction: Inbound<br>Caller: +44 20 7946 0958<br>")
    assert f"Start: {start:%Y-%m-%d %H:%M:%S} UTC" in note["body"]
    assert note["body"].endswith("<br>Wants a quote for 40 chairs.")


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {"name": "Grace Hopper", "email": "grace.hopper@example.com", "phone": "020 7183 8750"}

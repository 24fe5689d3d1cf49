"""Front reproduced from its Core API reference and OpenAPI description.

Follows https://dev.frontapp.com/reference/get-contact (GET /contacts/{contact_id}: the contact, ids crd_…),
https://dev.frontapp.com/docs/resource-aliases-1 (instead of an id, the contact's source and handle:
alt:phone:+15555550123, an exact match on the handle; no contact with that handle is a 404),
https://dev.frontapp.com/reference/create-contact (POST /contacts {name, handles: [{source, handle}]}, handles
required; 201 with the contact), https://dev.frontapp.com/reference/add-contact-note (POST
/contacts/{contact_id}/notes {author_id, body}, both required; 201 with the note and its author, a teammate),
https://dev.frontapp.com/docs/create-and-revoke-api-tokens (an API token sent as a bearer token) and
https://dev.frontapp.com/docs/rate-limiting (429 with Retry-After in seconds). Errors are Front's
{"_error": {"status", "title", "message"}}.
Front keeps phone handles in E.164. Its contact list filters only by update time, so there is no name search
(ABSENT), and the Front app has no documented address of a contact, so there is no pop (ABSENT).
Held to ../shared/data/openapi/front/core-api.json (vendor_contracts.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzY29wZXMiOlsiY29udGFjdHMiXX0.c2lnbmF0dXJlLW9mLWZyb250LXRva2Vu"
SECRETS = ("api_token",)
TEAMMATE = "tea_6r55a"
COMPANY = False
"""A Front contact has no company (accounts are other resources); the template shows none."""
ABSENT = ("SearchByName", "Pop")
ONE_CONTACT_PER_NUMBER = True
"""A resource alias (alt:phone:…) names one contact (https://dev.frontapp.com/docs/resource-aliases-1): Front
answers a phone handle with the contact that holds it, so a colleague sharing the line is not shown."""
STORED = {"Dana": "+442079460958", "Eamon": "+12127365000", "Zoë": "+33142685300"}
MOBILE = {"Eamon": "+12127365001"}


def error(status: int, title: str, message: str) -> web.Response:
    return web.json_response({"_error": {"status": status, "title": title, "message": message}}, status=status)


def teammate() -> dict[str, Any]:
    """The note's author as Front's TeammateResponse describes a teammate."""
    return {
        "_links": {"self": f"https://northwind.api.frontapp.com/teammates/{TEAMMATE}"},
        "id": TEAMMATE,
        "email": "agent@northwind.example",
        "username": "agent",
        "first_name": "Alex",
        "last_name": "Agent",
        "license_type": "regular",
        "is_admin": False,
        "is_available": True,
        "is_blocked": False,
        "type": "user",
        "custom_fields": {},
    }


def build() -> FakeCrm:
    crm = FakeCrm(
        "Front",
        unauthorized=lambda: error(401, "Unauthenticated", "Invalid or expired token"),
        static_credentials={f"Bearer {TOKEN}"},
        error_body=lambda status, message: {"_error": {"status": status, "title": "Error", "message": message}},
    )

    def new_contact(name: str, handles: list[dict[str, str]]) -> str:
        contact_id = f"crd_{crm.new_id():x}"
        crm.records[contact_id] = {
            "_links": {
                "self": f"https://northwind.api.frontapp.com/contacts/{contact_id}",
                "related": {"notes": f"https://northwind.api.frontapp.com/contacts/{contact_id}/notes"},
            },
            "id": contact_id,
            "name": name,
            "description": "",
            "links": [],
            "lists": [],
            "handles": handles,
            "custom_fields": {},
            "is_private": False,
        }
        return contact_id

    for p in PEOPLE:
        handles = [{"source": "phone", "handle": STORED[p.first]}]
        if p.first in MOBILE:
            handles.append({"source": "phone", "handle": MOBILE[p.first]})
        new_contact(p.name, [*handles, {"source": "email", "handle": p.email}])

    def find(contact_id: str) -> dict[str, Any] | None:
        if contact_id.startswith("alt:"):
            _, source, handle = contact_id.split(":", 2)
            return next((r for r in crm.records.values() if {"source": source, "handle": handle} in r["handles"]), None)
        return crm.records.get(contact_id)

    @crm.route("GET", "/contacts/{id}")
    async def get(request: web.Request) -> web.Response:
        record = find(request.match_info["id"])
        if record is None:
            return error(404, "Not found", "Contact not found")
        return web.json_response(record)

    @crm.route("POST", "/contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("handles"):
            return error(400, "Bad request", "handles is required")
        crm.write("contacts", body)
        contact_id = new_contact(body.get("name", ""), body["handles"])
        return web.json_response(crm.records[contact_id], status=201)

    @crm.route("POST", "/contacts/{id}/notes")
    async def add_note(request: web.Request) -> web.Response:
        record = find(request.match_info["id"])
        if record is None:
            return error(404, "Not found", "Contact not found")
        body = await request.json()
        if body.get("author_id") != TEAMMATE:
            return error(400, "Bad request", "author_id must be a teammate")
        crm.write("calls", {"contact_id": record["id"], **body})
        note = {
            "_links": {"related": {"author": f"https://northwind.api.frontapp.com/teammates/{TEAMMATE}"}},
            "author": teammate(),
            "body": body["body"],
            "created_at": 1701806790.536,
            "is_private": False,
        }
        return web.json_response(note, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"api_token": TOKEN, "teammate_id": TEAMMATE, "api_url": crm.url}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_token": "eyJhbGciOiJIUzI1NiJ9.eyJyZXZva2VkIjp0cnVlfQ.cmV2b2tlZA"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return []


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [note] = crm.written["calls"]
    assert (note["contact_id"], note["author_id"]) == (contact_id, TEAMMATE)
    subject, _, body = note["body"].partition("\n")
    assert subject == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in body
    assert f"Start: {start:%Y-%m-%d %H:%M:%S} UTC" in body and "Duration: 1:35" in body


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "name": "Grace Hopper",
        "handles": [
            {"source": "phone", "handle": "+442071838750"},
            {"source": "email", "handle": "grace.hopper@example.com"},
        ],
    }

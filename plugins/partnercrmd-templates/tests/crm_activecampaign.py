"""ActiveCampaign reproduced from its API v3 reference.

Follows https://developers.activecampaign.com/reference/: List, search, and filter contacts (GET
/api/3/contacts?search= matching "the contact names, organization, phone or email": the value contained in
them, ignoring case; 200 {"contacts": [...], "meta": {"total"}}, at most 20 by default), Retrieve a contact
(GET /api/3/contacts/{id} -> {"contact": {...}}, 404 {"message": "No Result found for Subscriber with id …"}),
Create a contact (POST /api/3/contacts {"contact": {...}}: email required, 422 {"errors": [...]} otherwise;
201 {"contact": {...}}), authentication (the Api-Token header; a wrong key gets 403 {"message": ...}) and
rate limits (429). Contact fields are strings (id, phone, orgid), as the description's ContactRead has them.

ActiveCampaign has no call object its API writes against a contact (ABSENT): the template has no log_call.
The users here typed numbers in several ways (STORED).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "ac0f3c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8"
SECRETS = ("api_key",)
COMPANY = False
"""A contact's organisation is another resource (orgid); the template shows no company."""
STORED = {"Dana": "020 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
ABSENT = ("LogActivity",)
"""What ActiveCampaign's API cannot do for a contact (the catalogue tests assert it is not offered)."""


def build() -> FakeCrm:
    crm = FakeCrm(
        "ActiveCampaign",
        unauthorized=lambda: web.json_response({"message": "Forbidden"}, status=403),
        static_credentials={API_KEY},
        credential_header="Api-Token",
    )

    def new_contact(body: dict[str, Any]) -> str:
        contact_id = str(crm.new_id())
        stamp = "2026-11-25T10:00:00-06:00"
        crm.records[contact_id] = {
            "id": contact_id,
            "email": body.get("email") or "",
            "firstName": body.get("firstName") or "",
            "lastName": body.get("lastName") or "",
            "phone": body.get("phone") or "",
            "orgid": "0",
            "cdate": stamp,
            "udate": stamp,
            "deleted": "0",
        }
        return contact_id

    for p in PEOPLE:
        new_contact({"email": p.email, "firstName": p.first, "lastName": p.last, "phone": STORED[p.first]})

    @crm.route("GET", "/api/3/contacts")
    async def contacts(request: web.Request) -> web.Response:
        search = request.query.get("search", "").lower()
        hits = [
            r
            for r in crm.records.values()
            if search in f"{r['firstName']} {r['lastName']}".lower()
            or any(search in r[k].lower() for k in ("email", "phone"))
        ]
        limit = int(request.query.get("limit", 20))
        return web.json_response({"contacts": hits[:limit], "meta": {"total": str(len(hits))}})

    @crm.route("GET", "/api/3/contacts/{id}")
    async def contact(request: web.Request) -> web.Response:
        contact_id = request.match_info["id"]
        if contact_id not in crm.records:
            return web.json_response({"message": f"No Result found for Subscriber with id {contact_id}"}, status=404)
        return web.json_response({"contact": crm.records[contact_id]})

    @crm.route("POST", "/api/3/contacts")
    async def create(request: web.Request) -> web.Response:
        body = (await request.json())["contact"]
        if not body.get("email"):
            error: dict[str, Any] = {"title": "Email address is required.", "detail": "", "code": "field_missing"}
            error["source"] = {"pointer": "/data/attributes/email"}
            return web.json_response({"errors": [error]}, status=422)
        crm.write("contacts", body)
        return web.json_response({"contact": crm.records[new_contact(body)]}, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"account": "northwind", "api_key": API_KEY, "api_url": crm.url}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {"account": "northwind", "api_key": "ac-revoked-" + "0" * 60, "api_url": crm.url}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://northwind.activehosted.com/app/contacts/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    raise AssertionError("ActiveCampaign has no call log: no call is ever sent")


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "email": "grace.hopper@example.com",
        "firstName": "Grace",
        "lastName": "Hopper",
        "phone": "020 7183 8750",
    }

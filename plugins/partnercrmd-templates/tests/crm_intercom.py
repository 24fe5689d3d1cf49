"""Intercom reproduced from its REST API 2.14 reference and OpenAPI description.

Follows https://developers.intercom.com/docs/references/2.14/rest-api/api.intercom.io/contacts/searchcontacts
(POST /contacts/search: `query` is one filter {field, operator, value} or {operator: AND|OR, value: [filters]},
"=" an exact match and "~" contains, case-insensitively; the answer is a contact list {type: list, data,
total_count, pages} whose pages.next.starting_after is the next page's cursor), .../showcontact (GET
/contacts/{contact_id}; contact ids are 24 hexadecimal digits), .../createcontact (POST /contacts answering
200 with the contact), .../notes/createnote (POST /contacts/{contact_id}/notes {body, admin_id} answering 200
with the note; 404 "User Not Found" for an unknown contact) and authentication
(https://developers.intercom.com/docs/build-an-integration/learn-more/authentication: a bearer access token;
401 {"type": "error.list", "errors": [{"code": "unauthorized", "message": "Access Token Invalid"}]}) and rate
limits (https://intercom-developer-hub.readme.io/reference/rate-limiting: 429 with X-RateLimit-Limit,
X-RateLimit-Remaining and X-RateLimit-Reset, a Unix time; no Retry-After, so the template's client waits its
default second and tries again).
Intercom keeps a contact's phone as written; these users wrote theirs in international form, which the
exact phone filter needs. Held to ../shared/data/openapi/intercom/api.intercom.io.yaml (vendor_contracts.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, rate_limit_reset_headers

TOKEN = "dG9rOjU5ZjBhYjI4XzQ0MjRfNGQxYV9iNjQ4XzExZjY5ZTg1NjM5ZjoxOjA="
SECRETS = ("access_token",)
WORKSPACE = "ecahpwf5"
ADMIN_ID = "991267583"
COMPANY = False
"""A contact's companies are other resources (companies.data holds their ids); the template shows no company."""
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}


def error(status: int, code: str, message: str) -> web.Response:
    """Intercom's error list (the `error` schema: type and errors required)."""
    body = {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [{"code": code, "message": message}]}
    return web.json_response(body, status=status)


def build() -> FakeCrm:
    crm = FakeCrm(
        "Intercom",
        unauthorized=lambda: error(401, "unauthorized", "Access Token Invalid"),
        static_credentials={f"Bearer {TOKEN}"},
        error_body=lambda status, message: {
            "type": "error.list",
            "request_id": str(uuid.uuid4()),
            "errors": [{"code": "rate_limit_exceeded" if status == 429 else "service_unavailable", "message": message}],
        },
    )

    def new_contact(role: str, name: str | None, email: str, phone: str | None) -> str:
        contact_id = f"6762f0{crm.new_id():018x}"
        crm.records[contact_id] = {
            "type": "contact",
            "id": contact_id,
            "workspace_id": WORKSPACE,
            "role": role,
            "email": email,
            "phone": phone,
            "name": name,
            "created_at": 1734537390,
            "updated_at": 1734537390,
            "custom_attributes": {},
        }
        return contact_id

    for p in PEOPLE:
        new_contact("user", p.name, p.email, STORED[p.first])

    crm.outer_middlewares.append(rate_limit_reset_headers(166))

    def matches(record: dict[str, Any], rule: dict[str, Any]) -> bool:
        if "field" not in rule:
            results = [matches(record, r) for r in rule["value"]]
            return all(results) if rule["operator"] == "AND" else any(results)
        value = str(record.get(rule["field"]) or "")
        if rule["operator"] == "=":
            return value == str(rule["value"])
        if rule["operator"] == "~":
            return str(rule["value"]).lower() in value.lower()
        raise web.HTTPBadRequest(reason="operator not reproduced")

    @crm.route("POST", "/contacts/search")
    async def search(request: web.Request) -> web.Response:
        body = await request.json()
        pagination = body.get("pagination") or {}
        per_page = int(pagination.get("per_page", 50))
        hits = [r for r in crm.records.values() if matches(r, body["query"])]
        start = int(pagination.get("starting_after") or 0)
        page = hits[start : start + per_page]
        pages: dict[str, Any] = {
            "type": "pages",
            "page": start // per_page + 1,
            "per_page": per_page,
            "total_pages": max(1, -(-len(hits) // per_page)),
        }
        if start + per_page < len(hits):
            pages["next"] = {"per_page": per_page, "starting_after": str(start + per_page)}
        return web.json_response({"type": "list", "data": page, "total_count": len(hits), "pages": pages})

    @crm.route("GET", "/contacts/{id}")
    async def get(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return error(404, "not_found", "User Not Found")
        return web.json_response(record)

    @crm.route("POST", "/contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        if not any(body.get(k) for k in ("email", "external_id", "role")):
            return error(400, "parameter_not_found", "email, external_id or role is required")
        crm.write("contacts", body)
        contact_id = new_contact(body.get("role", "user"), body.get("name"), body.get("email", ""), body.get("phone"))
        return web.json_response(crm.records[contact_id])

    @crm.route("POST", "/contacts/{id}/notes")
    async def add_note(request: web.Request) -> web.Response:
        contact_id = request.match_info["id"]
        if contact_id not in crm.records:
            return error(404, "not_found", "User Not Found")
        body = await request.json()
        crm.write("calls", {"contact_id": contact_id, **body})
        note = {
            "type": "note",
            "id": str(crm.new_id()),
            "created_at": 1734537390,
            "contact": {"type": "contact", "id": contact_id},
            "author": {"type": "admin", "id": body.get("admin_id", ADMIN_ID), "name": "Dana Admin"},
            "body": body["body"],
        }
        return web.json_response(note)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"access_token": TOKEN, "workspace_id": WORKSPACE, "admin_id": ADMIN_ID, "api_url": crm.url}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "access_token": "dG9rOnJldm9rZWRfMDAwMDAwMDAwMDAwMDAwMA=="}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://app.intercom.com/a/apps/{WORKSPACE}/users/{contact_id}/all-conversations"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [note] = crm.written["calls"]
    assert (note["contact_id"], note["admin_id"]) == (contact_id, ADMIN_ID)
    subject, _, body = note["body"].partition("\n")
    assert subject == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in body
    assert f"Start: {start:%Y-%m-%d %H:%M:%S} UTC" in body and "Duration: 1:35" in body


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "role": "user",
        "name": "Grace Hopper",
        "email": "grace.hopper@example.com",
        "phone": "+442071838750",
    }

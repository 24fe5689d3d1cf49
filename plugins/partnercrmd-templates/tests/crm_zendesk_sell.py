"""Zendesk Sell (Core API v2) reproduced from its published reference (no machine-readable description is saved).

Follows https://developer.zendesk.com/api-reference/sales-crm/resources/contacts/ (GET /v2/contacts with the filters
listed there: ids, creator_id, owner_id, is_organization, contact_id, name, first_name, last_name, email, phone,
mobile, customer_status, prospect_status, sort_by, page, per_page...; another query parameter is refused with 400
here; a filter compares the whole value as stored; the answer {"items": [{"data": {...}, "meta": {"version",
"type": "contact"}}], "meta": {"type": "collection", "count", "links"}}. POST /v2/contacts {"data": {...}} with
last_name required for a person (is_organization false), answering {"data": {...}, "meta": {"type": "contact"}}),
and https://developer.zendesk.com/api-reference/sales-crm/resources/calls/ (POST /v2/calls {"data": {...}} with
phone_number and missed required, incoming, duration, made_at, summary, resource_type, resource_id, outcome_id,
recording_url, user_id; answering {"data": {id, ...}}). Every request sends Accept: application/json (a request
without it is refused with 406 here) and Authorization: Bearer with an access token; a wrong token gets 401 in
Sell's error envelope {"errors": [{"error": {"code", "message"}, "meta": {"type": "error"}}], "meta": {"type":
"errors", "http_status"}}.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

TOKEN = "zs-pat-3b6e9f1c4a7d0e2b5c8f1a4d7e0b3c6f9a2d5e8b"
SECRETS = ("access_token",)
ABSENT = ("SearchByName", "Pop")
"""The list filters compare whole values (a typed name may be first or last); no documented app address."""
COMPANY = False
"""A person's organisation is an id (contact_id)."""
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
"""As these users typed them: the international form (a filter compares the value as stored)."""
STAMP = "2026-11-25T10:00:00Z"
FILTERS = {
    "ids",
    "creator_id",
    "owner_id",
    "is_organization",
    "contact_id",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "customer_status",
    "prospect_status",
    "sort_by",
    "page",
    "per_page",
}
CONTACT_FIELDS = {
    "is_organization",
    "contact_id",
    "parent_organization_id",
    "name",
    "first_name",
    "last_name",
    "customer_status",
    "prospect_status",
    "title",
    "description",
    "industry",
    "website",
    "email",
    "phone",
    "mobile",
    "fax",
    "twitter",
    "facebook",
    "linkedin",
    "skype",
    "address",
    "tags",
    "custom_fields",
    "owner_id",
}
CALL_FIELDS = {
    "phone_number",
    "missed",
    "incoming",
    "duration",
    "made_at",
    "summary",
    "resource_type",
    "resource_id",
    "outcome_id",
    "recording_url",
    "user_id",
    "associated_deal_ids",
}
RESOURCE_TYPES = {"contact", "lead", "deal"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def errors(status: int, code: str, message: str) -> web.Response:
    reason = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 406: "Not Acceptable", 422: "Unprocessable"}
    return web.json_response(
        {
            "errors": [{"error": {"code": code, "message": message}, "meta": {"type": "error"}}],
            "meta": {"type": "errors", "http_status": f"{status} {reason.get(status, '')}".strip()},
        },
        status=status,
    )


def build() -> FakeCrm:
    @web.middleware
    async def accepts_json(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Authorization") == f"Bearer {TOKEN}" and "application/json" not in request.headers.get(
            "Accept", ""
        ):
            return errors(406, "not_acceptable", "Accept: application/json is required")
        return await handler(request)

    crm = FakeCrm(
        "Zendesk Sell",
        unauthorized=lambda: errors(401, "unauthorized", "Invalid access token"),
        static_credentials={f"Bearer {TOKEN}"},
        error_body=lambda status, message: {
            "errors": [{"error": {"code": "rate_limit" if status == 429 else "unavailable", "message": message}}],
            "meta": {"type": "errors", "http_status": str(status)},
        },
    )
    crm.outer_middlewares.append(accepts_json)

    def new_contact(body: dict[str, Any]) -> int:
        contact_id = 180000000 + crm.new_id()
        contact: dict[str, Any] = {field: None for field in CONTACT_FIELDS}
        contact.update({"tags": [], "custom_fields": {}, "owner_id": 1, "is_organization": False})
        contact.update(body)
        first, last = contact.get("first_name") or "", contact.get("last_name") or ""
        contact.update(
            {
                "id": contact_id,
                "creator_id": 1,
                "name": f"{first} {last}".strip(),
                "created_at": STAMP,
                "updated_at": STAMP,
            }
        )
        crm.records[str(contact_id)] = contact
        return contact_id

    organisations: dict[str, int] = {}
    for p in PEOPLE:
        new_contact(
            {
                "first_name": p.first,
                "last_name": p.last,
                "title": p.title or None,
                "phone": STORED[p.first],
                "mobile": p.mobile or None,
                "email": p.email,
                "contact_id": organisations.setdefault(p.company, 170000000 + len(organisations)),
            }
        )

    def item(contact: dict[str, Any]) -> dict[str, Any]:
        return {"data": contact, "meta": {"version": 1, "type": "contact"}}

    @crm.route("GET", "/v2/contacts")
    async def contacts(request: web.Request) -> web.Response:
        unknown = sorted(set(request.query) - FILTERS)
        if unknown:
            return errors(400, "invalid_param", f"Unknown parameter: {', '.join(unknown)}")
        per_page, page = int(request.query.get("per_page", 25)), int(request.query.get("page", 1))
        hits = list(crm.records.values())
        for key, value in request.query.items():
            if key in ("per_page", "page", "sort_by"):
                continue
            wanted = value.lower()
            hits = [c for c in hits if str(c.get(key)).lower() == wanted]
        shown = hits[(page - 1) * per_page : page * per_page]
        return web.json_response(
            {"items": [item(c) for c in shown], "meta": {"type": "collection", "count": len(shown), "links": {}}}
        )

    @crm.route("POST", "/v2/contacts")
    async def create(request: web.Request) -> web.Response:
        body = (await request.json()).get("data")
        if not isinstance(body, dict):
            return errors(422, "invalid", "data is required")
        unknown = sorted(set(body) - CONTACT_FIELDS)
        if unknown:
            return errors(422, "invalid", f"Unknown attribute: {', '.join(unknown)}")
        if not body.get("is_organization") and not body.get("last_name"):
            return errors(422, "invalid", "last_name can't be blank")
        crm.write("contacts", body)
        return web.json_response(item(crm.records[str(new_contact(body))]))

    @crm.route("POST", "/v2/calls")
    async def call(request: web.Request) -> web.Response:
        body = (await request.json()).get("data")
        if not isinstance(body, dict):
            return errors(422, "invalid", "data is required")
        unknown = sorted(set(body) - CALL_FIELDS)
        if unknown:
            return errors(422, "invalid", f"Unknown attribute: {', '.join(unknown)}")
        if not body.get("phone_number") or not isinstance(body.get("missed"), bool):
            return errors(422, "invalid", "phone_number and missed are required")
        if body.get("resource_type") not in (None, *RESOURCE_TYPES):
            return errors(422, "invalid", "resource_type is one of contact, lead, deal")
        if body.get("resource_type") == "contact" and str(body.get("resource_id")) not in crm.records:
            return errors(404, "not_found", "contact not found")
        crm.write("calls", body)
        return web.json_response({"data": {"id": 290000000 + crm.new_id(), **body}, "meta": {"type": "call"}})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"access_token": TOKEN, "api_url": crm.url}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "access_token": "zs-pat-revoked-000000000000000"}


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    assert (call["resource_type"], call["resource_id"]) == ("contact", int(contact_id))
    assert (call["phone_number"], call["incoming"], call["missed"], call["duration"]) == (
        "+44 20 7946 0958",
        True,
        False,
        95,
    )
    assert call["made_at"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "Wants a quote for 40 chairs." in call["summary"] and "Duration: 1:35" in call["summary"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "is_organization": False,
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone": "020 7183 8750",
        "email": "grace.hopper@example.com",
    }

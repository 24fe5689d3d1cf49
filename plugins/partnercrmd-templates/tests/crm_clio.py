"""Clio Manage reproduced from its API v4 documentation.

Follows https://docs.developers.clio.com/api-reference/ (everything under /api/v4; GET /contacts.json?query=
a wildcard search, here of the name, email addresses, phone numbers and company as stored; GET
/contacts/{id}.json, 404 for an unknown one; POST /contacts.json {"data": {...}} with name and type required ->
201 {"data"}; POST /communications.json {"data": {type, subject, body, ...}} -> 201 {"data"}: a phone
communication whose senders or receivers name the contact), https://docs.developers.clio.com/api-docs/fields/
(an answer carries id, etag and name unless `fields` lists more; nested fields in braces, company{id,name}) and
https://docs.developers.clio.com/api-docs/authorization/ (OAuth 2 authorisation code at /oauth/authorize and
/oauth/token with the client secret, access tokens of 30 days, refresh tokens kept; GET
/api/v4/users/who_am_i.json; a refused token gets 401 {"error": {"type": "UnauthorizedError", "message"}}).
A 429 carries Retry-After in seconds (https://docs.developers.clio.com/api-docs/rate-limits/), as the framework's
does. Clio users here wrote numbers in international form. Held to ../shared/data/openapi/clio/clio.json
(vendor_contracts.py).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

SECRETS = ("client_secret", "refresh_token")
GRANT = "refresh_token"
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
STAMP = "2026-11-25T10:00:00+00:00"
DEFAULT_FIELDS = "id,etag,name"


def error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message}}, status=status)


def _fields(text: str) -> dict[str, Any]:
    """`a,b,c{x,y}` as {a: None, b: None, c: {x: None, y: None}} (the fields parameter's syntax)."""
    out: dict[str, Any] = {}
    for match in re.finditer(r"([a-z_]+)(?:\{([^}]*)\})?", text):
        out[match.group(1)] = _fields(match.group(2)) if match.group(2) is not None else None
    return out


def _select(record: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, inner in wanted.items():
        if key not in record or record[key] is None:
            continue
        value = record[key]
        if inner is None:
            out[key] = value
        elif isinstance(value, list):
            out[key] = [_select(item, inner) for item in value]
        else:
            out[key] = _select(value, inner)
    return out


def build() -> FakeCrm:
    crm = FakeCrm(
        "Clio",
        unauthorized=lambda: error(401, "UnauthorizedError", "The access token is invalid or has expired"),
        oauth=OAuthSettings(expires_in=2592000, secret_required=True),
        error_body=lambda status, message: {
            "error": {"type": "RateLimited" if status == 429 else "ServiceUnavailable", "message": message}
        },
    )
    companies: dict[str, dict[str, Any]] = {}

    def new_contact(data: dict[str, Any]) -> int:
        contact_id = 1800000000 + crm.new_id()
        record: dict[str, Any] = {"id": contact_id, "etag": f'"{contact_id}"', "created_at": STAMP, **data}
        for i, phone in enumerate(record.get("phone_numbers", [])):
            phone.setdefault("id", contact_id * 10 + i)
        primary = next((p for p in record.get("phone_numbers", []) if p.get("default_number")), None)
        if primary is not None:
            record["primary_phone_number"] = primary["number"]
            primary["primary"] = primary.pop("default_number")
        emails = record.pop("email_addresses", [])
        if emails:
            record["primary_email_address"] = emails[0]["address"]
        crm.records[str(contact_id)] = record
        return contact_id

    for p in PEOPLE:
        company = None
        if p.company:
            company = companies.setdefault(
                p.company, {"id": 1700000000 + len(companies), "name": p.company, "type": "Company"}
            )
        seeded: dict[str, Any] = {
            "type": "Person",
            "name": p.name,
            "first_name": p.first,
            "last_name": p.last,
            "phone_numbers": [{"number": STORED[p.first], "name": "Work", "default_number": True}],
            "email_addresses": [{"address": p.email, "name": "Work"}],
        }
        if p.title:
            seeded["title"] = p.title
        if company:
            seeded["company"] = company
        new_contact(seeded)

    def found(record: dict[str, Any], query: str) -> bool:
        text = " ".join(
            [
                record.get("name", ""),
                record.get("primary_email_address", ""),
                (record.get("company") or {}).get("name", ""),
            ]
            + [n["number"] for n in record.get("phone_numbers", [])]
        ).lower()
        return query.lower() in text

    def answer(record: dict[str, Any], request: web.Request) -> dict[str, Any]:
        return _select(record, _fields(request.query.get("fields", DEFAULT_FIELDS)) | {"id": None, "etag": None})

    @crm.route("GET", "/api/v4/contacts.json")
    async def index(request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        limit = int(request.query.get("limit", 200))
        hits = [r for r in crm.records.values() if found(r, query)][:limit]
        return web.json_response({"data": [answer(r, request) for r in hits]})

    @crm.route("GET", "/api/v4/contacts/{id}.json")
    async def show(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return error(404, "RecordNotFound", "The requested record could not be found")
        return web.json_response({"data": answer(record, request)})

    @crm.route("POST", "/api/v4/contacts.json")
    async def create(request: web.Request) -> web.Response:
        data = (await request.json())["data"]
        if not data.get("name") or data.get("type") not in ("Person", "Company"):
            return error(422, "UnprocessableEntity", "name and type are required")
        crm.write("contacts", data)
        contact_id = new_contact(copy.deepcopy(data))
        return web.json_response({"data": answer(crm.records[str(contact_id)], request)}, status=201)

    @crm.route("POST", "/api/v4/communications.json")
    async def communicate(request: web.Request) -> web.Response:
        data = (await request.json())["data"]
        if not all(data.get(k) for k in ("body", "subject", "type")):
            return error(422, "UnprocessableEntity", "body, subject and type are required")
        parties = [*data.get("senders", []), *data.get("receivers", [])]
        if any(p["type"] == "Contact" and str(p["id"]) not in crm.records for p in parties):
            return error(422, "UnprocessableEntity", "Contact not found")
        crm.write("calls", data)
        return web.json_response({"data": {"id": 1900000000 + crm.new_id(), "etag": '"1"'}}, status=201)

    @crm.route("GET", "/api/v4/users/who_am_i.json")
    async def who_am_i(request: web.Request) -> web.Response:
        assert crm.oauth is not None
        user = {"id": 344000001, "etag": '"1"', "name": crm.oauth.account["name"], "email": crm.oauth.account["email"]}
        return web.json_response({"data": _select(user, _fields(request.query.get("fields", DEFAULT_FIELDS)))})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "refresh_token": crm.oauth.refresh_token,
        "app_url": crm.url,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/nc/#/contacts/{contact_id}", f"{crm.url}/nc/#/contacts/{contact_id}/edit"]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    assert call["type"] == "PhoneCommunication" and call["senders"] == [{"id": int(contact_id), "type": "Contact"}]
    assert "receivers" not in call and call["received_at"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert call["subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in call["body"] and "Duration: 1:35" in call["body"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "type": "Person",
        "name": "Grace Hopper",
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone_numbers": [{"number": "020 7183 8750", "name": "Work", "default_number": True}],
        "email_addresses": [{"address": "grace.hopper@example.com", "name": "Work", "default_email": True}],
    }

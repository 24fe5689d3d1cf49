"""Zoho Desk reproduced from its API documentation (desk.zoho.com/DeskAPIDocument; no machine-readable description is
published).

Follows https://desk.zoho.com/DeskAPIDocument#Introduction (the API under /api/v1; every request carries the orgId
header, refused here without it or with another organisation's; `Authorization: Zoho-oauthtoken …`, 401
{"errorCode": "INVALID_OAUTH"} for an expired or unknown token; errors as {errorCode, message}; 204 No content;
429 Too Many Requests), https://desk.zoho.com/DeskAPIDocument#OauthTokens (the accounts server's
/oauth/v2/token: the refresh-token grant, the authorisation request with access_type=offline),
https://desk.zoho.com/DeskAPIDocument#Search#Search_SearchContacts (GET /api/v1/contacts/search with from, limit,
id, fullName, firstName, lastName, email, phone, mobile, accountName, _all, customField1…, sortBy: any other
parameter is refused here, and so is a search naming no field; a value without * matches a field as stored,
case-insensitively, * matches any run of characters; _all looks in every field; {"data": [...], "count"}, or 204
when nothing matches), https://desk.zoho.com/DeskAPIDocument#Contacts#Contacts_Getacontact (GET
/api/v1/contacts/{contact_id}, 404 URL_NOT_FOUND for an unknown one),
https://desk.zoho.com/DeskAPIDocument#Contacts#Contacts_CreateContact (POST /api/v1/contacts, lastName mandatory:
422 UNPROCESSABLE_ENTITY otherwise, and for a field that is no contact field; answers the contact) and
https://desk.zoho.com/DeskAPIDocument#Calls#Calls_Createcall (POST /api/v1/calls: departmentId, subject,
startTime as yyyy-MM-ddThh:mm:ss.SSSZ, direction inbound|outbound, duration in seconds, status and contactId
required; answers the call). Numbers are stored as these users typed them, in international form.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

ORG_ID = "2389290"
DEPARTMENT_ID = "3000000007043"
GRANT = "refresh_token"
SECRETS = ("client_secret", "refresh_token")
COMPANY = False
"""A contact's account is another resource (accountId): the template shows no company."""
ABSENT = ("Pop",)
"""A contact's webUrl is an opaque address, not one built from its id: no Open."""
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
SEARCH_FIELDS = {"id", "fullName", "firstName", "lastName", "email", "phone", "mobile", "accountName", "_all"}
SEARCH_PARAMETERS = SEARCH_FIELDS | {"from", "limit", "sortBy"} | {f"customField{i}" for i in range(1, 11)}
CONTACT_FIELDS = {"firstName", "lastName", "email", "secondaryEmail", "phone", "mobile", "title", "description"}
CONTACT_FIELDS |= {"accountId", "type", "ownerId", "cf"}
CALL_REQUIRED = ("departmentId", "subject", "startTime", "direction", "duration", "status", "contactId")
CALL_FIELDS = {*CALL_REQUIRED, "description", "ownerId", "priority", "ticketId", "reminder", "cf", "customFields"}
DESK_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$")


def desk_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"errorCode": code, "message": message}, status=status)


def wildcard(value: str, stored: str) -> bool:
    """A Desk search value: * is any run of characters; the rest is compared as stored, ignoring case."""
    regex = ".*".join(re.escape(part) for part in value.split("*"))
    return re.fullmatch(regex, stored, re.IGNORECASE | re.DOTALL) is not None


def build() -> FakeCrm:
    crm = FakeCrm(
        "Zoho Desk",
        unauthorized=lambda: desk_error(401, "INVALID_OAUTH", "The OAuth Token you provided is invalid."),
        oauth=OAuthSettings(token_path="/oauth/v2/token", authorize_path="/oauth/v2/auth", scheme="Zoho-oauthtoken"),
        error_body=lambda status, message: {"errorCode": "TOO_MANY_REQUESTS", "message": message},
    )

    @web.middleware
    async def organisation(request: web.Request, handler: Any) -> web.StreamResponse:
        """Every API request names the organisation (the orgId header); the accounts server is not Desk's."""
        if request.path.startswith("/api/v1/") and request.headers.get("orgId") != ORG_ID:
            return desk_error(422, "UNPROCESSABLE_ENTITY", "orgId header is missing or not this organisation's")
        response: web.StreamResponse = await handler(request)
        return response

    crm.outer_middlewares.append(organisation)

    def new_contact(fields: dict[str, Any]) -> dict[str, Any]:
        contact_id = str(1892000000772000 + crm.new_id())
        contact: dict[str, Any] = dict.fromkeys(("firstName", "email", "phone", "mobile", "title", "description"))
        contact |= fields | {
            "id": contact_id,
            "accountId": None,
            "isSpam": False,
            "createdTime": "2026-11-25T10:00:00.000Z",
        }
        contact["webUrl"] = f"https://desk.zoho.com/support/northwind/ShowHomePage.do#Contacts/dv/{contact_id}a1b2"
        crm.records[contact_id] = contact
        return contact

    for p in PEOPLE:
        new_contact(
            {
                "firstName": p.first,
                "lastName": p.last,
                "email": p.email,
                "phone": STORED[p.first],
                "mobile": p.mobile or None,
                "title": p.title or None,
            }
        )

    def searched(contact: dict[str, Any], field: str, value: str) -> bool:
        if field == "_all":
            texts = [str(v) for k, v in contact.items() if k in CONTACT_FIELDS and v]
            words = [w for t in texts for w in t.split()]
            return any(wildcard(value, t) for t in texts + words)
        if field == "fullName":
            stored = f"{contact['firstName'] or ''} {contact['lastName']}".strip()
        else:
            stored = str(contact.get(field) or "")
        return wildcard(value, stored)

    @crm.route("GET", "/api/v1/contacts/search")
    async def search(request: web.Request) -> web.Response:
        unknown = set(request.query) - SEARCH_PARAMETERS
        given = {k: v for k, v in request.query.items() if k in SEARCH_FIELDS}
        if unknown or not given:
            return desk_error(422, "UNPROCESSABLE_ENTITY", f"unknown parameter(s) {sorted(unknown)} or no field")
        hits = [c for c in crm.records.values() if all(searched(c, k, v) for k, v in given.items())]
        start, limit = int(request.query.get("from", 0)), int(request.query.get("limit", 10))
        page = hits[start : start + limit]
        if not page:
            return web.Response(status=204)
        return web.json_response({"data": page, "count": len(hits)})

    @crm.route("GET", "/api/v1/contacts/{id}")
    async def get(request: web.Request) -> web.Response:
        contact = crm.records.get(request.match_info["id"])
        return web.json_response(contact) if contact else desk_error(404, "URL_NOT_FOUND", "The URL is invalid")

    @crm.route("POST", "/api/v1/contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = set(body) - CONTACT_FIELDS
        if unknown or not body.get("lastName"):
            return desk_error(422, "UNPROCESSABLE_ENTITY", f"lastName is missing or unknown field(s) {sorted(unknown)}")
        crm.write("contacts", body)
        return web.json_response(new_contact(body))

    @crm.route("POST", "/api/v1/calls")
    async def create_call(request: web.Request) -> web.Response:
        body = await request.json()
        missing = [k for k in CALL_REQUIRED if body.get(k) in (None, "")]
        if missing or set(body) - CALL_FIELDS:
            return desk_error(422, "UNPROCESSABLE_ENTITY", f"missing {missing} or unknown fields")
        if not DESK_TIME.match(str(body["startTime"])) or body["direction"] not in ("inbound", "outbound"):
            return desk_error(422, "UNPROCESSABLE_ENTITY", "startTime is yyyy-MM-ddThh:mm:ss.SSSZ, direction in|out")
        if not isinstance(body["duration"], int) or str(body["contactId"]) not in crm.records:
            return desk_error(422, "UNPROCESSABLE_ENTITY", "duration is seconds; contactId a contact's")
        if body["departmentId"] != DEPARTMENT_ID:
            return desk_error(422, "UNPROCESSABLE_ENTITY", "no such department")
        crm.write("calls", body)
        return web.json_response(
            {"id": str(3000000054000 + crm.new_id()), "createdTime": "2026-11-25T10:00:00.000Z"} | body
        )

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "org_id": ORG_ID,
        "department_id": DEPARTMENT_ID,
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "refresh_token": crm.oauth.refresh_token,
        "api_url": crm.url,
        "accounts_url": crm.url,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return []


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    assert (call["contactId"], call["departmentId"], call["direction"]) == (contact_id, DEPARTMENT_ID, "inbound")
    assert (call["startTime"], call["duration"], call["status"]) == (f"{start:%Y-%m-%dT%H:%M:%S}.000Z", 95, "Completed")
    assert call["subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in call["description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "firstName": "Grace",
        "lastName": "Hopper",
        "email": "grace.hopper@example.com",
        "phone": "020 7183 8750",
    }

"""HubSpot reproduced from its CRM API v3 documentation.

Follows https://developers.hubspot.com/docs/api/crm/contacts, .../crm/search (filterGroups,
`query`, `paging.next.after`), .../crm/calls (properties hs_*, association type 194) and
https://developers.hubspot.com/docs/api/oauth/tokens (refresh_token grant, `expires_in` 1800, the access-token
information call); for signing in, https://developers.hubspot.com/docs/api/working-with-oauth (client_id,
redirect_uri registered with the app and matched exactly, client_secret required at the token endpoint).
A 401 answers {"status": "error", "category": "EXPIRED_AUTHENTICATION", ...} as HubSpot does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings, nsn

SECRETS = ("client_secret", "refresh_token")
GRANT = "refresh_token"
PROPERTIES = ("firstname", "lastname", "company", "jobtitle", "phone", "mobilephone", "email")


def build() -> FakeCrm:
    crm = FakeCrm(
        "HubSpot",
        unauthorized=lambda: web.json_response(
            {
                "message": "Authentication credentials not found.",
                "category": "EXPIRED_AUTHENTICATION",
                "correlationId": "0b9d6f1e-5a8c-4f7e-9c1d-2e3f4a5b6c7d",
            },
            status=401,
        ),
        oauth=OAuthSettings(token_path="/oauth/v1/token", expires_in=1800),
        # The Error schema of HubSpot's descriptions: category, correlationId and message are required.
        error_body=lambda status, message: {
            "message": message,
            "category": "RATE_LIMITS" if status == 429 else "INTERNAL_ERROR",
            "correlationId": "5f1c6f5e-0c1d-4b5e-9a55-3f2c1d0e9b7a",
        },
    )
    for person in PEOPLE:
        contact_id = str(crm.new_id())
        crm.records[contact_id] = {
            "firstname": person.first,
            "lastname": person.last,
            "company": person.company,
            "jobtitle": person.title,
            "phone": person.phone,
            "mobilephone": person.mobile,
            "email": person.email,
            "_region": person.region,
        }

    def shaped(contact_id: str, wanted: list[str] | tuple[str, ...]) -> dict[str, Any]:
        """A SimplePublicObject (contacts.json): properties are strings, so a property without a value is left
        out; id, properties, createdAt, updatedAt and archived are required."""
        record = crm.records[contact_id]
        properties = {k: str(record[k]) for k in wanted if record.get(k)}
        properties["hs_object_id"] = contact_id
        stamp = record.get("_created", "2026-01-05T09:30:00.000Z")
        return {"id": contact_id, "properties": properties, "createdAt": stamp, "updatedAt": stamp, "archived": False}

    def matches(record: dict[str, Any], group: dict[str, Any]) -> bool:
        for rule in group["filters"]:
            name = rule["propertyName"]
            if name == "hs_searchable_calculated_phone_number":
                value = nsn(record.get("phone") or "", record.get("_region", "GB"))
            elif name == "hs_searchable_calculated_mobile_number":
                value = nsn(record.get("mobilephone") or "", record.get("_region", "GB"))
            else:
                value = str(record.get(name) or "")
            if rule["operator"] != "EQ" or value != rule["value"]:
                return False
        return True

    @crm.route("POST", "/crm/v3/objects/contacts/search")
    async def search(request: web.Request) -> web.Response:
        body = await request.json()
        limit = int(body.get("limit", 10))
        if body.get("filterGroups"):  # the description requires the key; an empty list filters nothing
            hits = [i for i, r in crm.records.items() if any(matches(r, g) for g in body["filterGroups"])]
        else:
            words = str(body.get("query", "")).lower().split()
            hits = [
                i
                for i, r in crm.records.items()
                if all(any(w in str(r.get(k) or "").lower() for k in PROPERTIES) for w in words)
            ]
        start = int(body.get("after", 0))
        page = hits[start : start + limit]
        answer: dict[str, Any] = {"total": len(hits), "results": [shaped(i, body["properties"]) for i in page]}
        if start + limit < len(hits):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return web.json_response(answer)

    @crm.route("GET", "/crm/v3/objects/contacts/{id}")
    async def get(request: web.Request) -> web.Response:
        contact_id = request.match_info["id"]
        if contact_id not in crm.records:
            return web.json_response(
                {"status": "error", "message": "Object not found.", "category": "OBJECT_NOT_FOUND"}, status=404
            )
        return web.json_response(shaped(contact_id, request.query["properties"].split(",")))

    @crm.route("POST", "/crm/v3/objects/contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        contact_id = str(crm.new_id())
        crm.records[contact_id] = dict(body["properties"])
        crm.write("contacts", body)
        return web.json_response(shaped(contact_id, PROPERTIES), status=201)

    @crm.route("POST", "/crm/v3/objects/calls")
    async def log_call(request: web.Request) -> web.Response:
        body = await request.json()
        [association] = body["associations"]
        if association["to"]["id"] not in crm.records:
            error = {
                "message": "Contact not found",
                "category": "VALIDATION_ERROR",
                "correlationId": "c0ffee00-0000-4000-8000-000000000001",
            }
            return web.json_response(error, status=400)
        call_id = str(crm.new_id())
        crm.write("calls", body)
        stamp = "2026-01-05T09:30:00.000Z"
        answer = {
            "id": call_id,
            "properties": body["properties"],
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        return web.json_response(answer, status=201)

    @crm.route("GET", "/oauth/v1/access-tokens/{token}")
    async def token_information(request: web.Request) -> web.Response:
        """GET /oauth/v1/access-tokens/{token} (https://developers.hubspot.com/docs/api/oauth/tokens): who it is for."""
        token = request.match_info["token"]
        if token not in crm.access_tokens:
            return web.json_response({"status": "error", "message": "Token not found"}, status=404)
        assert crm.oauth is not None
        return web.json_response(
            {
                "token": token,
                "user": crm.oauth.account["email"],
                "hub_domain": "northwind.example",
                "scopes": ["crm.objects.contacts.read", "crm.objects.contacts.write"],
                "hub_id": 2451234,
                "app_id": 456789,
                "expires_in": 1800,
                "user_id": 1234567,
                "token_type": "access",
            }
        )

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "portal_id": "2451234",
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "refresh_token": crm.oauth.refresh_token,
        "api_url": crm.url,
        "app_url": "https://app.hubspot.example",
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    url = f"https://app.hubspot.example/contacts/2451234/record/0-1/{contact_id}"
    return [url, url]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    props = call["properties"]
    assert call["associations"] == [
        {"to": {"id": contact_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]}
    ]
    assert (props["hs_call_direction"], props["hs_call_status"], props["hs_call_duration"]) == (
        "INBOUND",
        "COMPLETED",
        "95000",  # property values are strings in HubSpot's description
    )
    assert props["hs_call_from_number"] == "+44 20 7946 0958" and props["hs_call_to_number"] == "+44 20 7946 0000"
    assert props["hs_timestamp"] == start.strftime("%Y-%m-%dT%H:%M:%SZ") and "Wants a quote" in props["hs_call_body"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created["properties"] == {
        "firstname": "Grace",
        "lastname": "Hopper",
        "phone": "020 7183 8750",
        "email": "grace.hopper@example.com",
    }

"""Brevo (formerly Sendinblue) reproduced from its API v3 documentation.

Follows https://developers.brevo.com/reference/getcontacts-1 (GET /contacts: limit 0..1000, offset, sort (newest
first unless asc), and `filter` on one attribute with the operator equals, `filter=equals(FIRSTNAME,"Antoine")`;
answers {"contacts": [...], "count"}), .../getcontactinfo-1 (GET /contacts/{identifier}?identifierType=contact_id:
the contact with its statistics; 404 {"code": "document_not_found"} for an unknown one), .../createcontact (POST
/contacts {email, attributes}: email is needed unless SMS or ext_id is given; SMS "with the country code"; 201
{"id"}), .../post_crm-notes (POST /crm/notes {text: 1..3000 characters, contactIds}: {"id"}, 400 "Not valid
data."), https://developers.brevo.com/docs/limit-headers (429 with x-sib-ratelimit-limit, -remaining and -reset,
no Retry-After) and https://developers.brevo.com/docs/getting-started (the `api-key` header; 401 {"code":
"unauthorized", "message": "Key not found"}). Brevo keeps a contact's SMS attribute with its country code as
digits (its own examples: "33058407250"), whether it was given as +33…, 0033… or 33…; an equals filter compares
the stored text.
Held to ../shared/data/openapi/brevo/swagger_definition_v3.yml (vendor_contracts.py; Brevo's own description,
tier M in its MANIFEST.md).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, Handler, digits

API_KEY = "xkeysib-3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2-Qw7Er9Ty"
SECRETS = ("api_key",)
COMPANY = False
"""Brevo's contacts have no company attribute (its companies are separate CRM objects)."""
STORED = {"Dana": "442079460958", "Eamon": "12127365000", "Zoë": "33142685300"}
"""The SMS attribute as Brevo keeps it: the number with its country code, digits only."""
STAMP = "2026-11-25 10:00:00+00:00"
FILTER = re.compile(r'^equals\(([A-Z0-9_]+), ?"([^"]*)"\)$')


@web.middleware
async def rate_limit_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Brevo says when to try again in x-sib-ratelimit-* headers, not Retry-After
    (https://developers.brevo.com/docs/limit-headers): the framework's 429 rewritten so."""
    answer = await handler(request)
    if answer.status == 429 and "Retry-After" in answer.headers:
        reset = answer.headers.pop("Retry-After")
        answer.headers.update(
            {"x-sib-ratelimit-limit": "10", "x-sib-ratelimit-remaining": "0", "x-sib-ratelimit-reset": reset}
        )
    return answer


def sms(number: str) -> str:
    """How Brevo stores an SMS attribute given with its country code (+44…, 0044… or 44…)."""
    stored = digits(number)
    return stored[2:] if number.strip().startswith("00") else stored


def build() -> FakeCrm:
    crm = FakeCrm(
        "Brevo",
        unauthorized=lambda: web.json_response({"code": "unauthorized", "message": "Key not found"}, status=401),
        static_credentials={API_KEY},
        credential_header="api-key",
        # The description declares 429 with its errorModel, whose `code` enum has no rate-limit code and Brevo's
        # pages do not give the body: one of the enum's codes, Brevo's own words in `message`.
        error_body=lambda status, message: {"code": "permission_denied", "message": message},
    )
    crm.outer_middlewares.append(rate_limit_headers)

    def new_contact(email: str | None, attributes: dict[str, Any]) -> int:
        contact_id = crm.new_id()
        contact: dict[str, Any] = {
            "id": contact_id,
            "emailBlacklisted": False,
            "smsBlacklisted": False,
            "createdAt": STAMP,
            "modifiedAt": STAMP,
            "listIds": [],
            "attributes": attributes,
        }
        if email:
            contact["email"] = email
        crm.records[str(contact_id)] = contact
        return contact_id

    for p in PEOPLE:
        new_contact(p.email, {"FIRSTNAME": p.first, "LASTNAME": p.last, "SMS": STORED[p.first]})

    def newest_first() -> list[dict[str, Any]]:
        return sorted(crm.records.values(), key=lambda c: int(c["id"]), reverse=True)

    @crm.route("GET", "/v3/contacts")
    async def contacts(request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", 50))
        offset = int(request.query.get("offset", 0))
        if not 0 <= limit <= 1000:
            return web.json_response({"code": "out_of_range", "message": "limit must be 0..1000"}, status=400)
        found = newest_first()
        if request.query.get("sort") == "asc":
            found.reverse()
        if "filter" in request.query:
            match = FILTER.match(request.query["filter"])
            if match is None:
                return web.json_response({"code": "invalid_parameter", "message": "filter is not valid"}, status=400)
            attribute, value = match.groups()
            found = [c for c in found if str(c["attributes"].get(attribute, "")) == value]
        return web.json_response({"contacts": found[offset : offset + limit], "count": len(found)})

    @crm.route("GET", "/v3/contacts/{identifier}")
    async def contact(request: web.Request) -> web.Response:
        if request.query.get("identifierType") != "contact_id":
            return web.json_response({"code": "invalid_parameter", "message": "identifierType"}, status=400)
        found = crm.records.get(request.match_info["identifier"])
        if found is None:
            return web.json_response({"code": "document_not_found", "message": "Contact does not exist"}, status=404)
        return web.json_response({**found, "statistics": {}})

    @crm.route("POST", "/v3/contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        crm.write("contacts", body)
        attributes = dict(body.get("attributes", {}))
        if not body.get("email") and not attributes.get("SMS") and not body.get("ext_id"):
            return web.json_response({"code": "missing_parameter", "message": "email is missing"}, status=400)
        if "SMS" in attributes:
            if not str(attributes["SMS"]).startswith(("+", "00")):
                return web.json_response(
                    {"code": "invalid_parameter", "message": "Invalid phone number: add the country code"}, status=400
                )
            attributes["SMS"] = sms(str(attributes["SMS"]))
        contact_id = new_contact(body.get("email"), copy.deepcopy(attributes))
        return web.json_response({"id": contact_id}, status=201)

    @crm.route("POST", "/v3/crm/notes")
    async def note(request: web.Request) -> web.Response:
        body = await request.json()
        text = body.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 3000:
            return web.json_response({"code": "invalid_parameter", "message": "Not valid data."}, status=400)
        if any(str(i) not in crm.records for i in body.get("contactIds", [])):
            return web.json_response({"code": "invalid_parameter", "message": "Not valid data."}, status=400)
        crm.write("calls", body)
        return web.json_response({"id": f"61a5cd07ca1347c8230{crm.new_id():05d}"})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"api_key": API_KEY, "api_url": crm.url + "/v3"}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "xkeysib-revoked-00000000000000000000000000000000-Zz0Zz0Zz"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://app.brevo.com/contact/index/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [note] = crm.written["calls"]
    assert note["contactIds"] == [int(contact_id)]
    assert note["text"].startswith("Incoming call: +44 20 7946 0958 -> +44 20 7946 0000\n\n")
    assert "Wants a quote for 40 chairs." in note["text"] and "Duration: 1:35" in note["text"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "email": "grace.hopper@example.com",
        "attributes": {"FIRSTNAME": "Grace", "LASTNAME": "Hopper", "SMS": "+442071838750"},
    }

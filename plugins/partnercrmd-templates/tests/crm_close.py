"""Close reproduced from its published API documentation (no machine-readable description is saved).

Follows these pages of https://developer.close.com/:
- https://developer.close.com/resources/advanced-filtering: POST /api/v1/data/search/ with a JSON body of query,
  _fields, _limit, _cursor, results_limit, sort, include_counts (other keys are refused with 400 here). The query
  is a tree of typed queries: and/or of queries, object_type, field_condition (a regular_field of an object type
  with a text condition, modes full_words, phrase, exact_value), has_related (a related object type and its query).
  Reproduced: contacts (object_type contact) with conditions on contact.name and, through has_related, on
  contact_phone.phone; an unknown query type, field or mode is a 400. The answer is {"data": [...], "cursor":
  null}, each object its __object_type, id and the fields _fields names for its type.
- https://developer.close.com/api/resources/contacts/create: POST /api/v1/contact/ (name, title, phones [{phone,
  type}], emails [{email, type}], lead_id, urls, timezone, ...); without lead_id a new lead named after the contact
  is made. Close keeps each phone in E.164 with phone_formatted beside it (here normalised as the account's
  country, GB, reads a national number). Authentication, on the same page: the API key as a Basic user name with an
  empty password; anything else is a 401.
- https://developer.close.com/api/resources/activities/calls/create: POST /api/v1/activity/call/ with the fields
  listed there (contact_id, lead_id, direction inbound or outbound, status, duration <= 604800, phone in E.164,
  note, activity_at, ...; others are refused), answering the activity.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import phonenumbers
from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "api_4xT2vQ9sLm7RkP1bW6nJ3c.8dFhYzUe0aGiKoNr"
SECRETS = ("api_key",)
ABSENT = ("Pop",)
"""Close documents an address in its app for a lead (its html_url), not for a contact."""
STORED = {"Dana": "+44 20 7946 0958"}
"""Close shows each number as its phone_formatted, the international form."""
COMPANY = False
"""A contact's company is its lead, named by lead_id only."""
E164 = phonenumbers.PhoneNumberFormat.E164
STAMP = "2026-11-25T10:00:00.000000+00:00"
SEARCH_KEYS = {"query", "_fields", "_limit", "_cursor", "results_limit", "sort", "include_counts"}
TEXT_MODES = {"full_words", "phrase", "exact_value"}
FIELDS = {"contact": {"name", "title", "display_name"}, "contact_phone": {"phone"}}
CONTACT_KEYS = {"name", "title", "phones", "emails", "lead_id", "urls", "timezone", "created_by", "date_created"}
PHONE_TYPES = {"office", "mobile", "home", "direct", "fax", "url", "other"}
CALL_KEYS = {
    "activity_at",
    "contact_id",
    "conversation_type_id",
    "created_by_id",
    "custom_fields",
    "date_created",
    "direction",
    "duration",
    "lead_id",
    "note",
    "note_html",
    "organization_id",
    "outcome_id",
    "phone",
    "playbook_id",
    "quality_info",
    "recording_url",
    "source",
    "status",
    "user_id",
    "voicemail_url",
}


class Refused(Exception):
    """A search query the Advanced Filtering page does not describe."""


def build() -> FakeCrm:
    basic = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    crm = FakeCrm(
        "Close",
        unauthorized=lambda: web.json_response({"error": "Unauthorized"}, status=401),
        static_credentials={basic},
        error_body=lambda status, message: {"error": message},
    )

    def bad_request(message: str) -> web.Response:
        return web.json_response({"error": message}, status=400)

    def phone_of(number: str, kind: str) -> dict[str, Any]:
        parsed = phonenumbers.parse(number, "GB")
        return {
            "phone": phonenumbers.format_number(parsed, E164),
            "phone_formatted": phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
            "country": phonenumbers.region_code_for_number(parsed),
            "type": kind,
        }

    def new_contact(body: dict[str, Any]) -> str:
        contact_id = f"cont_{crm.new_id()}QzXw"
        lead_id = body.get("lead_id") or f"lead_{crm.new_id()}KpLm"
        crm.records[contact_id] = {
            "id": contact_id,
            "lead_id": lead_id,
            "organization_id": "orga_northwind",
            "name": body["name"],
            "display_name": body["name"],
            "title": body.get("title") or "",
            "phones": [phone_of(p["phone"], p.get("type", "office")) for p in body.get("phones", [])],
            "emails": [{"email": e["email"], "type": e.get("type", "office")} for e in body.get("emails", [])],
            "urls": [],
            "date_created": STAMP,
            "date_updated": STAMP,
        }
        return contact_id

    leads: dict[str, str] = {}
    for p in PEOPLE:
        # Typed in the person's own country's way; Close keeps each in E.164 (phone_of).
        phones = [{"phone": phonenumbers.format_number(phonenumbers.parse(p.phone, p.region), E164), "type": "office"}]
        if p.mobile:
            phones.append({"phone": p.mobile, "type": "mobile"})
        lead = leads.setdefault(p.company, f"lead_{crm.new_id()}KpLm")
        new_contact(
            {
                "name": p.name,
                "title": p.title,
                "lead_id": lead,
                "phones": phones,
                "emails": [{"email": p.email, "type": "office"}],
            }
        )

    def text_matches(condition: dict[str, Any], value: str) -> bool:
        if condition.get("type") != "text" or condition.get("mode") not in TEXT_MODES:
            raise Refused(f"unknown condition: {condition}")
        wanted = str(condition.get("value", "")).lower()
        if condition["mode"] == "exact_value":
            return value.lower() == wanted
        if condition["mode"] == "phrase":
            return wanted in value.lower()
        return all(word in value.lower().split() for word in wanted.split())

    def field_value(query: dict[str, Any], record: dict[str, Any], object_type: str) -> str:
        field = query.get("field", {})
        name = field.get("field_name")
        if field.get("type") != "regular_field" or field.get("object_type") != object_type:
            raise Refused(f"unknown field: {field}")
        if name not in FIELDS.get(object_type, set()):
            raise Refused(f"unknown field: {object_type}.{name}")
        return str(record.get(name) or "")

    def holds(query: dict[str, Any], record: dict[str, Any], object_type: str) -> bool:
        kind = query.get("type")
        if kind == "and":
            return all(holds(q, record, object_type) for q in query.get("queries", []))
        if kind == "or":
            return any(holds(q, record, object_type) for q in query.get("queries", []))
        if kind == "object_type":
            if query.get("object_type") != "contact":
                raise Refused("only contacts are reproduced")
            return object_type == "contact"
        if kind == "field_condition":
            return text_matches(query.get("condition", {}), field_value(query, record, object_type))
        if kind == "has_related":
            if (query.get("this_object_type"), query.get("related_object_type")) != ("contact", "contact_phone"):
                raise Refused(f"unknown relation: {query}")
            return any(holds(query["related_query"], phone, "contact_phone") for phone in record["phones"])
        raise Refused(f"unknown query type: {kind}")

    @crm.route("POST", "/api/v1/data/search/")
    async def search(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = sorted(set(body) - SEARCH_KEYS)
        if unknown:
            return bad_request(f"Unknown keys: {', '.join(unknown)}")
        wanted = body.get("_fields", {}).get("contact", ["id"])
        try:
            hits = [c for c in crm.records.values() if holds(body["query"], c, "contact")]
        except (Refused, KeyError) as problem:
            return bad_request(f"Invalid query: {problem}")
        limit = int(body.get("_limit", 100))
        data = [{"__object_type": "contact", **{k: c[k] for k in wanted if k in c}} for c in hits[:limit]]
        return web.json_response({"data": data, "cursor": None})

    @crm.route("POST", "/api/v1/contact/")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = sorted(set(body) - CONTACT_KEYS)
        if unknown:
            return bad_request(f"Unknown fields: {', '.join(unknown)}")
        if any(p.get("type") not in PHONE_TYPES for p in body.get("phones", [])):
            return bad_request("phones: unknown type")
        crm.write("contacts", body)
        return web.json_response(crm.records[new_contact(body)])

    @crm.route("POST", "/api/v1/activity/call/")
    async def log_call(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = sorted(set(body) - CALL_KEYS)
        if unknown:
            return bad_request(f"Unknown fields: {', '.join(unknown)}")
        contact = crm.records.get(str(body.get("contact_id")))
        if contact is None:
            return web.json_response({"error": "Contact not found"}, status=404)
        if body.get("direction") not in (None, "inbound", "outbound"):
            return bad_request("direction: inbound or outbound")
        if "phone" in body and not str(body["phone"]).startswith("+"):
            return bad_request("phone: E.164 format")
        crm.write("calls", body)
        answer = {"_type": "Call", "id": f"acti_{crm.new_id()}Call", "lead_id": contact["lead_id"], **body}
        return web.json_response(answer | {"date_created": STAMP, "date_updated": STAMP, "source": "External"})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"api_key": API_KEY, "api_url": f"{crm.url}/api/v1"}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "api_revoked.0000000000000000"}


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    assert (call["contact_id"], call["direction"], call["status"]) == (contact_id, "inbound", "completed")
    assert (call["duration"], call["phone"]) == (95, "+442079460958")
    assert call["activity_at"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert call["note"].startswith("Incoming call: +44 20 7946 0958 -> +44 20 7946 0000")
    assert "Wants a quote for 40 chairs." in call["note"] and "Duration: 1:35" in call["note"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "name": "Grace Hopper",
        "phones": [{"phone": "020 7183 8750", "type": "office"}],
        "emails": [{"email": "grace.hopper@example.com", "type": "office"}],
    }

"""Insightly API v3.1 reproduced from its published reference (no machine-readable description is saved).

Follows https://api.na1.insightly.com/v3.1/ (the introduction: version 3.1 at https://api.{pod}.insightly.com/v3.1/;
authentication is HTTP Basic with the user's API key as the user name and an empty password, anything else is a
401) and the reference at https://api.insightly.com/v3.1/Help:
- Contacts: GET /v3.1/Contacts/Search with field_name, field_value, brief, skip, top, count_total (other query
  parameters are refused with 400 here); a contact is found when the named field holds the value as stored
  (field_name one of the contact's fields); the answer is a list of contacts in Insightly's upper-case shape
  (CONTACT_ID, FIRST_NAME, LAST_NAME, TITLE, PHONE, PHONE_MOBILE, PHONE_HOME, PHONE_OTHER, EMAIL_ADDRESS,
  ORGANISATION_ID, DATE_CREATED_UTC "yyyy-MM-dd HH:mm:ss", LINKS...). POST /v3.1/Contacts creates a contact from
  those fields (an unknown field is a 400) and answers it.
- Events: POST /v3.1/Events (TITLE and START_DATE_UTC, END_DATE_UTC "yyyy-MM-dd HH:mm:ss", ALL_DAY, DETAILS...)
  answers the event with its EVENT_ID; POST /v3.1/Events/{id}/Links {LINK_OBJECT_NAME, LINK_OBJECT_ID} links it to
  a record (Contact, Organisation, Opportunity, Project, Lead).
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "5f2c8e1a-7b3d-4c9e-a6f0-1d2e3f4a5b6c"
SECRETS = ("api_key",)
ABSENT = ("SearchByName", "Pop")
"""Search by field compares one whole field (a name typed may be first or last); no documented app address."""
COMPANY = False
"""A contact's organisation is an id (ORGANISATION_ID)."""
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
"""As these users typed them: the international form (the field search compares a field as stored)."""
STAMP = "2026-11-25 10:00:00"
SQL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
SEARCH_PARAMETERS = {"field_name", "field_value", "brief", "skip", "top", "count_total"}
CONTACT_FIELDS = {
    "SALUTATION",
    "FIRST_NAME",
    "LAST_NAME",
    "TITLE",
    "BACKGROUND",
    "PHONE",
    "PHONE_HOME",
    "PHONE_MOBILE",
    "PHONE_OTHER",
    "PHONE_ASSISTANT",
    "PHONE_FAX",
    "EMAIL_ADDRESS",
    "ASSISTANT_NAME",
    "ORGANISATION_ID",
    "OWNER_USER_ID",
    "DATE_OF_BIRTH",
    "SOCIAL_LINKEDIN",
    "SOCIAL_TWITTER",
    "CUSTOMFIELDS",
    "TAGS",
    "LINKS",
}
EVENT_FIELDS = {"TITLE", "LOCATION", "START_DATE_UTC", "END_DATE_UTC", "ALL_DAY", "DETAILS", "REMINDER_DATE_UTC"}
LINK_OBJECTS = {"Contact", "Organisation", "Opportunity", "Project", "Lead"}


def build() -> FakeCrm:
    crm = FakeCrm(
        "Insightly",
        unauthorized=lambda: web.json_response(
            {"Message": "Authorization has been denied for this request."}, status=401
        ),
        static_credentials={"Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()},
        error_body=lambda status, message: {"Message": message},
    )
    events: dict[int, dict[str, Any]] = {}

    def bad_request(message: str) -> web.Response:
        return web.json_response({"Message": message}, status=400)

    def new_contact(body: dict[str, Any]) -> int:
        contact_id = 310000000 + crm.new_id()
        contact: dict[str, Any] = {field: None for field in CONTACT_FIELDS - {"CUSTOMFIELDS", "TAGS", "LINKS"}}
        contact.update(body)
        contact.update(
            {"CONTACT_ID": contact_id, "DATE_CREATED_UTC": STAMP, "DATE_UPDATED_UTC": STAMP, "CUSTOMFIELDS": []}
        )
        contact.setdefault("TAGS", [])
        contact.setdefault("LINKS", [])
        crm.records[str(contact_id)] = contact
        return contact_id

    for number, p in enumerate(PEOPLE):
        new_contact(
            {
                "FIRST_NAME": p.first,
                "LAST_NAME": p.last,
                "TITLE": p.title or None,
                "PHONE": STORED[p.first],
                "PHONE_MOBILE": p.mobile or None,
                "EMAIL_ADDRESS": p.email,
                "ORGANISATION_ID": 52000000 + number if p.company else None,
            }
        )

    @crm.route("GET", "/v3.1/Contacts/Search")
    async def search(request: web.Request) -> web.Response:
        unknown = sorted(set(request.query) - SEARCH_PARAMETERS)
        if unknown:
            return bad_request(f"The request is invalid: unknown parameter {', '.join(unknown)}")
        field, value = request.query.get("field_name", ""), request.query.get("field_value")
        if field not in CONTACT_FIELDS - {"CUSTOMFIELDS", "TAGS", "LINKS"} or value is None:
            return bad_request("The request is invalid: field_name must be a field of a contact, field_value given")
        skip, top = int(request.query.get("skip", 0)), int(request.query.get("top", 500))
        hits = [c for c in crm.records.values() if str(c.get(field) or "").lower() == value.lower()]
        return web.json_response(hits[skip : skip + top])

    @crm.route("POST", "/v3.1/Contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = sorted(set(body) - CONTACT_FIELDS)
        if unknown:
            return bad_request(f"The request is invalid: unknown field {', '.join(unknown)}")
        crm.write("contacts", body)
        return web.json_response(crm.records[str(new_contact(body))])

    @crm.route("POST", "/v3.1/Events")
    async def add_event(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = sorted(set(body) - EVENT_FIELDS)
        if unknown:
            return bad_request(f"The request is invalid: unknown field {', '.join(unknown)}")
        times = [str(body.get(k)) for k in ("START_DATE_UTC", "END_DATE_UTC")]
        if not body.get("TITLE") or not all(SQL_TIME.fullmatch(t) for t in times):
            return bad_request("The request is invalid: TITLE, START_DATE_UTC and END_DATE_UTC (yyyy-MM-dd HH:mm:ss)")
        event_id = 4100000 + crm.new_id()
        events[event_id] = {"EVENT_ID": event_id, **body, "LINKS": []}
        return web.json_response(events[event_id], status=201)

    @crm.route("POST", "/v3.1/Events/{id}/Links")
    async def link_event(request: web.Request) -> web.Response:
        event = events.get(int(request.match_info["id"]))
        if event is None:
            return web.json_response({"Message": "Event not found"}, status=404)
        link = await request.json()
        if link.get("LINK_OBJECT_NAME") not in LINK_OBJECTS or not isinstance(link.get("LINK_OBJECT_ID"), int):
            return bad_request("The request is invalid: LINK_OBJECT_NAME and LINK_OBJECT_ID")
        if link["LINK_OBJECT_NAME"] == "Contact" and str(link["LINK_OBJECT_ID"]) not in crm.records:
            return web.json_response({"Message": "Contact not found"}, status=404)
        event["LINKS"].append(link)
        crm.write("calls", event)
        return web.json_response({"LINK_ID": crm.new_id(), **link}, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"pod": "na1", "api_key": API_KEY, "api_url": f"{crm.url}/v3.1"}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "00000000-dead-beef-0000-000000000000"}


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [event] = crm.written["calls"]
    assert event["LINKS"] == [{"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": int(contact_id)}]
    assert event["TITLE"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert event["START_DATE_UTC"] == f"{start:%Y-%m-%d %H:%M:%S}"
    assert event["END_DATE_UTC"] == f"{start + timedelta(seconds=95):%Y-%m-%d %H:%M:%S}"
    assert "Wants a quote for 40 chairs." in event["DETAILS"] and event["ALL_DAY"] is False


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "FIRST_NAME": "Grace",
        "LAST_NAME": "Hopper",
        "PHONE": "020 7183 8750",
        "EMAIL_ADDRESS": "grace.hopper@example.com",
    }

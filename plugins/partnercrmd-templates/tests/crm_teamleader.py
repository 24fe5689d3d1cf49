"""Teamleader Focus reproduced from its API documentation.

Follows https://developer.focus.teamleader.eu/docs/api/contacts-list (POST /contacts.list {filter: {term}, page:
{size, number}}: the term is looked for in first name, last name, email and telephone; {"data": [...]}),
.../contacts-info (POST /contacts.info {id} -> {"data"}; 404 for an unknown id), .../contacts-add (POST
/contacts.add: last_name required, emails [{type: primary, email}], telephones [{type, number}] -> 201 {"data":
{type: contact, id}}), .../notes-create (POST /notes.create {subject: {type, id}, content} -> 201 {"data": {type:
note, id}}) and https://developer.focus.teamleader.eu/docs/authentication (the authorisation code grant at
/oauth2/authorize and /oauth2/access_token with the client secret; a refresh token is used once, the answer
carrying the next; errors as {"errors": [{"title", "status"}]}). Every call is a POST with a JSON body.
Teamleader keeps a telephone as typed; the term is a case-insensitive part of the text. Held to
../shared/data/openapi/teamleader/teamleader.json where it describes the call sent (contacts.add); its lossy
conversion renders the other calls as GETs without bodies (vendor_contracts.py leaves those out, citing these
pages).
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

SECRETS = ("client_secret", "refresh_token")
GRANT = "refresh_token"
COMPANY = False
"""A contact's companies are links to company records (contacts.info: companies[].company {type, id})."""
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
"""As these users typed them: international form."""
STAMP = "2026-11-25T10:00:00+00:00"


def error(status: int, title: str) -> web.Response:
    return web.json_response({"errors": [{"title": title, "status": status}]}, status=status)


def build() -> FakeCrm:
    crm = FakeCrm(
        "Teamleader Focus",
        unauthorized=lambda: error(401, "Access token is invalid"),
        oauth=OAuthSettings(
            token_path="/oauth2/access_token",
            authorize_path="/oauth2/authorize",
            secret_required=True,
            rotate_refresh_tokens=True,
        ),
        error_body=lambda status, message: {"errors": [{"title": message, "status": status}]},
    )

    def new_contact(data: dict[str, Any]) -> str:
        contact_id = str(uuid.UUID(int=crm.new_id()))
        crm.records[contact_id] = {"id": contact_id, "status": "active", "added_at": STAMP, **data}
        return contact_id

    for p in PEOPLE:
        telephones = [{"type": "phone", "number": STORED[p.first]}]
        if p.mobile:
            telephones.append({"type": "mobile", "number": p.mobile})
        new_contact(
            {
                "first_name": p.first,
                "last_name": p.last,
                "emails": [{"type": "primary", "email": p.email}],
                "telephones": telephones,
            }
        )

    def matches(record: dict[str, Any], term: str) -> bool:
        texts = [record.get("first_name", ""), record.get("last_name", "")]
        texts += [e["email"] for e in record.get("emails", [])] + [t["number"] for t in record.get("telephones", [])]
        return any(term.lower() in text.lower() for text in texts)

    @crm.route("POST", "/contacts.list")
    async def contacts_list(request: web.Request) -> web.Response:
        body = await request.json()
        term = str(body.get("filter", {}).get("term", ""))
        page = body.get("page", {})
        size, number = int(page.get("size", 20)), int(page.get("number", 1))
        hits = [r for r in crm.records.values() if not term or matches(r, term)]
        return web.json_response({"data": hits[(number - 1) * size : number * size]})

    @crm.route("POST", "/contacts.info")
    async def contacts_info(request: web.Request) -> web.Response:
        record = crm.records.get(str((await request.json()).get("id")))
        if record is None:
            return error(404, "Contact not found")
        return web.json_response({"data": record})

    @crm.route("POST", "/contacts.add")
    async def contacts_add(request: web.Request) -> web.Response:
        body = await request.json()
        crm.write("contacts", body)
        if not body.get("last_name"):
            return error(400, "last_name is required")
        contact_id = new_contact(copy.deepcopy(body))
        return web.json_response({"data": {"type": "contact", "id": contact_id}}, status=201)

    @crm.route("POST", "/notes.create")
    async def notes_create(request: web.Request) -> web.Response:
        body = await request.json()
        subject = body.get("subject", {})
        if subject.get("type") != "contact" or subject.get("id") not in crm.records or not body.get("content"):
            return error(400, "subject and content are required")
        crm.write("calls", body)
        return web.json_response({"data": {"type": "note", "id": str(uuid.uuid4())}}, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "refresh_token": crm.oauth.refresh_token,
        "api_url": crm.url,
        "app_url": crm.url,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/contact_detail.php?id={contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [note] = crm.written["calls"]
    assert note["subject"] == {"type": "contact", "id": contact_id}
    assert note["content"].startswith("Incoming call: +44 20 7946 0958 -> +44 20 7946 0000\n\n")
    assert "Wants a quote for 40 chairs." in note["content"] and "Duration: 1:35" in note["content"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "first_name": "Grace",
        "last_name": "Hopper",
        "emails": [{"type": "primary", "email": "grace.hopper@example.com"}],
        "telephones": [{"type": "phone", "number": "020 7183 8750"}],
    }

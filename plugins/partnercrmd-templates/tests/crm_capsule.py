"""Capsule CRM reproduced from its API v2 documentation.

Follows https://developer.capsulecrm.com/v2/operations/Party (searchParties: GET /api/v2/parties/search?q=
"a name, a postcode or a phone number", page and perPage, answering {"parties": [...]}; showParty: GET
/api/v2/parties/{partyId} -> {"party"}, 404 for an unknown one; createParty: POST /api/v2/parties {"party":
{type, firstName, lastName, phoneNumbers: [{number}], emailAddresses: [{address}]}} -> 201 {"party"}),
.../Task (createTask: POST /api/v2/tasks {"task": {description, dueOn, ...}}, description and dueOn required,
-> 201 {"task"}), https://developer.capsulecrm.com/v2/overview/authentication (a bearer token; 401
{"message": ...}) and .../v2/overview/handling-api-responses (4,000 requests an hour; a 429 {"error": "rate limit
reached"} with X-RateLimit-Limit, -Remaining and -Reset, UTC epoch seconds, and no Retry-After).
A person's name is firstName and lastName (`name` is an organisation's); the search is reproduced as Capsule's
global search behaves for these seeds: a number matches when its digits are the stored number's (the way it was
written does not matter, the country code does), a text when every word is in the name or an email address. Held
to ../shared/data/openapi/capsule-crm/openapi.yml (vendor_contracts.py;
a community-written description, tier C in its MANIFEST.md).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, digits, rate_limit_reset_headers

TOKEN = "cpsl-9mN2vXq8RkT4wZp7LbY3sHd6"
SECRETS = ("api_token",)
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "212-736-5000", "Zoë": "+33 1 42 68 53 00"}
"""As these users typed them: international form, or national for the US office's own numbers."""
STAMP = "2026-11-25T10:00:00Z"


def build() -> FakeCrm:
    crm = FakeCrm(
        "Capsule CRM",
        unauthorized=lambda: web.json_response({"message": "authentication failed"}, status=401),
        static_credentials={f"Bearer {TOKEN}"},
        error_body=lambda status, message: {"error": "rate limit reached" if status == 429 else message},
    )
    crm.outer_middlewares.append(rate_limit_reset_headers(4000))
    organisations: dict[str, int] = {}

    def new_party(body: dict[str, Any]) -> int:
        party_id = 11000000 + crm.new_id()
        party: dict[str, Any] = {"id": party_id, "createdAt": STAMP, "updatedAt": STAMP, **body}
        party.setdefault("phoneNumbers", [])
        party.setdefault("emailAddresses", [])
        for i, phone in enumerate(party["phoneNumbers"]):
            phone.setdefault("id", party_id * 10 + i)
        for i, email in enumerate(party["emailAddresses"]):
            email.setdefault("id", party_id * 10 + i)
        crm.records[str(party_id)] = party
        return party_id

    for p in PEOPLE:
        seeded: dict[str, Any] = {
            "type": "person",
            "firstName": p.first,
            "lastName": p.last,
            "phoneNumbers": [{"type": "Work", "number": STORED[p.first]}],
            "emailAddresses": [{"type": "Work", "address": p.email}],
        }
        if p.mobile:
            seeded["phoneNumbers"].append({"type": "Mobile", "number": p.mobile})
        if p.title:
            seeded["jobTitle"] = p.title
        if p.company:
            org_id = organisations.setdefault(p.company, 12000000 + len(organisations))
            seeded["organisation"] = {"id": org_id, "name": p.company, "type": "organisation"}
        new_party(seeded)

    def matches(party: dict[str, Any], q: str) -> bool:
        if len(digits(q)) >= 6 and not q.strip("+0123456789 ()-."):  # a phone number: its digits
            return any(digits(n["number"]) == digits(q) for n in party["phoneNumbers"])
        text = " ".join(
            [party.get("firstName", ""), party.get("lastName", ""), party.get("name", "")]
            + [e["address"] for e in party["emailAddresses"]]
        ).lower()
        return all(word in text for word in q.lower().split())

    @crm.route("GET", "/api/v2/parties/search")
    async def search(request: web.Request) -> web.Response:
        q = request.query.get("q", "")
        per_page = int(request.query.get("perPage", 50))
        page = int(request.query.get("page", 1))
        hits = [r for r in crm.records.values() if q and matches(r, q)]
        return web.json_response({"parties": hits[(page - 1) * per_page : page * per_page]})

    @crm.route("GET", "/api/v2/parties/{id}")
    async def show(request: web.Request) -> web.Response:
        party = crm.records.get(request.match_info["id"])
        if party is None:
            return web.json_response({"message": "Could not find resource"}, status=404)
        return web.json_response({"party": party})

    @crm.route("POST", "/api/v2/parties")
    async def create(request: web.Request) -> web.Response:
        body = (await request.json())["party"]
        if body.get("type") not in ("person", "organisation"):
            return web.json_response({"message": "type is required"}, status=422)
        crm.write("contacts", body)
        party_id = new_party(copy.deepcopy(body))
        return web.json_response({"party": crm.records[str(party_id)]}, status=201)

    @crm.route("POST", "/api/v2/tasks")
    async def create_task(request: web.Request) -> web.Response:
        task = (await request.json())["task"]
        missing = [k for k in ("description", "dueOn") if not task.get(k)]
        if missing:
            return web.json_response({"message": f"{', '.join(missing)} is required"}, status=422)
        if "party" in task and str(task["party"].get("id")) not in crm.records:
            return web.json_response({"message": "party not found"}, status=422)
        crm.write("calls", task)
        answer = {"id": 13000000 + crm.new_id(), "status": "OPEN", "createdAt": STAMP, "updatedAt": STAMP, **task}
        return web.json_response({"task": answer}, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"account": "northwind", "api_token": TOKEN, "api_url": crm.url}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_token": "cpsl-revoked-0000000000000000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://northwind.capsulecrm.com/party/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [task] = crm.written["calls"]
    assert task["party"] == {"id": int(contact_id)} and task["category"] == {"name": "Call"}
    assert task["description"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert task["dueOn"] == f"{start:%Y-%m-%d}"
    assert "Wants a quote for 40 chairs." in task["detail"] and "Duration: 1:35" in task["detail"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "type": "person",
        "firstName": "Grace",
        "lastName": "Hopper",
        "phoneNumbers": [{"number": "020 7183 8750"}],
        "emailAddresses": [{"address": "grace.hopper@example.com"}],
    }

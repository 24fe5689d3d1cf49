"""Freshsales (Freshworks CRM) reproduced from its published API reference (no machine-readable description exists).

Follows https://developers.freshworks.com/crm/api/, section by section:
- https://developers.freshworks.com/crm/api/#authentication: `Authorization: Token token=API_KEY` (any other form
  is refused: 401 {"login": "failed", "message": "Incorrect or expired API key"}), every resource under
  https://{domain}.myfreshworks.com/crm/sales/api/.
- https://developers.freshworks.com/crm/api/#lookup_search: GET /api/lookup with q (the value), f (the field) and
  entities (contact, sales_account, deal) answers {"contacts": {"contacts": [...]}}; a record is found when its
  field holds the value (a phone field as it was written, so "+44 20 7946 0958" does not find "020 7946 0958").
- https://developers.freshworks.com/crm/api/#search: GET /api/search with q and include (the entity types) answers
  a list of {id, type, name, email}, matching the words of a name or an email address.
- https://developers.freshworks.com/crm/api/#view_a_contact: GET /api/contacts/{id}, include=sales_accounts
  side-loading the contact's accounts beside it ({"contact": {...}, "sales_accounts": [...]}); 404 for an unknown
  id.
- https://developers.freshworks.com/crm/api/#create_a_contact: POST /api/contacts {"contact": {...}}, last_name
  required (the other fields of the contact object as listed), answering 200 {"contact": {...}}.
- https://developers.freshworks.com/crm/api/#create_a_note: POST /api/notes {"note": {description,
  targetable_type (Contact, SalesAccount, Deal), targetable_id}}, all three required, answering {"note": {...}}.
Query parameters the reference does not list for a route are refused with 400, as are fields a contact does not
have: a template that misreads a page fails here rather than in a customer's account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "fsk9Xw2LqT7mB4vR1nZ8yC3d"
SECRETS = ("api_key",)
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
"""As these users typed them: the international form (lookup compares a field's value as written)."""
STAMP = "2026-11-25T10:00:00Z"
LOOKUP_PARAMETERS = {"q", "f", "entities"}
SEARCH_PARAMETERS = {"q", "include", "per_page", "page"}
ENTITIES = {"contact", "sales_account", "deal", "user"}
CONTACT_FIELDS = {
    "first_name",
    "last_name",
    "job_title",
    "email",
    "emails",
    "work_number",
    "mobile_number",
    "address",
    "city",
    "state",
    "zipcode",
    "country",
    "sales_account_id",
    "owner_id",
    "lead_source_id",
    "medium",
    "keyword",
    "time_zone",
    "facebook",
    "twitter",
    "linkedin",
    "custom_field",
}
NOTE_TARGETS = {"Contact", "SalesAccount", "Deal"}


def build() -> FakeCrm:
    crm = FakeCrm(
        "Freshsales",
        unauthorized=lambda: web.json_response(
            {"login": "failed", "message": "Incorrect or expired API key"}, status=401
        ),
        static_credentials={f"Token token={API_KEY}"},
    )
    accounts: dict[str, int] = {}

    def bad_request(message: str) -> web.Response:
        return web.json_response({"errors": {"code": 400, "message": [message]}}, status=400)

    def unknown_parameters(request: web.Request, allowed: set[str]) -> web.Response | None:
        unknown = sorted(set(request.query) - allowed)
        return bad_request(f"Unknown parameter: {', '.join(unknown)}") if unknown else None

    def new_contact(body: dict[str, Any], account: str = "") -> int:
        contact_id = 16000000 + crm.new_id()
        first, last = body.get("first_name") or "", body.get("last_name") or ""
        contact: dict[str, Any] = {
            "id": contact_id,
            "first_name": first or None,
            "last_name": last,
            "display_name": f"{first} {last}".strip(),
            "job_title": body.get("job_title"),
            "email": body.get("email"),
            "emails": [{"id": contact_id * 10, "value": body["email"], "is_primary": True, "label": None}]
            if body.get("email")
            else [],
            "work_number": body.get("work_number"),
            "mobile_number": body.get("mobile_number"),
            "created_at": STAMP,
            "updated_at": STAMP,
            "sales_accounts": [],
        }
        if account:
            account_id = accounts.setdefault(account, 17000000 + len(accounts))
            contact["sales_accounts"] = [{"id": account_id, "name": account, "is_primary": True}]
        crm.records[str(contact_id)] = contact
        return contact_id

    for p in PEOPLE:
        new_contact(
            {
                "first_name": p.first,
                "last_name": p.last,
                "job_title": p.title or None,
                "email": p.email,
                "work_number": STORED[p.first],
                "mobile_number": p.mobile or None,
            },
            p.company,
        )

    def shown(contact: dict[str, Any]) -> dict[str, Any]:
        """A contact as the API answers it: its accounts are side-loaded, not inside it."""
        return {k: v for k, v in contact.items() if k != "sales_accounts"}

    @crm.route("GET", "/crm/sales/api/lookup")
    async def lookup(request: web.Request) -> web.Response:
        refused = unknown_parameters(request, LOOKUP_PARAMETERS)
        if refused:
            return refused
        q, field = request.query.get("q", ""), request.query.get("f", "")
        entities = set(request.query.get("entities", "").split(","))
        if not q or not field or not entities or not entities <= ENTITIES - {"user"}:
            return bad_request("q, f and entities (contact, sales_account, deal) are required")
        if field not in CONTACT_FIELDS - {"emails", "custom_field"}:
            return bad_request(f"Unknown field: {field}")
        hits = [shown(c) for c in crm.records.values() if str(c.get(field) or "").lower() == q.lower()]
        return web.json_response({"contacts": {"contacts": hits if "contact" in entities else []}})

    @crm.route("GET", "/crm/sales/api/search")
    async def search(request: web.Request) -> web.Response:
        refused = unknown_parameters(request, SEARCH_PARAMETERS)
        if refused:
            return refused
        q = request.query.get("q", "").lower()
        include = set(request.query.get("include", "").split(","))
        if not q or not include <= ENTITIES:
            return bad_request("q is required; include is a list of contact, sales_account, deal, user")
        per_page = int(request.query.get("per_page", 25))
        found = []
        for c in crm.records.values():
            text = f"{c['display_name']} {c.get('email') or ''}".lower()
            if "contact" in include and all(word in text for word in q.split()):
                found.append({"id": str(c["id"]), "type": "contact", "name": c["display_name"], "email": c["email"]})
        return web.json_response(found[:per_page])

    @crm.route("GET", "/crm/sales/api/contacts/{id}")
    async def view(request: web.Request) -> web.Response:
        refused = unknown_parameters(request, {"include"})
        if refused:
            return refused
        contact = crm.records.get(request.match_info["id"])
        if contact is None:
            return web.json_response({"errors": {"code": 404, "message": ["Contact not found"]}}, status=404)
        answer: dict[str, Any] = {"contact": shown(contact)}
        if "sales_accounts" in request.query.get("include", "").split(","):
            answer["sales_accounts"] = contact["sales_accounts"]
        return web.json_response(answer)

    @crm.route("POST", "/crm/sales/api/contacts")
    async def create(request: web.Request) -> web.Response:
        body = (await request.json()).get("contact")
        if not isinstance(body, dict):
            return bad_request("contact is required")
        unknown = sorted(set(body) - CONTACT_FIELDS)
        if unknown:
            return bad_request(f"Unknown attribute: {', '.join(unknown)}")
        if not body.get("last_name"):
            return bad_request("last_name can't be blank")
        crm.write("contacts", body)
        return web.json_response({"contact": shown(crm.records[str(new_contact(body))])})

    @crm.route("POST", "/crm/sales/api/notes")
    async def note(request: web.Request) -> web.Response:
        body = (await request.json()).get("note")
        if not isinstance(body, dict) or not all(body.get(k) for k in ("description", "targetable_type")):
            return bad_request("description, targetable_type and targetable_id are required")
        if body["targetable_type"] not in NOTE_TARGETS or not isinstance(body.get("targetable_id"), int):
            return bad_request("targetable_type is one of Contact, SalesAccount, Deal; targetable_id a number")
        if body["targetable_type"] == "Contact" and str(body["targetable_id"]) not in crm.records:
            return web.json_response({"errors": {"code": 404, "message": ["Contact not found"]}}, status=404)
        crm.write("calls", body)
        return web.json_response(
            {"note": {"id": 18000000 + crm.new_id(), "created_at": STAMP, "updated_at": STAMP, **body}}
        )

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"domain": "northwind", "api_key": API_KEY, "api_url": f"{crm.url}/crm/sales/api"}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "fsk-revoked-000000000000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"https://northwind.myfreshworks.com/crm/sales/contacts/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [note] = crm.written["calls"]
    assert (note["targetable_type"], note["targetable_id"]) == ("Contact", int(contact_id))
    assert note["description"].startswith("Incoming call: +44 20 7946 0958 -> +44 20 7946 0000")
    assert "Wants a quote for 40 chairs." in note["description"] and "Duration: 1:35" in note["description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "first_name": "Grace",
        "last_name": "Hopper",
        "work_number": "020 7183 8750",
        "email": "grace.hopper@example.com",
    }

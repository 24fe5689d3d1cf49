"""ERPNext (a Frappe site) reproduced from the Frappe framework's REST API documentation and its doctype definitions
(no machine-readable description is published).

Follows https://docs.frappe.io/framework/user/en/api/rest (token authentication: `Authorization: token
api_key:api_secret`, the only credential accepted here, else 401 with Frappe's {"exc_type": "AuthenticationError",
"exception"}; the list parameters fields, filters, or_filters, order_by, limit_start, limit_page_length, limit,
as_dict, debug: any other parameter is refused here), https://docs.frappe.io/framework/user/en/guides/integration/
rest_api/listing_documents (GET /api/resource/{doctype} -> {"data": [...]}, 20 a page unless limit_page_length;
only `name` unless `fields`, a JSON list of field names; filters as a JSON list of [doctype, field, operator,
operand]), .../rest_api/manipulating_documents (GET /api/resource/{doctype}/{name} and POST /api/resource/{doctype}
with the document's fields -> {"data": the document}; 404 DoesNotExistError; 417 MandatoryError for a missing
required field), and the doctypes of frappe/frappe: contact.json (first_name required; last_name, full_name,
email_id, phone, mobile_no, company_name, designation; child tables email_ids and phone_nos),
contact_phone.json (phone, is_primary_phone, is_primary_mobile_no) and communication.json (subject, status and
sent_or_received required; communication_medium one of Email, Chat, Phone, SMS, Visit, Other; reference_doctype
and reference_name link it to a document's timeline).
A filter names a field of the Contact or of a child table (Contact Phone, Contact Email); a filter on a child
table's field keeps the contacts with a matching row, as Frappe's query joins the child table. `like` is SQL's,
case-insensitive. A contact's name (its id) is its full name, as Frappe names contacts; numbers are stored as
these users typed them (PEOPLE's own formats).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "a1b2c3d4e5f6a7b"
API_SECRET = "9f8e7d6c5b4a3f2"
SECRETS = ("api_secret",)
LIST_PARAMETERS = {
    "fields",
    "filters",
    "or_filters",
    "order_by",
    "limit_start",
    "limit_page_length",
    "limit",
    "as_dict",
}
LIST_PARAMETERS |= {"debug"}
CONTACT_FIELDS = {
    "name",
    "first_name",
    "middle_name",
    "last_name",
    "full_name",
    "email_id",
    "phone",
    "mobile_no",
    "company_name",
    "designation",
    "status",
    "salutation",
    "address",
    "user",
}
CHILD_TABLES = {
    "Contact Phone": ("phone_nos", {"phone", "is_primary_phone", "is_primary_mobile_no"}),
    "Contact Email": ("email_ids", {"email_id", "is_primary"}),
}
COMMUNICATION_FIELDS = {
    "subject",
    "content",
    "communication_type",
    "communication_medium",
    "sent_or_received",
    "status",
    "communication_date",
    "phone_no",
    "sender",
    "recipients",
    "reference_doctype",
    "reference_name",
}
OPERATORS = {"=", "!=", "like", "not like"}
DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")


def frappe_error(status: int, exc_type: str, message: str) -> web.Response:
    return web.json_response(
        {"exc_type": exc_type, "exception": f"frappe.exceptions.{exc_type}: {message}"}, status=status
    )


def like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def holds(contact: dict[str, Any], condition: Any) -> bool:
    """One filter, [doctype, field, operator, operand] or [field, operator, operand]; ValueError when malformed."""
    if not isinstance(condition, list) or len(condition) not in (3, 4):
        raise ValueError(f"a filter is [doctype, field, operator, operand]: {condition!r}")
    doctype, field, operator, operand = (
        str(c) for c in (condition if len(condition) == 4 else ["Contact", *condition])
    )
    if doctype == "Contact":
        if field not in CONTACT_FIELDS:
            raise ValueError(f"Field not permitted in query: {field}")
        values = [str(contact.get(field) or "")]
    elif doctype in CHILD_TABLES and field in CHILD_TABLES[doctype][1]:
        values = [str(row.get(field) or "") for row in contact[CHILD_TABLES[doctype][0]]]
    else:
        raise ValueError(f"Field not permitted in query: {doctype}.{field}")
    if operator not in OPERATORS:
        raise ValueError(f"Operator must be one of {', '.join(sorted(OPERATORS))}")
    if operator in ("like", "not like"):
        return any(like(v, operand) for v in values) == (operator == "like")
    return any(v == operand for v in values) == (operator == "=")


def build() -> FakeCrm:
    crm = FakeCrm(
        "ERPNext",
        unauthorized=lambda: frappe_error(401, "AuthenticationError", "Invalid API key or secret"),
        static_credentials={f"token {API_KEY}:{API_SECRET}"},
        error_body=lambda status, message: {"exc_type": "TooManyRequestsError", "exception": message},
    )

    def new_contact(fields: dict[str, Any]) -> dict[str, Any]:
        full = " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p)
        name, n = full, 1
        while name in crm.records:  # Frappe names a second contact of the same name "<name>-1"
            name, n = f"{full}-{n}", n + 1
        phones = [dict(row, idx=i + 1) for i, row in enumerate(fields.get("phone_nos", []))]
        emails = [dict(row, idx=i + 1) for i, row in enumerate(fields.get("email_ids", []))]
        contact: dict[str, Any] = {
            "name": name,
            "doctype": "Contact",
            "first_name": fields["first_name"],
            "last_name": fields.get("last_name"),
            "full_name": full,
            "company_name": fields.get("company_name"),
            "designation": fields.get("designation"),
            "status": "Passive",
            "email_id": next((e["email_id"] for e in emails if e.get("is_primary")), None),
            "phone": next((p["phone"] for p in phones if p.get("is_primary_phone")), None),
            "mobile_no": next((p["phone"] for p in phones if p.get("is_primary_mobile_no")), None),
            "phone_nos": phones,
            "email_ids": emails,
        }
        crm.records[name] = contact
        return contact

    for p in PEOPLE:
        numbers = [{"phone": p.phone, "is_primary_phone": 1, "is_primary_mobile_no": 0}]
        if p.mobile:
            numbers.append({"phone": p.mobile, "is_primary_phone": 0, "is_primary_mobile_no": 1})
        new_contact(
            {
                "first_name": p.first,
                "last_name": p.last,
                "company_name": p.company,
                "designation": p.title or None,
                "email_ids": [{"email_id": p.email, "is_primary": 1}],
                "phone_nos": numbers,
            }
        )

    def json_parameter(request: web.Request, key: str, default: Any) -> Any:
        raw = request.query.get(key)
        if raw is None:
            return default
        value = json.loads(raw)
        if not isinstance(value, list):
            raise ValueError(f"{key} must be a JSON list")
        return value

    @crm.route("GET", "/api/resource/Contact")
    async def list_contacts(request: web.Request) -> web.Response:
        unknown = set(request.query) - LIST_PARAMETERS
        if unknown:
            return frappe_error(417, "ValidationError", f"unknown parameter(s) {', '.join(sorted(unknown))}")
        try:
            fields = json_parameter(request, "fields", ["name"])
            filters = json_parameter(request, "filters", [])
            or_filters = json_parameter(request, "or_filters", [])
            if set(fields) - CONTACT_FIELDS:
                raise ValueError(f"Field not permitted in query: {sorted(set(fields) - CONTACT_FIELDS)}")
            hits = [
                c
                for c in crm.records.values()
                if all(holds(c, f) for f in filters) and (not or_filters or any(holds(c, f) for f in or_filters))
            ]
        except ValueError as problem:  # json.JSONDecodeError is one too
            return frappe_error(417, "DataError", str(problem))
        start = int(request.query.get("limit_start", 0))
        size = int(request.query.get("limit_page_length", request.query.get("limit", 20)))
        page = hits[start : start + size]
        return web.json_response({"data": [{f: c.get(f) for f in fields} for c in page]})

    @crm.route("GET", "/api/resource/Contact/{name}")
    async def get_contact(request: web.Request) -> web.Response:
        contact = crm.records.get(request.match_info["name"])
        if contact is None:
            return frappe_error(404, "DoesNotExistError", f"Contact {request.match_info['name']} not found")
        return web.json_response({"data": contact})

    @crm.route("POST", "/api/resource/Contact")
    async def create_contact(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = set(body) - CONTACT_FIELDS - {"phone_nos", "email_ids"}
        rows_ok = all(
            isinstance(row, dict) and set(row) <= CHILD_TABLES[table][1]
            for table, key in (("Contact Phone", "phone_nos"), ("Contact Email", "email_ids"))
            for row in body.get(key, [])
        )
        if unknown or not rows_ok:
            return frappe_error(417, "ValidationError", f"unknown field(s) {sorted(unknown)} or child rows")
        if not body.get("first_name"):
            return frappe_error(417, "MandatoryError", "[Contact, new-contact]: first_name")
        crm.write("contacts", body)
        return web.json_response({"data": new_contact(body)})

    @crm.route("POST", "/api/resource/Communication")
    async def create_communication(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = set(body) - COMMUNICATION_FIELDS
        if unknown:
            return frappe_error(417, "ValidationError", f"unknown field(s) {sorted(unknown)}")
        missing = [k for k in ("subject", "status", "sent_or_received") if not body.get(k)]
        if missing:
            return frappe_error(417, "MandatoryError", f"[Communication, new-communication]: {', '.join(missing)}")
        if body.get("communication_medium") not in ("", None, "Email", "Chat", "Phone", "SMS", "Visit", "Other"):
            return frappe_error(417, "ValidationError", "Type cannot be that")
        if body["sent_or_received"] not in ("Sent", "Received") or body["status"] not in (
            "Open",
            "Replied",
            "Closed",
            "Linked",
        ):
            return frappe_error(417, "ValidationError", "Sent or Received / Status cannot be that")
        if not DATETIME.match(str(body.get("communication_date", "2026-01-01 00:00:00"))):
            return frappe_error(417, "ValidationError", "communication_date is not a datetime")
        if body.get("reference_doctype") == "Contact" and body.get("reference_name") not in crm.records:
            return frappe_error(404, "LinkValidationError", "Could not find Reference Name")
        crm.write("calls", body)
        return web.json_response({"data": {"name": f"{crm.new_id():010x}", "doctype": "Communication", **body}})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"url": crm.url, "api_key": API_KEY, "api_secret": API_SECRET}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_secret": "0000revoked0000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/app/contact/{contact_id.replace(' ', '%20')}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [communication] = crm.written["calls"]
    assert (communication["reference_doctype"], communication["reference_name"]) == ("Contact", contact_id)
    assert (communication["communication_medium"], communication["sent_or_received"]) == ("Phone", "Received")
    assert communication["communication_date"] == f"{start:%Y-%m-%d %H:%M:%S}"
    assert communication["phone_no"] == "+44 20 7946 0958"
    assert communication["subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in communication["content"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email_ids": [{"email_id": "grace.hopper@example.com", "is_primary": 1}],
        "phone_nos": [{"phone": "020 7183 8750", "is_primary_phone": 1}],
    }

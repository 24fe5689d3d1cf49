"""Dolibarr's REST API reproduced from its documentation: the wiki's developer page and the API classes its API
explorer is generated from (Dolibarr publishes no OpenAPI file of its own).

Follows https://wiki.dolibarr.org/index.php?title=Module_Web_Services_API_REST_(developer) (the module's API at
/api/index.php/xxx), .../htdocs/api/class/api_access.class.php (the user's API key in the DOLAPIKEY header, the
only credential accepted here; 401 {"error": {"code", "message"}} without it or with a wrong one),
.../htdocs/societe/class/api_contacts.class.php (index: GET /contacts with sortfield, sortorder, limit, page,
thirdparty_ids, category, sqlfilters, includecount, includeroles, properties, pagination_data: any other parameter
is refused here; a list of contacts, 404 "Contacts not found" when none matches; sqlfilters as
"(t.field:operator:'value') and|or (…)", each criterion matching the class's own pattern, a field of the contact
table, else 400; get: GET /contacts/{id}, 404 for an unknown one; post: POST /contacts, lastname required ("lastname
field missing"), answering the new id) and .../htdocs/comm/action/class/api_agendaevents.class.php (post: POST
/agendaevents, userownerid and type_code required, answering the new id; the event's datep/datef are Unix times,
its contact contact_id, percentage -1 to 100; a type_code must be one of Dolibarr's event types, AC_TEL a phone
call). `like` is SQL's: % any run of characters, _ any one, case-insensitive as Dolibarr's collation.
Numbers are stored as these users typed them (PEOPLE's own formats).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "dolapikey-Xr7Kp2Qm9Vt4Lw8N"
SECRETS = ("api_key",)
USER_ID = 3
INDEX_PARAMETERS = {
    "sortfield",
    "sortorder",
    "limit",
    "page",
    "thirdparty_ids",
    "category",
    "sqlfilters",
    "includecount",
    "includeroles",
    "properties",
    "pagination_data",
}
CONTACT_COLUMNS = {
    "rowid",
    "lastname",
    "firstname",
    "email",
    "phone",
    "phone_pro",
    "phone_perso",
    "phone_mobile",
    "fax",
    "poste",
    "fk_soc",
    "note_public",
    "note_private",
    "statut",
    "town",
    "zip",
}
CONTACT_PROPERTIES = {
    "lastname",
    "firstname",
    "civility_code",
    "email",
    "phone_pro",
    "phone_perso",
    "phone_mobile",
    "fax",
    "poste",
    "socid",
    "address",
    "zip",
    "town",
    "country_id",
    "note_public",
    "note_private",
    "statut",
}
EVENT_PROPERTIES = {
    "type_code",
    "label",
    "note_private",
    "datep",
    "datef",
    "fulldayevent",
    "percentage",
    "location",
    "userownerid",
    "socid",
    "contact_id",
    "fk_element",
    "elementtype",
}
EVENT_TYPES = {"AC_TEL", "AC_FAX", "AC_EMAIL", "AC_RDV", "AC_INT", "AC_OTH"}
CRITERION = r"\(([^:'()]+):([^:'()]+):([^:()]+)\)"
"""One criterion, as api_contacts.class.php's own pattern reads it: (field:operator:value)."""
FILTER = re.compile(rf"\s*{CRITERION}(\s+(and|or)\s+{CRITERION})*\s*", re.IGNORECASE)
OPERATORS = {"=", "!=", "<>", "like", "notlike"}


def error(status: int, message: str) -> web.Response:
    reason = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}[status]
    return web.json_response({"error": {"code": status, "message": f"{reason}: {message}"}}, status=status)


def like(value: str, pattern: str) -> bool:
    """SQL LIKE, case-insensitive: % any run of characters, _ any one."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def matches(contact: dict[str, Any], sqlfilters: str) -> bool:
    """Whether a contact meets sqlfilters (AND binds tighter than OR, as in SQL); ValueError when it is malformed."""
    if not FILTER.fullmatch(sqlfilters):
        raise ValueError(f"Error when validating parameter sqlfilters -> {sqlfilters}")
    joins = [j.lower() for j in re.findall(r"\)\s+(and|or)\s+\(", sqlfilters, re.IGNORECASE)]
    results = []
    for field, operator, raw in re.findall(CRITERION, sqlfilters):
        column = field.strip().removeprefix("t.")
        if not field.strip().startswith("t.") or column not in CONTACT_COLUMNS or operator.lower() not in OPERATORS:
            raise ValueError(f"Error when validating parameter sqlfilters -> unknown field or operator {field}")
        value = raw.strip()
        if value.startswith("'") and value.endswith("'"):
            value = value[1:-1]
        stored = str(contact.get({"rowid": "id"}.get(column, column)) or "")
        if operator.lower() in ("like", "notlike"):
            results.append(like(stored, value) == (operator.lower() == "like"))
        else:
            results.append((stored == value) == (operator == "="))
    groups, current = [], results[0]
    for join, result in zip(joins, results[1:], strict=True):
        if join == "and":
            current = current and result
        else:
            groups.append(current)
            current = result
    return any([*groups, current])


def build() -> FakeCrm:
    crm = FakeCrm(
        "Dolibarr",
        unauthorized=lambda: error(401, "Access denied"),
        static_credentials={API_KEY},
        credential_header="DOLAPIKEY",
        error_body=lambda status, message: {"error": {"code": status, "message": message}},
    )
    companies: dict[str, str] = {}

    def new_contact(properties: dict[str, Any], company: str = "") -> str:
        contact_id = str(crm.new_id())
        contact: dict[str, Any] = dict.fromkeys(
            ("firstname", "email", "phone_pro", "phone_perso", "phone_mobile", "fax", "poste", "note_public"), None
        )
        contact |= properties | {"id": contact_id, "ref": contact_id, "statut": "1", "socid": None, "socname": None}
        if company:
            contact["socid"] = companies.setdefault(company, str(500 + len(companies)))
            contact["socname"] = company
        crm.records[contact_id] = contact
        return contact_id

    for p in PEOPLE:
        new_contact(
            {
                "lastname": p.last,
                "firstname": p.first,
                "email": p.email,
                "phone_pro": p.phone,
                "phone_mobile": p.mobile or None,
                "poste": p.title or None,
            },
            p.company,
        )

    @crm.route("GET", "/api/index.php/contacts")
    async def index(request: web.Request) -> web.Response:
        unknown = set(request.query) - INDEX_PARAMETERS
        if unknown:
            return error(400, f"unknown parameter(s) {', '.join(sorted(unknown))}")
        sqlfilters = request.query.get("sqlfilters", "")
        try:
            hits = [c for c in crm.records.values() if not sqlfilters or matches(c, sqlfilters)]
        except ValueError as problem:
            return error(400, str(problem))
        limit, page = int(request.query.get("limit", 100)), int(request.query.get("page", 0))
        hits = hits[limit * page : limit * (page + 1)]
        return web.json_response(hits) if hits else error(404, "Contacts not found")

    @crm.route("GET", "/api/index.php/contacts/{id}")
    async def get(request: web.Request) -> web.Response:
        contact = crm.records.get(request.match_info["id"])
        return web.json_response(contact) if contact else error(404, "Contact not found")

    @crm.route("POST", "/api/index.php/contacts")
    async def post(request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("lastname"):
            return error(400, "lastname field missing")
        unknown = set(body) - CONTACT_PROPERTIES
        if unknown:
            return error(400, f"unknown propert(y|ies) {', '.join(sorted(unknown))}")
        crm.write("contacts", body)
        return web.json_response(int(new_contact(body)))

    @crm.route("POST", "/api/index.php/agendaevents")
    async def post_event(request: web.Request) -> web.Response:
        body = await request.json()
        for field in ("userownerid", "type_code"):
            if field not in body:
                return error(400, f"{field} field missing")
        unknown = set(body) - EVENT_PROPERTIES
        if unknown or body["type_code"] not in EVENT_TYPES or not isinstance(body.get("datep"), int):
            return error(500, "Error creating event")
        if not isinstance(body.get("datef", body["datep"]), int) or body.get("datef", body["datep"]) < body["datep"]:
            return error(500, "Error creating event: the end is before the start")
        if body["userownerid"] != USER_ID or not -1 <= body.get("percentage", -1) <= 100:
            return error(500, "Error creating event: owner or percentage")
        if "contact_id" in body and str(body["contact_id"]) not in crm.records:
            return error(500, "Error creating event: no such contact")
        crm.write("calls", body)
        return web.json_response(crm.new_id())

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"url": crm.url, "api_key": API_KEY, "user_id": USER_ID}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "dolapikey-revoked-00000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/contact/card.php?id={contact_id}", f"{crm.url}/contact/card.php?id={contact_id}&action=edit"]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [event] = crm.written["calls"]
    assert (event["type_code"], event["contact_id"], event["userownerid"]) == ("AC_TEL", int(contact_id), USER_ID)
    assert (event["datep"], event["datef"], event["percentage"]) == (
        int(start.timestamp()),
        int(start.timestamp()) + 95,
        100,
    )
    assert event["label"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in event["note_private"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "lastname": "Hopper",
        "firstname": "Grace",
        "email": "grace.hopper@example.com",
        "phone_pro": "020 7183 8750",
    }

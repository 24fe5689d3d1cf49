"""EspoCRM reproduced from its REST API documentation and entity definitions (no machine-readable description is
published).

Follows https://docs.espocrm.com/development/api/ (the API under api/v1/; an API user's key in `X-Api-Key`, the
only credential accepted here, a wrong one 401 with no body; 400 for a missing required field, 404 for a record
that does not exist; datetimes "YYYY-MM-DD HH:mm:ss" in UTC), https://docs.espocrm.com/development/api/crud/#list
(GET {entityType} with maxSize, offset, where, orderBy, order, select, answering {"list", "total"}: any other
parameter is refused here), .../api/crud/#read (GET {entityType}/{id}), .../api/crud/#create (POST {entityType}
with the record's attributes -> the created record; 409 with the duplicates found unless X-Skip-Duplicate-Check),
https://docs.espocrm.com/development/api-search-params/ (where items: type, attribute, value; equals, startsWith,
contains, or, and… as PHP-style query parameters where[0][type]=…; an unknown type or attribute is refused here),
and the entity definitions Contact.json and Call.json of espocrm/espocrm (application/Espo/Modules/Crm/Resources/
metadata/entityDefs): a Contact's lastName is required, its numbers are phoneNumber (the primary one) and
phoneNumberData, its account accountId/accountName; a Call needs name, dateStart, dateEnd (not before dateStart)
and assignedUser, its status is Planned, Held or Not Held, its direction Outbound or Inbound, its parent one of
Account, Lead, Contact, Opportunity, Case, its contacts contactsIds.
`equals` on phoneNumber is reproduced as a comparison with each of the contact's numbers as stored (typed in
international form here); startsWith and contains ignore case, as EspoCRM's database collation does.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

API_KEY = "espo-7c1e9a4b2d8f6e3a5b0c9d7e1f2a4b6c"
SECRETS = ("api_key",)
USER_ID = "6579a1b2c3d4e5f60"
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
"""As these users typed them: the international form."""
LIST_PARAMETERS = {"maxSize", "offset", "where", "orderBy", "order", "select", "primaryFilter", "boolFilterList"}
WHERE_TYPES = {
    "equals",
    "notEquals",
    "startsWith",
    "endsWith",
    "contains",
    "notContains",
    "like",
    "notLike",
    "in",
    "notIn",
    "isNull",
    "isNotNull",
    "or",
    "and",
}
CONTACT_ATTRIBUTES = {
    "id",
    "name",
    "salutationName",
    "firstName",
    "lastName",
    "title",
    "description",
    "emailAddress",
    "emailAddressData",
    "phoneNumber",
    "phoneNumberData",
    "doNotCall",
    "accountId",
    "accountName",
    "assignedUserId",
    "addressStreet",
    "addressCity",
    "addressCountry",
    "addressPostalCode",
}
CALL_ATTRIBUTES = {
    "name",
    "status",
    "dateStart",
    "dateEnd",
    "direction",
    "description",
    "parentType",
    "parentId",
    "contactsIds",
    "leadsIds",
    "usersIds",
    "assignedUserId",
    "teamsIds",
}
DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")
KEY_PART = re.compile(r"\[([^\]]*)\]")


def bad_request(message: str, status: int = 400) -> web.Response:
    return web.json_response({"message": message}, status=status)


def php_query(query: Any) -> dict[str, Any]:
    """PHP-style query parameters (where[0][value][1][type]=…) as nested values, lists where keys count from 0."""
    nested: dict[str, Any] = {}
    for key, value in query.items():
        head = key.split("[", 1)[0]
        parts = [head, *KEY_PART.findall(key[len(head) :])]
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        items = {k: lists(v) for k, v in value.items()}
        if items and all(k.isdigit() for k in items):
            return [items[k] for k in sorted(items, key=int)]
        return items

    return {k: lists(v) for k, v in nested.items()}


def build() -> FakeCrm:
    crm = FakeCrm(
        "EspoCRM",
        unauthorized=lambda: web.Response(status=401),
        static_credentials={API_KEY},
        credential_header="X-Api-Key",
        error_body=lambda status, message: {"message": message},
    )
    accounts: dict[str, str] = {}

    def new_id() -> str:
        return f"{crm.new_id():017x}"

    def new_contact(attributes: dict[str, Any], mobile: str = "") -> dict[str, Any]:
        contact_id = new_id()
        numbers = []
        if attributes.get("phoneNumber"):
            numbers.append({"phoneNumber": attributes["phoneNumber"], "type": "Office", "primary": True})
        if mobile:
            numbers.append({"phoneNumber": mobile, "type": "Mobile", "primary": False})
        first, last = attributes.get("firstName") or "", attributes["lastName"]
        contact: dict[str, Any] = {
            "id": contact_id,
            "name": f"{first} {last}".strip(),
            "firstName": first,
            "lastName": last,
            "title": attributes.get("title"),
            "emailAddress": attributes.get("emailAddress"),
            "phoneNumber": attributes.get("phoneNumber"),
            "phoneNumberData": numbers,
            "description": attributes.get("description"),
            "accountId": None,
            "accountName": None,
            "createdAt": "2026-11-25 10:00:00",
        }
        if attributes.get("accountName"):
            contact["accountId"] = accounts.setdefault(attributes["accountName"], new_id())
            contact["accountName"] = attributes["accountName"]
        crm.records[contact_id] = contact
        return contact

    for p in PEOPLE:
        new_contact(
            {
                "firstName": p.first,
                "lastName": p.last,
                "emailAddress": p.email,
                "phoneNumber": STORED[p.first],
                "title": p.title or None,
                "accountName": p.company,
            },
            mobile=p.mobile,
        )

    def holds(contact: dict[str, Any], item: dict[str, Any]) -> bool:
        kind = item.get("type")
        if kind in ("or", "and"):
            parts = item.get("value")
            if not isinstance(parts, list) or not parts:
                raise ValueError(f"'{kind}' needs a list of where items")
            results = [holds(contact, part) for part in parts]
            return any(results) if kind == "or" else all(results)
        attribute, value = item.get("attribute"), str(item.get("value", ""))
        if kind not in WHERE_TYPES or attribute not in CONTACT_ATTRIBUTES:
            raise ValueError(f"where item {item!r}: unknown type or attribute")
        if attribute == "phoneNumber":
            stored = [n["phoneNumber"] for n in contact["phoneNumberData"]]
        else:
            stored = [str(contact.get(attribute) or "")]
        if kind == "equals":
            return value in stored
        if kind == "startsWith":
            return any(s.lower().startswith(value.lower()) for s in stored)
        if kind == "contains":
            return any(value.lower() in s.lower() for s in stored)
        raise ValueError(f"where type {kind!r} is not reproduced")

    def listed(contact: dict[str, Any]) -> dict[str, Any]:
        """A record in a list: its primary number only (phoneNumberData is read with the record)."""
        return {k: v for k, v in contact.items() if k != "phoneNumberData"}

    @crm.route("GET", "/api/v1/Contact")
    async def list_contacts(request: web.Request) -> web.Response:
        params = php_query(request.query)
        unknown = set(params) - LIST_PARAMETERS
        if unknown:
            return bad_request(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        where = params.get("where", [])
        if not isinstance(where, list):
            return bad_request("where must be an array")
        try:
            hits = [c for c in crm.records.values() if all(holds(c, item) for item in where)]
        except ValueError as problem:
            return bad_request(str(problem))
        offset, size = int(params.get("offset", 0)), int(params.get("maxSize", 20))
        return web.json_response({"list": [listed(c) for c in hits[offset : offset + size]], "total": len(hits)})

    @crm.route("GET", "/api/v1/Contact/{id}")
    async def read_contact(request: web.Request) -> web.Response:
        contact = crm.records.get(request.match_info["id"])
        return web.json_response(contact) if contact else bad_request("Record not found", 404)

    @crm.route("POST", "/api/v1/Contact")
    async def create_contact(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = set(body) - CONTACT_ATTRIBUTES
        if unknown or not body.get("lastName"):
            return bad_request(f"lastName is required; unknown attribute(s): {sorted(unknown)}")
        duplicates = [
            listed(c)
            for c in crm.records.values()
            if (c["firstName"], c["lastName"]) == (body.get("firstName") or "", body["lastName"])
            or (body.get("emailAddress") and c["emailAddress"] == body["emailAddress"])
        ]
        if duplicates and request.headers.get("X-Skip-Duplicate-Check") != "true":
            return web.json_response(duplicates, status=409)
        crm.write("contacts", body)
        return web.json_response(new_contact(body))

    @crm.route("POST", "/api/v1/Call")
    async def create_call(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = set(body) - CALL_ATTRIBUTES
        if unknown:
            return bad_request(f"unknown attribute(s): {sorted(unknown)}")
        missing = [k for k in ("name", "dateStart", "dateEnd", "assignedUserId") if not body.get(k)]
        if missing:
            return bad_request(f"required: {', '.join(missing)}")
        if not DATETIME.match(body["dateStart"]) or not DATETIME.match(body["dateEnd"]):
            return bad_request("dateStart and dateEnd are YYYY-MM-DD HH:mm:ss")
        if body["dateEnd"] < body["dateStart"]:
            return bad_request("dateEnd is before dateStart")
        if body.get("status", "Planned") not in ("Planned", "Held", "Not Held"):
            return bad_request("status is one of Planned, Held, Not Held")
        if body.get("direction", "Outbound") not in ("Outbound", "Inbound"):
            return bad_request("direction is Outbound or Inbound")
        if body.get("parentType") not in (None, "Account", "Lead", "Contact", "Opportunity", "Case"):
            return bad_request("parentType")
        if body.get("parentType") == "Contact" and body.get("parentId") not in crm.records:
            return bad_request("parent not found", 404)
        if any(i not in crm.records for i in body.get("contactsIds", [])) or body["assignedUserId"] != USER_ID:
            return bad_request("a linked record was not found", 404)
        crm.write("calls", body)
        return web.json_response({"id": new_id(), **body})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"url": crm.url, "api_key": API_KEY, "user_id": USER_ID}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_key": "espo-revoked-000000000000000000000000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/#Contact/view/{contact_id}", f"{crm.url}/#Contact/edit/{contact_id}"]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    assert (call["parentType"], call["parentId"], call["contactsIds"]) == ("Contact", contact_id, [contact_id])
    assert (call["status"], call["direction"], call["assignedUserId"]) == ("Held", "Inbound", USER_ID)
    assert call["name"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert call["dateStart"] == f"{start:%Y-%m-%d %H:%M:%S}"
    assert call["dateEnd"] == f"{start + timedelta(seconds=95):%Y-%m-%d %H:%M:%S}"
    assert "Wants a quote for 40 chairs." in call["description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "firstName": "Grace",
        "lastName": "Hopper",
        "emailAddress": "grace.hopper@example.com",
        "phoneNumber": "020 7183 8750",
    }

"""Pipeliner CRM (REST API v100) reproduced from its connector's description and Pipeliner's pages.

Follows ../shared/data/openapi/pipeliner-crm/apiDefinition.swagger.json (Pipeliner's certified Power Platform
connector, Swagger 2.0, tier V) and the pages cited in catalogue/pipeliner.yaml:

- GET /api/v100/rest/spaces/{space_id}/entities/Contacts with `first` (the number of entities, at most 100) and
  filter[<field>]=value with filter-op[<field>]=eq (api-parameters, search-a-record; a filter on a field the entity
  does not have, or an operator other than those reproduced, is 400), answering {success, data: [...], page_info
  {start_cursor, end_cursor, has_previous_page, has_next_page}}; filters AND together; eq compares a value as stored;
- GET …/Contacts/{id} -> {success, data}, 404 {success: false, message} for an unknown id;
- POST …/Contacts (last_name and owner_id required) and POST …/Tasks (subject, unit_id and owner_id required;
  contact_relations [{contact_id}] must name contacts that exist) -> 200 {success, data} with the new entity;
- Basic authentication with the space's API token and password; 401 with WWW-Authenticate: Basic realm="restapi"
  otherwise (api-getting-starter). The connector's `service_url` header is its own routing (Power Platform sends the
  request to that host): the API itself is reached at the service URL.

The contacts here keep their numbers in one of the forms the template asks for (STORED), in phone1; Eamon's mobile
in phone2. Empty fields are left out of the answers (the description declares no nulls).
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

SPACE = "nv3_Northwind"
API = f"/api/v100/rest/spaces/{SPACE}/entities"
TOKEN = "us_Northwind_8F3K2L9Q"
PASSWORD = "pipeliner-api-password-0123456789"
OWNER = "cc9f7d1a-7b6e-4b8f-9a2c-0f1e2d3c4b5a"
UNIT = "ea33e8fb-9a56-4802-a175-2d1f406af7cf"
CALL_TYPE = "a1b2c3d4-0000-4000-8000-00000000ca11"
SECRETS = ("api_password",)
ABSENT = ("SearchByName", "Pop")
"""Pipeliner's filters compare a whole value and AND together (no one request finds a first or a last name), and
its pages give no address of a contact in the app."""
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
MOBILES = {"Eamon": "+1 212-736-5001"}
FILTERABLE = {"phone1", "phone2", "phone3", "phone4", "phone5", "email1", "first_name", "last_name", "is_deleted"}
FIELD = re.compile(r"^filter(-op)?\[([a-z0-9_]+)\]$")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def failure(status: int, message: str) -> web.Response:
    return web.json_response({"success": False, "message": message}, status=status)


def build() -> FakeCrm:
    crm = FakeCrm(
        "Pipeliner CRM",
        unauthorized=lambda: web.Response(
            status=401, text="Unauthorized", headers={"WWW-Authenticate": 'Basic realm="restapi"'}
        ),
        static_credentials={basic(TOKEN, PASSWORD)},
        error_body=lambda status, message: {"success": False, "message": message},
    )
    stamp = "2026-11-25 10:00:00.000000+00:00"

    def new_contact(body: dict[str, Any]) -> dict[str, Any]:
        contact_id = str(uuid.uuid4())
        record = {key: value for key, value in body.items() if value not in (None, "")}
        record["formatted_name"] = " ".join(filter(None, [body.get("first_name"), body.get("last_name")]))
        record |= {
            "id": contact_id,
            "is_deleted": False,
            "is_delete_protected": False,
            "created": stamp,
            "modified": stamp,
            "revision": 1,
            "share_mode": 0,
            "gender": 0,
        }
        crm.records[contact_id] = record
        return record

    for p in PEOPLE:
        seeded = {
            "first_name": p.first,
            "last_name": p.last,
            "email1": p.email,
            "phone1": STORED[p.first],
            "phone2": MOBILES.get(p.first, ""),
            "position": p.title,
            "quick_account_name": p.company,
            "owner_id": OWNER,
        }
        new_contact(seeded)

    @crm.route("GET", API + "/Contacts")
    async def contacts(request: web.Request) -> web.Response:
        values: dict[str, str] = {}
        operators: dict[str, str] = {}
        for key, value in request.query.items():
            if key == "first":
                continue
            found = FIELD.match(key)
            if found is None or found.group(2) not in FILTERABLE:
                return failure(400, f"Unknown query parameter or field: {key}")
            (operators if found.group(1) else values)[found.group(2)] = value
        if any(op != "eq" for op in operators.values()) or set(operators) - set(values):
            return failure(400, "Only filter-op eq on a filtered field is reproduced here")
        first = int(request.query.get("first", 30))
        if not 0 < first <= 100:
            return failure(400, "first: at most 100")
        hits = [r for r in crm.records.values() if all(str(r.get(f, "")) == v for f, v in values.items())]
        page = hits[:first]
        return web.json_response(
            {
                "success": True,
                "data": page,
                "page_info": {
                    "start_cursor": "c0",
                    "end_cursor": f"c{len(page)}",
                    "has_previous_page": False,
                    "has_next_page": len(hits) > first,
                },
            }
        )

    @crm.route("GET", API + "/Contacts/{id}")
    async def contact(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return failure(404, "Entity Contact not found")
        return web.json_response({"success": True, "data": record})

    @crm.route("POST", API + "/Contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("last_name") or not body.get("owner_id"):
            return failure(400, "last_name and owner_id are required")
        crm.write("contacts", body)
        return web.json_response({"success": True, "data": new_contact(body)})

    @crm.route("POST", API + "/Tasks")
    async def task(request: web.Request) -> web.Response:
        body = await request.json()
        if not all(body.get(k) for k in ("subject", "unit_id", "owner_id")):
            return failure(400, "subject, unit_id and owner_id are required")
        if any(r.get("contact_id") not in crm.records for r in body.get("contact_relations", [])):
            return failure(400, "A related contact does not exist")
        crm.write("calls", body)
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
        # The description answers a task's relations as a list of strings: the related contacts' ids here.
        related = [r["contact_id"] for r in body.get("contact_relations", [])]
        saved = {**body, "id": str(uuid.uuid4()), "created": now, "modified": now, "contact_relations": related}
        return web.json_response({"success": True, "data": {k: v for k, v in saved.items() if v is not None}})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {
        "service_url": crm.url,
        "space_id": SPACE,
        "api_token": TOKEN,
        "api_password": PASSWORD,
        "owner_id": OWNER,
        "unit_id": UNIT,
        "call_task_type_id": CALL_TYPE,
    }


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return settings(crm) | {"api_password": "pipeliner-revoked-password-000000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    raise AssertionError("Pipeliner documents no address of a contact: nothing is opened")


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    assert call["contact_relations"] == [{"contact_id": contact_id}]
    assert (call["owner_id"], call["unit_id"], call["activity_type_id"], call["status"]) == (OWNER, UNIT, CALL_TYPE, 4)
    assert call["due_date"] == start.strftime("%Y-%m-%d")
    assert call["subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in call["description"] and "Duration: 1:35" in call["description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "first_name": "Grace",
        "last_name": "Hopper",
        "owner_id": OWNER,
        "unit_id": UNIT,
        "email1": "grace.hopper@example.com",
        "phone1": "020 7183 8750",
    }

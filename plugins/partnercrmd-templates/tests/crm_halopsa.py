"""HaloPSA reproduced from the Halo API's own description and its API documentation.

Follows the Halo API v2 (the description its instances publish, saved as halopsa/swagger.json; Halo's API
documentation pages cited in catalogue/halopsa.yaml): GET /api/Users with search ("Filter by Users like your
search string": name and email contain it), search_phonenumbers ("Filter by Users with a phone number like
your search": the number as stored contains it), count, or pageinate with page_size and page_no -> 200
{"record_count", "users": [...]} (with "page_no" and "page_size" when paginated); GET /api/Users/{id} -> the
user, 404 when there is none; POST /api/Users with an array of users -> 200 with the user saved (a user needs
a site: site_id); POST /api/CallLog with an array of call logs -> 200 with the log saved. Authentication:
OAuth 2 client credentials at /auth/token (form: grant_type, client_id, client_secret, scope all) -> {"access_token",
"token_type": "Bearer", "expires_in": 3600, "scope": "all"}; a request without a valid token gets 401.

The users here typed numbers in several ways (STORED); the template asks for the E.164, international and
national forms, each contained in the stored number or not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

SECRETS = ("client_secret",)
GRANT = "client_credentials"
STORED = {"Dana": "020 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
SITE_ID = 12
USER_FIELDS = (
    "name",
    "firstname",
    "surname",
    "title",
    "emailaddress",
    "phonenumber",
    "mobilenumber",
    "mobilenumber2",
    "homenumber",
    "notes",
)


def truthy(value: str | None) -> bool:
    return (value or "").lower() == "true"


def build() -> FakeCrm:
    crm = FakeCrm(
        "HaloPSA",
        unauthorized=lambda: web.Response(status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}),
        oauth=OAuthSettings(token_path="/auth/token", expires_in=3600, token_extra={"scope": "all"}),
        error_body=lambda status, message: {"ClassName": "HaloException", "Message": message},
    )
    sites = {SITE_ID: ("Head Office", "Northwind Traders"), 14: ("Main", "Contoso")}

    def new_user(body: dict[str, Any]) -> int:
        user_id = crm.new_id()
        site_name, client_name = sites[int(body["site_id"])]
        record = {field: body.get(field) for field in USER_FIELDS}
        record["name"] = body.get("name") or f"{body.get('firstname', '')} {body.get('surname', '')}".strip()
        record |= {"id": user_id, "site_id": float(body["site_id"]), "site_name": site_name, "client_name": client_name}
        crm.records[str(user_id)] = record
        return user_id

    for p in PEOPLE:
        new_user(
            {
                "firstname": p.first,
                "surname": p.last,
                "title": p.title or None,
                "emailaddress": p.email,
                "phonenumber": STORED[p.first],
                "mobilenumber": p.mobile or None,
                "site_id": SITE_ID if p.company == "Northwind Traders" else 14,
            }
        )

    @crm.route("GET", "/api/Users")
    async def users(request: web.Request) -> web.Response:
        search = request.query.get("search", "").lower()
        if truthy(request.query.get("search_phonenumbers")):
            keys: tuple[str, ...] = ("phonenumber", "mobilenumber", "mobilenumber2", "homenumber")
        else:
            keys = ("name", "emailaddress")
        hits = [r for r in crm.records.values() if not search or any(search in str(r[k] or "").lower() for k in keys)]
        if truthy(request.query.get("pageinate")):
            size, number = int(request.query.get("page_size", 50)), int(request.query.get("page_no", 1))
            page = hits[(number - 1) * size : number * size]
            return web.json_response({"page_no": number, "page_size": size, "record_count": len(hits), "users": page})
        count = int(request.query.get("count", len(hits) or 1))
        return web.json_response({"record_count": len(hits), "users": hits[:count]})

    @crm.route("GET", "/api/Users/{id}")
    async def user(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return web.json_response({"ClassName": "HaloNotFoundException", "Message": "User not found"}, status=404)
        return web.json_response(record)

    @crm.route("POST", "/api/Users")
    async def create(request: web.Request) -> web.Response:
        [body] = await request.json()
        if int(body.get("site_id") or 0) not in sites:
            return web.json_response({"ClassName": "HaloException", "Message": "Please select a site"}, status=400)
        crm.write("contacts", body)
        return web.json_response(crm.records[str(new_user(body))])

    @crm.route("POST", "/api/CallLog")
    async def call_log(request: web.Request) -> web.Response:
        [body] = await request.json()
        if str(body.get("user_id")) not in crm.records:
            return web.json_response({"ClassName": "HaloException", "Message": "User not found"}, status=400)
        crm.write("calls", body)
        return web.json_response({"id": crm.new_id(), **body})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "halo_url": crm.url,
        "tenant": "",  # a Halo hosted by the customer: the token endpoint without ?tenant=
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "site_id": SITE_ID,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/customers?userid={contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [log] = crm.written["calls"]
    assert log["user_id"] == int(contact_id)
    assert (log["callerid"], log["diallednumber"]) == ("+44 20 7946 0958", "+44 20 7946 0000")
    assert log["start_date"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert log["summary"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in log["note"] and "Duration: 1:35" in log["note"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "name": "Grace Hopper",
        "firstname": "Grace",
        "surname": "Hopper",
        "emailaddress": "grace.hopper@example.com",
        "phonenumber": "020 7183 8750",
        "site_id": SITE_ID,
    }

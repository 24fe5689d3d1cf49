"""Dynamics 365 Business Central (standard API v1.0) reproduced from its description and Microsoft's pages.

Follows ../shared/data/openapi/dynamics365-business-central/openapi.yaml (the v1.0 standard APIs, tier C: GET and POST
/companies({company_id})/customers with $filter, $select, $top; GET /companies({company_id})/customers({customer_id}))
and the pages cited in catalogue/business-central.yaml:

- the address: /v2.0/<tenant>/<environment>/api/v1.0/companies(<company id>)/customers; an unknown company is 404
  BadRequest_NotFound;
- OData: the answer {"@odata.context", "value": [...]}, each entity with its "@odata.etag" and only the $select'ed
  properties; the filters reproduced are those the template sends, `phoneNumber eq '<literal>'` joined by `or` and
  `contains(displayName,'<literal>')`, a literal in single quotes with a quote inside doubled (an undoubled quote ends
  it, and what follows must then parse: else 400 BadRequest, as Business Central answers a filter it cannot read);
  eq compares the number as typed, contains ignores case;
- POST customers (displayName required, maxLength 100; phoneNumber 30) -> 201 with the customer and its new number;
- the Microsoft identity platform: authorisation code with PKCE for a public client (no secret), refresh tokens that
  rotate; a request without a valid token is 401 with WWW-Authenticate: Bearer and an OData error.

Customers here typed their numbers in the international form Business Central users usually keep (STORED); a customer
has one phone number and no company of its own (COMPANY).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

TENANT = "northwind.onmicrosoft.com"
ENVIRONMENT = "production"
COMPANY_ID = "5d115c9c-44e3-ea11-bb43-000d3a2feca1"
API = f"/v2.0/{TENANT}/{ENVIRONMENT}/api/v1.0"
SECRETS = ("refresh_token",)
GRANT = "refresh_token"
ABSENT = ("LogActivity", "Pop")
"""The v1.0 API keeps no interaction or note of a customer, and gives no web-client address by a customer's id."""
COMPANY = False
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
LITERAL = r"'((?:[^']|'')*)'"
PHONE_TERM = re.compile(rf"^phoneNumber eq {LITERAL}$")
CONTAINS = re.compile(rf"^contains\(displayName,{LITERAL}\)$")


def odata_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def literal(text: str) -> str:
    return text.replace("''", "'")


def split_or(expression: str) -> list[str]:
    """The terms of `a or b or c`, splitting only outside string literals."""
    terms, current, inside = [], "", False
    position = 0
    while position < len(expression):
        if expression[position] == "'":
            inside = not inside
        if not inside and expression.startswith(" or ", position):
            terms.append(current)
            current, position = "", position + 4
            continue
        current += expression[position]
        position += 1
    return [*terms, current]


def build() -> FakeCrm:
    crm = FakeCrm(
        "Dynamics 365 Business Central",
        unauthorized=lambda: odata_error(
            401,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
            {
                "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
            },
        ),
        oauth=OAuthSettings(
            client_id="7a1c2f3e-0000-4000-8000-partnercrmd02",
            client_secret="",
            token_path=f"/{TENANT}/oauth2/v2.0/token",
            authorize_path=f"/{TENANT}/oauth2/v2.0/authorize",
            expires_in=3599,
            rotate_refresh_tokens=True,
            public_client=True,
            loopback_any_port=True,
        ),
        error_body=lambda status, message: {"error": {"code": "TooManyRequests", "message": message}},
    )
    numbers = iter(range(10000, 99999, 10))

    def new_customer(body: dict[str, Any]) -> dict[str, Any]:
        customer_id = str(uuid.uuid4())
        record = {
            "id": customer_id,
            "number": f"C{next(numbers)}",
            "displayName": body["displayName"],
            "type": body.get("type") or "Company",
            "phoneNumber": body.get("phoneNumber") or "",
            "email": body.get("email") or "",
            "website": body.get("website") or "",
            "taxLiable": False,
            "currencyCode": "GBP",
            "blocked": " ",
            "lastModifiedDateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        crm.records[customer_id] = record
        return record

    for p in PEOPLE:
        new_customer({"displayName": p.name, "type": "Person", "phoneNumber": STORED[p.first], "email": p.email})

    def shaped(record: dict[str, Any], select: str) -> dict[str, Any]:
        wanted = [k for k in select.split(",") if k] or list(record)
        return {"@odata.etag": 'W/"JzQ0O0VnQUFBQUo3QlRBQU1EQU"', **{k: record[k] for k in wanted if k in record}}

    def company_ok(request: web.Request) -> bool:
        return request.match_info["company"] == COMPANY_ID

    def matching(expression: str) -> list[dict[str, Any]] | None:
        found = CONTAINS.match(expression)
        if found is not None:
            wanted = literal(found.group(1)).lower()
            return [r for r in crm.records.values() if wanted in r["displayName"].lower()]
        phones = [PHONE_TERM.match(term) for term in split_or(expression)]
        if not expression or any(m is None for m in phones):
            return None
        wanted_phones = {literal(m.group(1)) for m in phones if m is not None}
        return [r for r in crm.records.values() if r["phoneNumber"] in wanted_phones]

    @crm.route("GET", API + "/companies({company})/customers")
    async def customers(request: web.Request) -> web.Response:
        if not company_ok(request):
            return odata_error(404, "BadRequest_NotFound", "The company does not exist.")
        hits = matching(request.query.get("$filter", ""))
        if hits is None:
            return odata_error(400, "BadRequest", "Invalid filter expression. The filter cannot be read.")
        top = int(request.query.get("$top", 20000))
        select = request.query.get("$select", "")
        return web.json_response(
            {
                "@odata.context": f"{crm.url}{API}/$metadata#companies({COMPANY_ID})/customers",
                "value": [shaped(r, select) for r in hits[:top]],
            }
        )

    @crm.route("GET", API + "/companies({company})/customers({customer})")
    async def customer(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["customer"])
        if not company_ok(request) or record is None:
            return odata_error(404, "BadRequest_NotFound", "The customer does not exist.")
        return web.json_response(
            {
                "@odata.context": f"{crm.url}{API}/$metadata#companies({COMPANY_ID})/customers/$entity",
                **shaped(record, request.query.get("$select", "")),
            }
        )

    @crm.route("POST", API + "/companies({company})/customers")
    async def create(request: web.Request) -> web.Response:
        if not company_ok(request):
            return odata_error(404, "BadRequest_NotFound", "The company does not exist.")
        body = await request.json()
        name = str(body.get("displayName") or "")
        if not name or len(name) > 100 or len(str(body.get("phoneNumber") or "")) > 30:
            return odata_error(400, "BadRequest_InvalidRequestBody", "displayName is required (100), phoneNumber 30.")
        crm.write("contacts", body)
        record = new_customer(body)
        return web.json_response(
            {
                "@odata.context": f"{crm.url}{API}/$metadata#companies({COMPANY_ID})/customers/$entity",
                **shaped(record, ""),
            },
            status=201,
        )

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "tenant": TENANT,
        "environment": ENVIRONMENT,
        "company_id": COMPANY_ID,
        "login_url": crm.url,
        "api_url": crm.url,
        "client_id": crm.oauth.client_id,
        "refresh_token": crm.oauth.refresh_token,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    raise AssertionError("Business Central's v1.0 API gives no address of a customer's card: nothing is opened")


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    raise AssertionError("Business Central's v1.0 API keeps no calls: no call is ever sent")


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "displayName": "Grace Hopper",
        "type": "Person",
        "phoneNumber": "020 7183 8750",
        "email": "grace.hopper@example.com",
    }

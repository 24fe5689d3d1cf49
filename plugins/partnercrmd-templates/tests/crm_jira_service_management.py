"""Jira Service Management Cloud reproduced from Atlassian's description and REST pages.

Follows ../shared/data/openapi/jira-service-management/openapi.json (Atlassian's description, tier V) and the pages
cited in catalogue/jira-service-management.yaml:

- GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer?query=&start=&limit=: the service desk's customers
  whose displayName, name or email matches the query ("searching for "John", "Jo", "Smi", or "Smith" will match a
  user with display name "John Smith"": here, a word of the name or the email starting with it), answered as
  PagedDTOUserDTO {size, start, limit, isLastPage, values: [UserDTO], _links}; 404 ErrorResponse for an unknown
  service desk.
- POST /rest/servicedeskapi/customer {displayName, email} -> 201 UserDTO (400 when the email exists or is malformed);
  POST /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer {accountIds} -> 204 (the customers join the desk;
  400 for an account that does not exist).
- POST /rest/servicedeskapi/request {serviceDeskId, requestTypeId, requestFieldValues, raiseOnBehalfOf} -> 201
  CustomerRequestDTO {issueId, issueKey, requestTypeId, serviceDeskId, createdDate, reporter, currentStatus}.
- Basic authentication with the account's email and an API token; anything else is 401 ErrorResponse. Atlassian's
  rate limit answers 429 with Retry-After.

Customers are Atlassian accounts: a name and an email address, no phone number (ABSENT: no search by number); a
customer created here is a customer of the Atlassian site and joins the service desk by the second request.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

SITE = "https://northwind.atlassian.net"
"""The site the answers' links name (the reproduction serves them wherever it listens)."""
EMAIL = "agent@northwind.example"
TOKEN = "ATATT3xFfGF0-jsm-token-0123456789"
DESK = "4"
REQUEST_TYPE = "27"
SECRETS = ("api_token",)
ABSENT = ("SearchByNumber",)
"""Jira Service Management keeps no phone number of a customer, and its API finds no one by number."""
COMPANY = False
"""A customer's organisations are separate resources: the template shows no company."""


def basic(email: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()


def error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"errorMessage": message, "i18nErrorMessage": {"i18nKey": "sd.error", "parameters": []}}, status=status
    )


def build() -> FakeCrm:
    crm = FakeCrm(
        "Jira Service Management",
        unauthorized=lambda: error(401, "Client must be authenticated to access this resource."),
        static_credentials={basic(EMAIL, TOKEN)},
        error_body=lambda status, message: {"errorMessage": message},
    )
    desk_members: set[str] = set()

    def new_customer(display_name: str, email: str) -> dict[str, Any]:
        account_id = f"qm:a713c8ea-1075-4e30-9d96-891a7d181739:{crm.new_id():024x}"
        record = {
            "accountId": account_id,
            "emailAddress": email,
            "displayName": display_name,
            "active": True,
            "timeZone": "Europe/London",
            "_links": {"jiraRest": f"{SITE}/rest/api/2/user?accountId={account_id}"},
        }
        crm.records[account_id] = record
        return record

    for p in PEOPLE:
        desk_members.add(new_customer(p.name, p.email)["accountId"])

    def matches(record: dict[str, Any], query: str) -> bool:
        if not query:
            return True
        words = [*record["displayName"].lower().split(), record["emailAddress"].lower()]
        return record["displayName"].lower().startswith(query) or any(w.startswith(query) for w in words)

    @crm.route("GET", "/rest/servicedeskapi/servicedesk/{desk}/customer")
    async def customers(request: web.Request) -> web.Response:
        if request.match_info["desk"] != DESK:
            return error(404, "The service desk does not exist.")
        query = request.query.get("query", "").strip().lower()
        start, limit = int(request.query.get("start", 0)), int(request.query.get("limit", 50))
        hits = [crm.records[a] for a in desk_members if matches(crm.records[a], query)]
        page = hits[start : start + limit]
        return web.json_response(
            {
                "_expands": [],
                "size": len(page),
                "start": start,
                "limit": limit,
                "isLastPage": start + limit >= len(hits),
                "_links": {"base": f"{SITE}/rest/servicedeskapi", "context": ""},
                "values": page,
            }
        )

    @crm.route("POST", "/rest/servicedeskapi/customer")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        email = str(body.get("email") or "")
        if "@" not in email or any(r["emailAddress"] == email for r in crm.records.values()):
            return error(400, "An account already exists for this email, or the email is not valid.")
        crm.write("contacts", body)
        return web.json_response(new_customer(str(body.get("displayName") or email), email), status=201)

    @crm.route("POST", "/rest/servicedeskapi/servicedesk/{desk}/customer")
    async def add_to_desk(request: web.Request) -> web.Response:
        if request.match_info["desk"] != DESK:
            return error(404, "The service desk does not exist.")
        accounts = (await request.json()).get("accountIds", [])
        if any(a not in crm.records for a in accounts):
            return error(400, "One of the customers does not exist.")
        desk_members.update(accounts)
        return web.Response(status=204)

    @crm.route("POST", "/rest/servicedeskapi/request")
    async def create_request(request: web.Request) -> web.Response:
        body = await request.json()
        reporter = crm.records.get(str(body.get("raiseOnBehalfOf")))
        if reporter is None or body.get("serviceDeskId") != DESK:
            return error(400, "The customer or the service desk does not exist.")
        crm.write("calls", body)
        issue = crm.new_id()
        now = datetime.now(UTC)
        return web.json_response(
            {
                "issueId": str(issue),
                "issueKey": f"HELP-{issue}",
                "requestTypeId": body["requestTypeId"],
                "serviceDeskId": DESK,
                "createdDate": {
                    "iso8601": now.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                    "epochMillis": int(now.timestamp() * 1000),
                },
                "reporter": reporter,
                "currentStatus": {"status": "Waiting for support", "statusCategory": "NEW"},
            },
            status=201,
        )

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {
        "site_url": crm.url,
        "email": EMAIL,
        "api_token": TOKEN,
        "service_desk_id": DESK,
        "request_type_id": REQUEST_TYPE,
    }


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return settings(crm) | {"api_token": "ATATT3xFfGF0-revoked-00000000000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    account = contact_id.replace(":", "%3A")
    return [f"{crm.url}/issues/?jql=reporter%20%3D%20%22{account}%22"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    assert (call["serviceDeskId"], call["requestTypeId"], call["raiseOnBehalfOf"]) == (DESK, REQUEST_TYPE, contact_id)
    fields = call["requestFieldValues"]
    assert fields["summary"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in fields["description"] and "Duration: 1:35" in fields["description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {"displayName": "Grace Hopper", "email": "grace.hopper@example.com"}

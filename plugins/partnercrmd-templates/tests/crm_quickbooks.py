"""QuickBooks Online (Accounting API v3) reproduced from Intuit's description and pages.

Follows ../shared/data/openapi/quickbooks-online/quickbooks.json (Intuit's Postman collection as OpenAPI, tier C:
GET /v3/company/{realmId}/query?query=…&minorversion=…, GET /customer/{id}, POST /customer, each with the
headers Accept and User-Agent) and Intuit's pages cited in catalogue/quickbooks-online.yaml:

- data-queries: `SELECT * FROM Customer [WHERE <filterable property> {=|LIKE} '<text>' [AND …]] [ORDERBY <property>
  [ASC|DESC]] [STARTPOSITION n] [MAXRESULTS n]`, keywords in any case, at most 1,000 entities an answer, `%` the only
  wildcard, no OR, a backslash before a quote inside a literal; the answer {"QueryResponse": {"Customer": [...],
  "startPosition", "maxResults"}, "time"}, and {"QueryResponse": {}, "time"} when nothing matches. A property that is
  not filterable (PrimaryPhone: the Customer page's filterable properties are Id, the names, CompanyName,
  PrimaryEmailAddr, Active, Balance and the MetaData times) or a clause the language lacks (OR) is a 400
  QueryValidationError / QueryParserError fault.
- the Customer entity: Id (a numeric string), SyncToken, DisplayName (unique: a duplicate is fault 6240 "Duplicate Name
  Exists Error"), GivenName, FamilyName, CompanyName, PrimaryPhone/Mobile/AlternatePhone/Fax {FreeFormNumber},
  PrimaryEmailAddr {Address}, Notes, Active, MetaData {CreateTime, LastUpdatedTime}; only properties with values are
  answered; GET /customer/{id} -> {"Customer", "time"}, 400 "Object Not Found" (fault 610) for an unknown id; POST
  /customer -> 200 {"Customer", "time"}, needing DisplayName or one of the name parts.
- OAuth 2.0: authorisation code at appcenter.intuit.com/connect/oauth2, tokens at /oauth2/v1/tokens/bearer with the
  client's id and secret as HTTP Basic; access tokens of an hour; each refresh may answer a new refresh token, which
  replaces the old one. A request without a valid token gets 401 with an AUTHENTICATION fault.

The users here typed numbers in several ways (the seeds' own); customers are seeded one minute apart, Zoë last, so
"the most recently changed" is well defined.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

REALM = "9130357992221046"
API = f"/v3/company/{REALM}"
SECRETS = ("client_secret", "refresh_token")
GRANT = "refresh_token"
ABSENT = ("LogActivity",)
"""QuickBooks Online keeps no call, note or activity of a customer (the catalogue tests assert none is offered)."""
MAX_RESULTS = 1000
FILTERABLE = {
    "Id",
    "DisplayName",
    "GivenName",
    "MiddleName",
    "FamilyName",
    "CompanyName",
    "PrimaryEmailAddr",
    "Active",
    "Balance",
    "MetaData.CreateTime",
    "MetaData.LastUpdatedTime",
}
SELECT = re.compile(
    r"^SELECT \* FROM (?P<entity>\w+)(?: WHERE (?P<where>.+?))?"
    r"(?: ORDERBY (?P<order>[\w.]+)(?: (?P<direction>ASC|DESC))?)?"
    r"(?: STARTPOSITION (?P<start>\d+))?(?: MAXRESULTS (?P<max>\d+))?$",
    re.IGNORECASE,
)
CONDITION = re.compile(r"^(?P<property>[\w.]+) (?P<operator>=|LIKE) '(?P<value>(?:[^'\\]|\\.)*)'$", re.IGNORECASE)
SEEDED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fault(status: int, kind: str, message: str, detail: str, code: str) -> web.Response:
    body = {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}], "type": kind}, "time": now()}
    return web.json_response(body, status=status)


def unauthorized() -> web.Response:
    body = {
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": "Token expired",
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        },
        "time": now(),
    }
    return web.json_response(body, status=401, headers={"WWW-Authenticate": 'Bearer realm="Intuit"'})


def unescape(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal)


def value_of(record: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        record = record.get(part) if isinstance(record, dict) else None  # type: ignore[assignment]
    return record


def matches(record: dict[str, Any], prop: str, operator: str, literal: str) -> bool:
    if prop == "PrimaryEmailAddr":
        prop = "PrimaryEmailAddr.Address"
    stored = value_of(record, prop)
    if stored is None:
        return False
    text = unescape(literal)
    if operator.upper() == "=":
        return str(stored).lower() == text.lower()
    regex = ".*".join(re.escape(part) for part in text.split("%"))
    return re.fullmatch(regex, str(stored), re.IGNORECASE | re.DOTALL) is not None


def build() -> FakeCrm:
    crm = FakeCrm(
        "QuickBooks Online",
        unauthorized=unauthorized,
        oauth=OAuthSettings(
            token_path="/oauth2/v1/tokens/bearer",
            authorize_path="/connect/oauth2",
            client_auth="basic",
            rotate_refresh_tokens=True,
            expires_in=3600,
            token_extra={"x_refresh_token_expires_in": 8726400},
        ),
        error_body=lambda status, message: {
            "Fault": {
                "Error": [
                    {"Message": f"message=ThrottleExceeded; statusCode={status}", "Detail": message, "code": "3001"}
                ],
                "type": "ThrottleExceeded",
            },
            "time": now(),
        },
    )

    def new_customer(body: dict[str, Any], when: datetime) -> dict[str, Any]:
        customer_id = str(crm.new_id())
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S-08:00")
        record: dict[str, Any] = {
            key: value
            for key, value in body.items()
            if key
            in (
                "DisplayName",
                "GivenName",
                "FamilyName",
                "CompanyName",
                "PrimaryPhone",
                "Mobile",
                "AlternatePhone",
                "Fax",
                "PrimaryEmailAddr",
                "Notes",
            )
            and value
        }
        record.setdefault("DisplayName", " ".join(filter(None, [body.get("GivenName"), body.get("FamilyName")])))
        record |= {
            "Id": customer_id,
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "Active": True,
            "Job": False,
            "BillWithParent": False,
            "Taxable": False,
            "Balance": 0,
            "FullyQualifiedName": record["DisplayName"],
            "PrintOnCheckName": record["DisplayName"],
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        }
        crm.records[customer_id] = record
        return record

    for minutes, p in enumerate(PEOPLE):
        seeded: dict[str, Any] = {
            "DisplayName": p.name,
            "GivenName": p.first,
            "FamilyName": p.last,
            "CompanyName": p.company,
            "PrimaryPhone": {"FreeFormNumber": p.phone},
            "PrimaryEmailAddr": {"Address": p.email},
        }
        if p.mobile:
            seeded["Mobile"] = {"FreeFormNumber": p.mobile}
        new_customer(seeded, SEEDED_AT + timedelta(minutes=minutes))

    def invalid_query(detail: str) -> web.Response:
        return fault(400, "ValidationFault", "Error parsing query", f"QueryParserError: {detail}", "4000")

    @crm.route("GET", f"{API}/query")
    async def query(request: web.Request) -> web.Response:
        if request.headers.get("Accept") != "application/json":
            return web.Response(status=200, text="<IntuitResponse/>", content_type="application/xml")
        statement = " ".join(request.query.get("query", "").split())
        parsed = SELECT.match(statement)
        if parsed is None:
            return invalid_query(f"Encountered an unexpected clause in '{statement}'")
        if parsed["entity"].lower() != "customer":
            return invalid_query(f"Entity {parsed['entity']} is not reproduced here")
        hits = [r for r in crm.records.values() if r["Active"]]
        if parsed["where"]:
            for condition in re.split(r" AND ", parsed["where"], flags=re.IGNORECASE):
                found = CONDITION.match(condition.strip())
                if found is None:
                    return invalid_query(f"Encountered an unexpected condition '{condition}' (no OR)")
                if found["property"] not in FILTERABLE:
                    return fault(
                        400,
                        "ValidationFault",
                        "Invalid query",
                        f"QueryValidationError: property '{found['property']}' is not queryable",
                        "4001",
                    )
                hits = [r for r in hits if matches(r, found["property"], found["operator"], found["value"])]
        if parsed["order"]:
            hits.sort(
                key=lambda r: str(value_of(r, parsed["order"]) or ""),
                reverse=(parsed["direction"] or "").upper() == "DESC",
            )
        start = int(parsed["start"] or 1)
        size = min(int(parsed["max"] or 100), MAX_RESULTS)
        page = hits[start - 1 : start - 1 + size]
        answer: dict[str, Any] = {"QueryResponse": {}, "time": now()}
        if page:
            answer["QueryResponse"] = {"Customer": page, "startPosition": start, "maxResults": len(page)}
        return web.json_response(answer)

    @crm.route("GET", API + "/customer/{id}")
    async def customer(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return fault(
                400,
                "ValidationFault",
                "Object Not Found",
                "Object Not Found : Something you're trying to use has been made inactive. Check the fields with "
                "accounts, customers, items, vendors or employees.",
                "610",
            )
        return web.json_response({"Customer": record, "time": now()})

    @crm.route("POST", f"{API}/customer")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        if not any(body.get(k) for k in ("DisplayName", "GivenName", "FamilyName")):
            return fault(
                400,
                "ValidationFault",
                "Required param missing, need to supply the required value for the API",
                "Required parameter DisplayName or one of the name elements is missing",
                "2020",
            )
        name = body.get("DisplayName") or f"{body.get('GivenName', '')} {body.get('FamilyName', '')}".strip()
        if any(r["DisplayName"].lower() == name.lower() for r in crm.records.values()):
            return fault(
                400,
                "ValidationFault",
                "Duplicate Name Exists Error",
                f"The name supplied already exists. : {name}",
                "6240",
            )
        crm.write("contacts", body)
        return web.json_response({"Customer": new_customer(body, datetime.now(UTC)), "time": now()})

    @crm.route("GET", API + "/companyinfo/{id}")
    async def company_info(request: web.Request) -> web.Response:
        return web.json_response(
            {"CompanyInfo": {"Id": "1", "CompanyName": "Northwind Traders", "Country": "GB"}, "time": now()}
        )

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "realm_id": REALM,
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "refresh_token": crm.oauth.refresh_token,
        "api_url": crm.url,
        "app_url": crm.url,
        "authorize_url": crm.url + crm.oauth.authorize_path,
        "token_url": crm.url + crm.oauth.token_path,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/app/customerdetail?nameId={contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    raise AssertionError("QuickBooks Online has no call log: no call is ever sent")


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "DisplayName": "Grace Hopper",
        "GivenName": "Grace",
        "FamilyName": "Hopper",
        "PrimaryPhone": {"FreeFormNumber": "020 7183 8750"},
        "PrimaryEmailAddr": {"Address": "grace.hopper@example.com"},
    }

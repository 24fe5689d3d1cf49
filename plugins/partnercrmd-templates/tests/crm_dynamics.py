"""Microsoft Dynamics 365 (Dataverse Web API v9.2) reproduced from its documentation.

Follows learn.microsoft.com: query-data-web-api, filter-rows and wildcard-characters ($select, $expand,
$filter with contains() and its % wildcard, '' inside string literals, Prefer odata.maxpagesize answered with
@odata.nextLink), retrieve-entity-using-web-api (GET /contacts(<guid>)), create-entity-web-api
(Prefer return=representation: 201 with the record), the phonecall table (directioncode true when
outgoing, actualdurationminutes, phonenumber, regardingobjectid_contact@odata.bind) and the
Microsoft identity platform's client credentials grant (v2-oauth2-client-creds-grant-flow: POST
/<tenant>/oauth2/v2.0/token with scope <environment>/.default). A 401 carries WWW-Authenticate: Bearer and an
OData error body.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

API = "/api/data/v9.2"
TENANT = "8a3b6c5d-1111-2222-3333-444455556666"
SECRETS = ("client_secret",)
GRANT = "client_credentials"


def _literal(text: str) -> str:
    return text.replace("''", "'")


def _like(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    regex = ".*".join(re.escape(part) for part in _literal(pattern).lower().split("%"))
    return re.search(regex, value.lower()) is not None


def build() -> FakeCrm:
    crm = FakeCrm(
        "Dynamics 365",
        unauthorized=lambda: web.json_response(
            {"error": {"code": "", "message": "The access token is invalid or has expired."}},
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ),
        oauth=OAuthSettings(token_path=f"/{TENANT}/oauth2/v2.0/token", expires_in=3599),
    )

    def new_record(
        first: str, last: str, phone: str, email: str, title: str = "", company: str = "", mobile: str = ""
    ) -> str:
        record_id = str(uuid.uuid4())
        crm.records[record_id] = {
            "contactid": record_id,
            "fullname": f"{first} {last}".strip(),
            "firstname": first or None,
            "lastname": last or None,
            "jobtitle": title or None,
            "telephone1": phone or None,
            "mobilephone": mobile or None,
            "emailaddress1": email or None,
            "parentcustomerid_account": {"accountid": str(uuid.uuid4()), "name": company} if company else None,
        }
        return record_id

    for p in PEOPLE:
        new_record(p.first, p.last, p.phone, p.email, p.title, p.company, p.mobile)

    def shaped(record: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        wanted = query.get("$select", "").split(",")
        out = {"@odata.etag": 'W/"1234567"', **{k: record.get(k) for k in wanted}}
        if "parentcustomerid_account" in query.get("$expand", ""):
            out["parentcustomerid_account"] = record["parentcustomerid_account"]
        return out

    def matching(expression: str) -> list[dict[str, Any]]:
        terms = re.findall(r"contains\((\w+),'((?:[^']|'')*)'\)", expression)
        if not terms:
            raise web.HTTPBadRequest(
                text='{"error":{"code":"0x80060888","message":"Syntax error in $filter"}}',
                content_type="application/json",
            )
        return [r for r in crm.records.values() if any(_like(pattern, r.get(field)) for field, pattern in terms)]

    @crm.route("GET", f"{API}/contacts")
    async def contacts(request: web.Request) -> web.Response:
        query = dict(request.query)
        hits = matching(query.get("$filter", ""))
        size = int(re.sub(r"\D", "", request.headers.get("Prefer", "")) or 5000)
        skip = int(query.pop("$skiptoken", "0"))
        page = hits[skip : skip + size]
        answer: dict[str, Any] = {
            "@odata.context": f"{crm.url}{API}/$metadata#contacts",
            "value": [shaped(r, query) for r in page],
        }
        if skip + size < len(hits):
            answer["@odata.nextLink"] = str(request.url.update_query({"$skiptoken": str(skip + size)}))
        return web.json_response(answer)

    @crm.route("GET", API + "/contacts({id})")
    async def get(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return web.json_response({"error": {"code": "0x80040217", "message": "contact Does Not Exist"}}, status=404)
        return web.json_response(shaped(record, dict(request.query)))

    @crm.route("POST", f"{API}/contacts")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        crm.write("contacts", body)
        record_id = new_record(
            body.get("firstname", ""),
            body.get("lastname", ""),
            body.get("telephone1", ""),
            body.get("emailaddress1", ""),
        )
        select = "contactid,fullname,firstname,lastname,jobtitle,telephone1,mobilephone,emailaddress1"
        if request.headers.get("Prefer") != "return=representation":
            return web.Response(status=204, headers={"OData-EntityId": f"{crm.url}{API}/contacts({record_id})"})
        return web.json_response(shaped(crm.records[record_id], {"$select": select}), status=201)

    @crm.route("POST", f"{API}/phonecalls")
    async def phonecalls(request: web.Request) -> web.Response:
        body = await request.json()
        bound = re.fullmatch(r"/contacts\(([0-9a-f-]+)\)", body.get("regardingobjectid_contact@odata.bind", ""))
        if bound is None or bound.group(1) not in crm.records:
            return web.json_response({"error": {"code": "0x80040217", "message": "contact Does Not Exist"}}, status=404)
        crm.write("calls", body)
        return web.json_response({"activityid": str(uuid.uuid4()), **body}, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "org_url": crm.url,
        "tenant_id": TENANT,
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "login_url": crm.url,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    url = f"{crm.url}/main.aspx?pagetype=entityrecord&etn=contact&id={contact_id}"
    return [url, url]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    assert call["regardingobjectid_contact@odata.bind"] == f"/contacts({contact_id})"
    assert (call["directioncode"], call["actualdurationminutes"], call["phonenumber"]) == (False, 2, "+44 20 7946 0958")
    assert call["actualstart"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert call["subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in call["description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "firstname": "Grace",
        "lastname": "Hopper",
        "telephone1": "020 7183 8750",
        "emailaddress1": "grace.hopper@example.com",
    }

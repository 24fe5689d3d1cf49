"""Salesforce reproduced from its REST API documentation.

Follows the REST API Developer Guide (resources_search.htm: GET /services/data/vXX.X/search/?q=SOSL
answering {"searchRecords": [...]} with `attributes`; resources_sobject_retrieve.htm; dome_sobject_create.htm:
201 {"id", "success", "errors"}), the SOSL reference (sforce_api_calls_sosl_find.htm: FIND {…} IN PHONE FIELDS /
IN NAME FIELDS, backslash-escaped reserved characters, trailing * wildcard), the Task object
(sforce_api_objects_task.htm: TaskSubtype, CallType, CallDurationInSeconds, CallObject) and the OAuth 2 refresh
token flow (remoteaccess_oauth_refresh_token_flow.htm): the token answer has no
expires_in, so a 401 [{"errorCode": "INVALID_SESSION_ID"}] is how an expired session shows; this
reproduction has refresh token rotation turned on, as a connected app may. Signing in follows the OAuth 2.0
web server flow (help: remoteaccess_oauth_web_server_flow.htm): client_id the connected app's consumer key,
redirect_uri exactly one of the app's callback URLs, PKCE code_challenge S256; the consumer secret may be left
out when the app does not require it for this flow; who signed in from remoteaccess_using_userinfo_endpoint.htm.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings, same_number

API = "/services/data/v60.0"
SECRETS = ("client_secret", "refresh_token")
GRANT = "refresh_token"


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def build() -> FakeCrm:
    crm = FakeCrm(
        "Salesforce",
        unauthorized=lambda: web.json_response(
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], status=401
        ),
        oauth=OAuthSettings(
            token_path="/services/oauth2/token",
            authorize_path="/services/oauth2/authorize",
            expires_in=None,
            rotate_refresh_tokens=True,
            token_extra={"instance_url": "https://example.my.salesforce.com", "signature": "c2lnbmF0dXJl"},
        ),
    )

    def new_record(first: str, last: str, phone: str, email: str, title: str, company: str, mobile: str = "") -> str:
        contact_id = f"003Dn{crm.new_id():013d}"
        crm.records[contact_id] = {
            "Id": contact_id,
            "FirstName": first or None,
            "LastName": last,
            "Name": f"{first} {last}".strip(),
            "Title": title or None,
            "Phone": phone or None,
            "MobilePhone": mobile or None,
            "Email": email or None,
            "Account": {"attributes": {"type": "Account"}, "Name": company} if company else None,
        }
        return contact_id

    for p in PEOPLE:
        new_record(p.first, p.last, p.phone, p.email, p.title, p.company, p.mobile)

    def shaped(record: dict[str, Any]) -> dict[str, Any]:
        url = f"{API}/sobjects/Contact/{record['Id']}"
        return {"attributes": {"type": "Contact", "url": url}, **record}

    @crm.route("GET", f"{API}/search/")
    async def search(request: web.Request) -> web.Response:
        sosl = request.query["q"]
        found = re.match(r"FIND \{(.*)\} IN (PHONE|NAME) FIELDS RETURNING Contact\(([^)]*)\)", sosl, re.DOTALL)
        if found is None:
            return web.json_response([{"message": "unexpected token", "errorCode": "MALFORMED_SEARCH"}], status=400)
        term, scope = found.group(1), found.group(2)
        if scope == "PHONE":
            number = _unescape(term.strip('"'))
            hits = [
                r
                for r in crm.records.values()
                if any(same_number(number, r[k] or "") for k in ("Phone", "MobilePhone"))
            ]
        else:
            words = [w.lower().rstrip("*") for w in _unescape(term).split()]
            hits = [r for r in crm.records.values() if all(w in r["Name"].lower() for w in words)]
        return web.json_response({"searchRecords": [shaped(r) for r in hits]})

    @crm.route("GET", f"{API}/sobjects/Contact/{{id}}")
    async def get(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return web.json_response(
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], status=404
            )
        return web.json_response(shaped(record))

    @crm.route("POST", f"{API}/sobjects/Contact")
    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("LastName"):
            return web.json_response(
                [{"message": "Required fields are missing: [LastName]", "errorCode": "REQUIRED_FIELD_MISSING"}],
                status=400,
            )
        crm.write("contacts", body)
        contact_id = new_record(
            body.get("FirstName", ""), body["LastName"], body.get("Phone", ""), body.get("Email", ""), "", ""
        )
        return web.json_response({"id": contact_id, "success": True, "errors": []}, status=201)

    @crm.route("POST", f"{API}/sobjects/Task")
    async def task(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("WhoId") not in crm.records:
            return web.json_response(
                [{"message": "Name ID: id value of incorrect type", "errorCode": "FIELD_INTEGRITY_EXCEPTION"}],
                status=400,
            )
        crm.write("calls", body)
        return web.json_response({"id": f"00TDn{crm.new_id():013d}", "success": True, "errors": []}, status=201)

    @crm.route("GET", "/services/oauth2/userinfo")
    async def userinfo(request: web.Request) -> web.Response:
        """The UserInfo endpoint (help: remoteaccess_using_userinfo_endpoint.htm): the signed-in user."""
        assert crm.oauth is not None
        email = crm.oauth.account["email"]
        return web.json_response(
            {
                "sub": f"{crm.url}/id/00DDn000000abcd/005Dn000000wxyz",
                "user_id": "005Dn000000wxyz",
                "organization_id": "00DDn000000abcd",
                "preferred_username": email,
                "name": crm.oauth.account["name"],
                "email": email,
            }
        )

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "instance_url": crm.url,
        "login_url": crm.url,
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "refresh_token": crm.oauth.refresh_token,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/lightning/r/Contact/{contact_id}/view", f"{crm.url}/lightning/r/Contact/{contact_id}/edit"]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [task] = crm.written["calls"]
    assert task["WhoId"] == contact_id
    assert (task["TaskSubtype"], task["Status"], task["CallType"]) == ("Call", "Completed", "Inbound")
    assert (task["CallDurationInSeconds"], task["CallObject"]) == (95, "+44 20 7946 0958")
    assert task["ActivityDate"] == start.strftime("%Y-%m-%d")
    assert task["Subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in task["Description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "FirstName": "Grace",
        "LastName": "Hopper",
        "Phone": "020 7183 8750",
        "Email": "grace.hopper@example.com",
    }

"""Zoho CRM reproduced from its API v8 documentation, and held to Zoho's own v8 description (vendor_contract.py).

Follows https://www.zoho.com/crm/developer/docs/api/v8/search-records.html (GET /crm/v8/Contacts/search
with `phone` or `word`; 204 No Content when nothing matches; `info.more_records`), get-records.html
({"data": [record]}), insert-records.html (201 {"data": [{"code": "SUCCESS", "details": {"id"}}]}),
the Calls module fields (Call_Type, Call_Start_Time, Call_Duration "mm:ss", Who_Id) and refresh.html
(POST accounts…/oauth/v2/token, grant_type=refresh_token; no new refresh token). Access tokens go in
"Authorization: Zoho-oauthtoken …"; a 401 answers {"code": "INVALID_TOKEN", ...}. Signing in follows
auth-request.html and access-refresh.html: client_id, the redirect URI registered with the client (exactly),
access_type=offline for a refresh token; the client secret is required at the token endpoint; who signed in
from get-users.html (type=CurrentUser).

PhoneBridge v3 callnotify (POST /phonebridge/v3/callnotify, application/x-www-form-urlencoded) follows
https://www.zoho.com/phonebridge/developer/v3/incoming-ringing.html, incoming-answered.html,
incoming-missed.html and outgoing-unattended.html: type received|dialed, a state valid for that type,
id, from and to in E.164 with the "+" percent-encoded in the body (the pages' note), start_time
"yyyy-MM-dd HH:mm:ss" GMT where the page makes it mandatory; 400 REQUIRED_PARAM_MISSING otherwise;
{"status": "success", "code": "SUCCESS"} when taken. Every notification taken is in written["callnotify"].
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings, same_number

API = "/crm/v8"
SECRETS = ("client_secret", "refresh_token")
GRANT = "refresh_token"
CALLNOTIFY = "/phonebridge/v3/callnotify"
STATES = {
    "received": {"ringing", "answered", "ended", "missed"},
    "dialed": {"ringing", "answered", "ended", "busy", "invalid", "blocked", "notavailable", "noanswer", "rejected"},
}
NEEDS_START_TIME = {"missed", "busy", "invalid", "blocked", "notavailable", "noanswer", "rejected"}
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
GMT_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")


def _success(record_id: str) -> dict[str, Any]:
    details = {"id": record_id, "Created_Time": "2026-11-25T12:00:00+00:00"}
    return {"data": [{"code": "SUCCESS", "details": details, "message": "record added", "status": "success"}]}


def build() -> FakeCrm:
    crm = FakeCrm(
        "Zoho CRM",
        unauthorized=lambda: web.json_response(
            {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}, status=401
        ),
        oauth=OAuthSettings(
            token_path="/oauth/v2/token",
            authorize_path="/oauth/v2/auth",
            scheme="Zoho-oauthtoken",
            token_extra={"api_domain": "https://www.zohoapis.com"},
        ),
    )

    def new_record(
        first: str, last: str, phone: str, email: str, title: str = "", company: str = "", mobile: str = ""
    ) -> str:
        record_id = str(5725767000000000000 + crm.new_id())
        crm.records[record_id] = {
            "id": record_id,
            "First_Name": first or None,
            "Last_Name": last,
            "Full_Name": f"{first} {last}".strip(),
            "Title": title or None,
            "Phone": phone or None,
            "Mobile": mobile or None,
            "Email": email or None,
            "Account_Name": {"name": company, "id": "5725767000000100001"} if company else None,
        }
        return record_id

    for p in PEOPLE:
        new_record(p.first, p.last, p.phone, p.email, p.title, p.company, p.mobile)

    @crm.route("GET", f"{API}/Contacts/search")
    async def search(request: web.Request) -> web.Response:
        if "phone" in request.query:
            number = request.query["phone"]
            hits = [
                r for r in crm.records.values() if any(same_number(number, r[k] or "") for k in ("Phone", "Mobile"))
            ]
        elif "word" in request.query:
            words = request.query["word"].lower().split()
            hits = [
                r
                for r in crm.records.values()
                if all(any(w in str(r[k] or "").lower() for k in ("Full_Name", "Email")) for w in words)
            ]
        else:
            return web.json_response(
                {"code": "REQUIRED_PARAM_MISSING", "message": "criteria missing", "status": "error"}, status=400
            )
        per_page = int(request.query.get("per_page", 200))
        page = int(request.query.get("page", 1))
        chunk = hits[(page - 1) * per_page : page * per_page]
        if not chunk:
            return web.Response(status=204)
        info = {"per_page": per_page, "count": len(chunk), "page": page, "more_records": page * per_page < len(hits)}
        return web.json_response({"data": chunk, "info": info})

    @crm.route("GET", f"{API}/Contacts/{{id}}")
    async def get(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        return web.json_response({"data": [record]}) if record else web.Response(status=204)

    @crm.route("POST", f"{API}/Contacts")
    async def create(request: web.Request) -> web.Response:
        [body] = (await request.json())["data"]
        crm.write("contacts", body)
        record_id = new_record(
            body.get("First_Name", ""), body["Last_Name"], body.get("Phone", ""), body.get("Email", "")
        )
        return web.json_response(_success(record_id), status=201)

    @crm.route("POST", f"{API}/Calls")
    async def calls(request: web.Request) -> web.Response:
        [body] = (await request.json())["data"]
        if body.get("Who_Id", {}).get("id") not in crm.records:
            return web.json_response(
                {"data": [{"code": "INVALID_DATA", "message": "invalid data", "status": "error"}]}, status=400
            )
        crm.write("calls", body)
        return web.json_response(_success(str(5725767000000200000 + crm.new_id())), status=201)

    @crm.route("POST", CALLNOTIFY)
    async def callnotify(request: web.Request) -> web.Response:
        def missing(what: str) -> web.Response:
            body = {"code": "REQUIRED_PARAM_MISSING", "message": what, "status": "error"}
            return web.json_response(body, status=400)

        if request.content_type != "application/x-www-form-urlencoded":
            return missing(f"form parameters expected, not {request.content_type}")
        raw = await request.text()
        params = dict(parse_qsl(raw, keep_blank_values=True))
        for name in ("type", "state", "id", "from", "to"):
            if not params.get(name):
                return missing(name)
        if params["state"] not in STATES.get(params["type"], set()):
            return missing(f"state {params['state']!r} for type {params['type']!r}")
        for name in ("from", "to"):
            if not E164.match(params[name]) or "+" in re.findall(rf"(?:^|&){name}=([^&]*)", raw)[0]:
                return missing(f"{name} must be E.164 with its + encoded")
        if params["state"] in NEEDS_START_TIME and not GMT_TIME.match(params.get("start_time", "")):
            return missing("start_time")
        crm.write("callnotify", params)
        return web.json_response({"status": "success", "code": "SUCCESS"})

    @crm.route("GET", f"{API}/users")
    async def users(request: web.Request) -> web.Response:
        """GET /crm/v8/users?type=CurrentUser (get-users.html): the signed-in user."""
        if request.query.get("type") != "CurrentUser":
            return web.json_response({"code": "INVALID_DATA", "message": "only CurrentUser here"}, status=400)
        assert crm.oauth is not None
        account = crm.oauth.account
        user = {
            "id": "5725767000000281001",
            "full_name": account["name"],
            "email": account["email"],
            "status": "active",
        }
        return web.json_response({"users": [user]})

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    assert crm.oauth is not None
    return {
        "org_id": "org712345678",
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "refresh_token": crm.oauth.refresh_token,
        "api_url": crm.url,
        "accounts_url": crm.url,
    }


live_settings = settings


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    view = f"https://crm.zoho.com/crm/org712345678/tab/Contacts/{contact_id}"
    return [view, f"{view}/edit"]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [call] = crm.written["calls"]
    assert call["Who_Id"] == {"id": contact_id}
    assert (call["Call_Type"], call["Call_Duration"], call["Call_Result"]) == ("Inbound", "01:35", "Answered")
    assert call["Call_Start_Time"] == start.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert call["Subject"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    assert "Wants a quote for 40 chairs." in call["Description"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "First_Name": "Grace",
        "Last_Name": "Hopper",
        "Phone": "020 7183 8750",
        "Email": "grace.hopper@example.com",
    }

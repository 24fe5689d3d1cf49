"""Bitrix24 reproduced from its REST reference, reached through an inbound webhook.

Follows the vendor's pages (training.bitrix24.com/rest_help and dev.1c-bitrix.ru/rest_help, named in
catalogue/bitrix24.yaml): every method is {portal}/rest/{user}/{code}/{method}.json, answering
{"result": …} or {"error", "error_description"} (a wrong webhook code: 401 INVALID_CREDENTIALS).
crm.duplicate.findbycomm (entity_type CONTACT|LEAD|COMPANY, type PHONE|EMAIL, values: at most 20;
{"result": {"CONTACT": [ids]}}, an empty list when nothing matches), crm.contact.get (id),
crm.contact.list (filter with "%FIELD" for "contains", select, start; "next" and "total"),
crm.contact.add and crm.activity.add (fields; the new id as result). External telephony:
telephony.externalcall.register (USER_ID or USER_PHONE_INNER, PHONE_NUMBER, TYPE 1-4 required; SHOW,
CRM_CREATE 0|1, CRM_ENTITY_TYPE/ID) returns a new CALL_ID ("externalCall.<hex>.<time>");
.show and .hide need a registered CALL_ID and USER_ID; .finish needs CALL_ID, USER_ID and DURATION
(seconds), takes STATUS_CODE (200, 304 missed…), and closes the call: a later method with its
CALL_ID is an error. What the telephony methods took is in written["telephony"], in order.
The telephony pages are dev.1c-bitrix.ru's telephony_externalcall_show.php, telephony_externalcall_hide.php and
telephony_externalcall_finish.php (rest_help/scope_telephony/telephony/).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, same_number

WEBHOOK_USER = "1"
WEBHOOK_CODE = "b24whk3x9q7w2e5r8t1y"
USER_ID = 7
SECRETS = ("webhook_code",)
STORED = {"Dana": "+44 (0)20 7946-0958"}
ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:?[0-9]{2})$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def error(code: str, description: str, status: int = 400) -> web.Response:
    return web.json_response({"error": code, "error_description": description}, status=status)


def build() -> FakeCrm:
    crm = FakeCrm(
        "Bitrix24",
        unauthorized=lambda: error("INVALID_CREDENTIALS", "Invalid request credentials", 401),
        static_credentials={""},  # no Authorization header: the webhook's code in the path is the credential
        credential_header="Authorization",
    )
    calls: dict[str, dict[str, Any]] = {}

    def new_contact(first: str, last: str, phone: str, email: str, title: str = "", mobile: str = "") -> str:
        contact_id = str(crm.new_id())
        phones = [{"ID": str(crm.new_id()), "VALUE_TYPE": "WORK", "VALUE": phone, "TYPE_ID": "PHONE"}] if phone else []
        if mobile:
            phones.append({"ID": str(crm.new_id()), "VALUE_TYPE": "MOBILE", "VALUE": mobile, "TYPE_ID": "PHONE"})
        emails = [{"ID": str(crm.new_id()), "VALUE_TYPE": "WORK", "VALUE": email, "TYPE_ID": "EMAIL"}] if email else []
        crm.records[contact_id] = {
            "ID": contact_id,
            "NAME": first,
            "LAST_NAME": last,
            "POST": title,
            "PHONE": phones,
            "EMAIL": emails,
        }
        return contact_id

    for p in PEOPLE:
        new_contact(p.first, p.last, p.phone, p.email, p.title, p.mobile)

    def find_by_phone(body: dict[str, Any]) -> web.Response:
        values = body.get("values")
        if body.get("entity_type") not in ("LEAD", "CONTACT", "COMPANY") or body.get("type") not in ("PHONE", "EMAIL"):
            return error("", "Parameter 'entity_type' or 'type' is not defined or invalid.")
        if not isinstance(values, list) or not values or len(values) > 20:
            return error("", "Parameter 'values' must be a list of 1 to 20 values.")
        ids = [
            int(r["ID"])
            for r in crm.records.values()
            if any(same_number(str(v), phone["VALUE"]) for v in values for phone in r["PHONE"])
        ]
        if body["entity_type"] != "CONTACT" or not ids:
            return web.json_response({"result": []})
        return web.json_response({"result": {"CONTACT": ids}})

    def contact_list(body: dict[str, Any]) -> web.Response:
        wanted = {k[1:]: str(v).lower() for k, v in dict(body.get("filter", {})).items() if k.startswith("%")}
        hits = [r for r in crm.records.values() if all(v in str(r.get(k, "")).lower() for k, v in wanted.items())]
        start = int(body.get("start", 0) or 0)
        chunk = hits[start : start + 50]
        answer: dict[str, Any] = {"result": chunk, "total": len(hits)}
        if start + 50 < len(hits):
            answer["next"] = start + 50
        return web.json_response(answer)

    def contact_add(body: dict[str, Any]) -> web.Response:
        fields = body.get("fields")
        if not isinstance(fields, dict) or not (fields.get("NAME") or fields.get("LAST_NAME")):
            return error("", "Required fields: NAME or LAST_NAME.")
        crm.write("contacts", fields)
        phone = next((p["VALUE"] for p in fields.get("PHONE", [])), "")
        email = next((e["VALUE"] for e in fields.get("EMAIL", [])), "")
        return web.json_response(
            {"result": int(new_contact(fields.get("NAME", ""), fields["LAST_NAME"], phone, email))}
        )

    def activity_add(body: dict[str, Any]) -> web.Response:
        fields = body.get("fields", {})
        for key in ("OWNER_TYPE_ID", "OWNER_ID", "TYPE_ID", "SUBJECT", "COMMUNICATIONS"):
            if key not in fields:
                return error("", f"Required field {key} is not specified.")
        if str(fields["OWNER_ID"]) not in crm.records:
            return error("", "Owner is not found.")
        crm.write("activities", fields)
        return web.json_response({"result": crm.new_id()})

    def telephony(method: str, body: dict[str, Any]) -> web.Response:
        if method == "register":
            if not body.get("USER_ID") and not body.get("USER_PHONE_INNER"):
                return error("", "USER_ID or USER_PHONE_INNER should be set")
            if not body.get("PHONE_NUMBER") or body.get("TYPE") not in (1, 2, 3, 4):
                return error("", "PHONE_NUMBER and TYPE (1-4) should be set")
            if "CALL_START_DATE" in body and not ISO.match(str(body["CALL_START_DATE"])):
                return error("", "CALL_START_DATE is not ISO 8601")
            call_id = f"externalCall.{secrets.token_hex(16)}.{int(datetime.now().timestamp())}"
            calls[call_id] = {"open": True, **body}
            crm.write("telephony", {"method": method, **body, "result": call_id})
            entity = {"CRM_ENTITY_TYPE": body.get("CRM_ENTITY_TYPE", ""), "CRM_ENTITY_ID": body.get("CRM_ENTITY_ID")}
            return web.json_response({"result": {"CALL_ID": call_id, **entity}})
        call = calls.get(str(body.get("CALL_ID", "")))
        if call is None or not call["open"]:
            return error("", "Call is not found or already finished")
        if not body.get("USER_ID"):
            return error("", "USER_ID should be set")
        if method == "finish":
            if not isinstance(body.get("DURATION"), int):
                return error("", "DURATION should be set (seconds)")
            call["open"] = False
        crm.write("telephony", {"method": method, **body})
        return web.json_response({"result": True if method in ("show", "hide") else {"CALL_ID": body["CALL_ID"]}})

    @crm.route("POST", "/rest/{user}/{code}/{method}")
    async def rest(request: web.Request) -> web.Response:
        if request.match_info["user"] != WEBHOOK_USER or request.match_info["code"] != WEBHOOK_CODE:
            return error("INVALID_CREDENTIALS", "Invalid request credentials", 401)
        method = request.match_info["method"].removesuffix(".json")
        body = await request.json()
        if method == "crm.duplicate.findbycomm":
            return find_by_phone(body)
        if method == "crm.contact.get":
            record = crm.records.get(str(body.get("id")))
            return web.json_response({"result": record}) if record else error("", "Not found")
        if method == "crm.contact.list":
            return contact_list(body)
        if method == "crm.contact.add":
            return contact_add(body)
        if method == "crm.activity.add":
            return activity_add(body)
        if method.startswith("telephony.externalcall."):
            return telephony(method.rsplit(".", 1)[1], body)
        return error("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {
        "portal_url": crm.url,
        "webhook_user": WEBHOOK_USER,
        "webhook_code": WEBHOOK_CODE,
        "user_id": str(USER_ID),
    }


live_settings = settings


WRONG_CODE = "b24whk-revoked-000000"


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "webhook_code": WRONG_CODE}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/crm/contact/details/{contact_id}/"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [activity] = crm.written["activities"]
    assert (activity["OWNER_TYPE_ID"], activity["OWNER_ID"], activity["TYPE_ID"]) == (3, contact_id, 2)
    assert (activity["DIRECTION"], activity["COMPLETED"], activity["RESPONSIBLE_ID"]) == (1, "Y", str(USER_ID))
    assert activity["START_TIME"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert activity["COMMUNICATIONS"] == [{"VALUE": "+44 20 7946 0958", "ENTITY_ID": contact_id, "ENTITY_TYPE_ID": 3}]
    assert "Wants a quote for 40 chairs." in activity["DESCRIPTION"]

"""Microsoft 365 contacts (Microsoft Graph v1.0) and the Microsoft identity platform, reproduced from their docs.

Graph: https://learn.microsoft.com/graph/api/user-list-contacts (GET /me/contacts with $filter, $select, $top,
answering {"value": [...]}), https://learn.microsoft.com/graph/api/resources/contact (property names as in the
CSDL: businessPhones and homePhones collections of strings, mobilePhone a string, emailAddresses
[{name, address}]), https://learn.microsoft.com/graph/filter-query-parameter (eq, any() over a string
collection, startswith), https://learn.microsoft.com/graph/api/user-post-contacts (201 with the contact),
https://learn.microsoft.com/graph/api/user-get (GET /me). An expired or revoked token gets
401 {"error": {"code": "InvalidAuthenticationToken"}}. A $filter this reproduction does not know is refused (400),
as Graph refuses unsupported ones, so the template cannot rely on more than the docs say. Numbers are stored
as Outlook writes them ("+44 20 7946 0958") and compared as exact strings, as Graph does.

Identity platform (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow): a public
client (mobile and desktop registration) with PKCE, no client secret; refresh tokens rotate; a registered
http://127.0.0.1 redirect URI matches any port (reply-url, "localhost exceptions").
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings

TENANT = "common"
GRAPH = "/v1.0"
REDIRECT = "http://127.0.0.1/ui/oauth/callback"
SECRETS = ()
GRANT = "refresh_token"
CLAUSES = (
    (re.compile(r"^(\w+) eq '((?:[^']|'')*)'$"), "eq"),
    (re.compile(r"^(\w+)/any\((\w+):\2 eq '((?:[^']|'')*)'\)$"), "any"),
    (re.compile(r"^startswith\((\w+),'((?:[^']|'')*)'\)$"), "startswith"),
)


def _outlook_format(number: str, region: str) -> str:
    parsed = phonenumbers.parse(number, region)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _split_or(text: str) -> list[str]:
    """The clauses of `a or b or c`, outside quotes."""
    parts, current, quoted = [], "", False
    i = 0
    while i < len(text):
        if text[i] == "'":
            quoted = not quoted
        if not quoted and text.startswith(" or ", i):
            parts.append(current.strip())
            current, i = "", i + 4
            continue
        current += text[i]
        i += 1
    parts.append(current.strip())
    return parts


def matches(record: dict[str, Any], expression: str) -> bool:
    """Whether a contact matches a $filter of the clauses Graph documents for contacts; ValueError for others."""
    for clause in _split_or(expression):
        for pattern, kind in CLAUSES:
            found = pattern.match(clause)
            if found is None:
                continue
            if kind == "eq":
                if record.get(found[1]) == found[2].replace("''", "'"):
                    return True
            elif kind == "any":
                if found[3].replace("''", "'") in (record.get(found[1]) or []):
                    return True
            elif str(record.get(found[1]) or "").lower().startswith(found[2].replace("''", "'").lower()):
                return True
            break
        else:
            raise ValueError(clause)
    return False


def build() -> FakeCrm:
    crm = FakeCrm(
        "Microsoft 365",
        unauthorized=lambda: web.json_response(
            {
                "error": {
                    "code": "InvalidAuthenticationToken",
                    "message": "Access token has expired or is not yet valid.",
                }
            },
            status=401,
        ),
        oauth=OAuthSettings(
            client_id="7a1c2f3e-0000-4000-8000-partnercrmd01",
            client_secret="",
            token_path=f"/{TENANT}/oauth2/v2.0/token",
            authorize_path=f"/{TENANT}/oauth2/v2.0/authorize",
            expires_in=3599,
            rotate_refresh_tokens=True,
            public_client=True,
            loopback_any_port=True,
            redirect_uris=(REDIRECT,),
            account={"name": "Dana Whitfield", "email": "dana@northwind.example"},
        ),
    )
    for person in PEOPLE:
        contact_id = f"AAMkAD{crm.new_id()}"
        crm.records[contact_id] = {
            "id": contact_id,
            "displayName": person.name,
            "givenName": person.first,
            "surname": person.last,
            "companyName": person.company or None,
            "jobTitle": person.title or None,
            "businessPhones": [_outlook_format(person.phone, person.region)],
            "mobilePhone": _outlook_format(person.mobile, person.region) if person.mobile else None,
            "homePhones": [],
            "emailAddresses": [{"name": person.name, "address": person.email}] if person.email else [],
        }

    def selected(record: dict[str, Any], select: str) -> dict[str, Any]:
        wanted = select.split(",") if select else list(record)
        return {key: record.get(key) for key in wanted} | {"id": record["id"]}

    @crm.route("GET", f"{GRAPH}/me")
    async def me(request: web.Request) -> web.Response:
        assert crm.oauth is not None
        account = crm.oauth.account
        return web.json_response(
            {
                "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
                "displayName": account["name"],
                "mail": account["email"],
                "userPrincipalName": account["email"],
            }
        )

    @crm.route("GET", f"{GRAPH}/me/contacts")
    async def list_contacts(request: web.Request) -> web.Response:
        expression = request.query.get("$filter", "")
        try:
            hits = [r for r in crm.records.values() if not expression or matches(r, expression)]
        except ValueError as exc:
            return web.json_response(
                {
                    "error": {
                        "code": "ErrorInvalidUrlQueryFilter",
                        "message": f"The query filter contains one or more invalid nodes: {exc}",
                    }
                },
                status=400,
            )
        top = int(request.query.get("$top", "10"))
        select = request.query.get("$select", "")
        return web.json_response({"value": [selected(r, select) for r in hits[:top]]})

    @crm.route("GET", f"{GRAPH}/me/contacts/{{id}}")
    async def get_contact(request: web.Request) -> web.Response:
        record = crm.records.get(request.match_info["id"])
        if record is None:
            return web.json_response({"error": {"code": "ErrorItemNotFound", "message": "Not found"}}, status=404)
        return web.json_response(selected(record, request.query.get("$select", "")))

    @crm.route("POST", f"{GRAPH}/me/contacts")
    async def create_contact(request: web.Request) -> web.Response:
        body = await request.json()
        contact_id = f"AAMkAD{crm.new_id()}"
        given, surname = body.get("givenName") or "", body.get("surname") or ""
        record = {
            "id": contact_id,
            "displayName": f"{given} {surname}".strip(),
            "givenName": given or None,
            "surname": surname or None,
            "companyName": body.get("companyName"),
            "jobTitle": body.get("jobTitle"),
            "businessPhones": list(body.get("businessPhones") or []),
            "mobilePhone": body.get("mobilePhone"),
            "homePhones": list(body.get("homePhones") or []),
            "emailAddresses": list(body.get("emailAddresses") or []),
        }
        crm.records[contact_id] = record
        crm.write("contacts", body)
        return web.json_response(record, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    """The book's settings against this reproduction (the client comes from the partner's branding)."""
    return {"tenant": TENANT, "login_url": crm.url, "graph_url": crm.url + GRAPH, "outlook_url": crm.url}

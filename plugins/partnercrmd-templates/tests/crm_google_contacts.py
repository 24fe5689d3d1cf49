"""Google Contacts (the People API v1) and Google's OAuth 2.0 for installed apps, reproduced from their docs.

People API: https://developers.google.com/people/api/rest/v1/people/searchContacts (GET v1/people:searchContacts:
`query` and `readMask` required, `pageSize` 10 by default and at most 30; the query matches prefix phrases of a
contact's names, nicknames, emailAddresses, phoneNumbers and organizations; answers {"results": [{"person": ...}]},
nothing for nobody), https://developers.google.com/people/v1/contacts ("Search the user's contacts": clients send a
warm-up request with an empty query to update the cache searches answer from, then search; "Create a new contact"),
https://developers.google.com/people/api/rest/v1/people/get (GET v1/people/{id}; `personFields` required, else 400;
people/me is the signed-in user), https://developers.google.com/people/api/rest/v1/people/createContact (POST
v1/people:createContact with the Person as the body; the answer is the created Person, as `personFields` masks it)
and https://developers.google.com/people/api/rest/v1/people (the Person resource: `resourceName` people/c…, each
field a list of items with `metadata` {primary, source}; a PhoneNumber's `value` is as typed, its output-only
`canonicalForm` the E.164 form Google reads it as, `formattedType` the type's words). Errors are Google's JSON
{"error": {"code", "message", "status"}}: 401 UNAUTHENTICATED for a token that is expired or revoked, 400
INVALID_ARGUMENT for a missing or unknown field mask, 429 RESOURCE_EXHAUSTED when a client goes too fast.

The cache: this reproduction answers a search from what the contacts were at the last warm-up (a request whose
query is empty), as the contacts page's search section describes; before any warm-up the cache is empty. Numbers
are matched as the prefix of the digits of the number as typed or of its canonical form (how "matches prefix
phrases" reads for a number); words as the start of a word of a name, nickname, email address or organization.

Sign-in: https://developers.google.com/identity/protocols/oauth2/native-app (installed apps: authorization code with
PKCE S256 at accounts.google.com/o/oauth2/v2/auth, the loopback redirect http://127.0.0.1 on any port, the token
at oauth2.googleapis.com/token with the client id and the client secret Google issues to Desktop app clients,
which it requires though it is not secret; access_type=offline gives a refresh token, which Google does not rotate)
and https://developers.google.com/identity/protocols/oauth2/scopes (contacts; userinfo.email lets people/me show
the account's address).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

import phonenumbers
from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm, OAuthSettings, digits

SECRETS = ("client_secret", "refresh_token")
GRANT = "refresh_token"
ABSENT = ("LogActivity",)
"""Google Contacts keeps no calls: the template offers no Log activity."""
STORED = {"Dana": "+442079460958"}
"""The number a record shows: Google's canonicalForm (E.164), not the text the user typed."""
ACCOUNT_REGION = "GB"
"""The region Google reads numbers without a country code in (the account's)."""
SCOPE = "https://www.googleapis.com/auth/contacts https://www.googleapis.com/auth/userinfo.email"
PERSON_FIELDS = {"names", "organizations", "phoneNumbers", "emailAddresses", "nicknames", "metadata", "photos"}
"""Field mask paths this reproduction serves (a subset of the valid ones: the others are refused as unknown here)."""
ME = "people/109876543210987654321"


def error(status: int, message: str, code: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message, "status": code}}, status=status)


def canonical(value: str, region: str = ACCOUNT_REGION) -> str | None:
    """Google's canonicalForm of a number as typed: E.164, or None when it cannot be read as a number."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def item(value: dict[str, Any], source_id: str, primary: bool = True) -> dict[str, Any]:
    """One field item with its metadata, as Google answers it."""
    return {"metadata": {"primary": primary, "source": {"type": "CONTACT", "id": source_id}}, **value}


def phone(value: str, kind: str, source_id: str, region: str = ACCOUNT_REGION) -> dict[str, Any]:
    number: dict[str, Any] = {"value": value, "type": kind, "formattedType": kind.capitalize()}
    form = canonical(value, region)
    if form is not None:
        number["canonicalForm"] = form
    return item(number, source_id)


def masked(person: dict[str, Any], mask: str) -> dict[str, Any]:
    """The person with only the fields the mask names (resourceName and etag always)."""
    wanted = set(mask.split(","))
    return {k: copy.deepcopy(v) for k, v in person.items() if k in wanted or k in ("resourceName", "etag")}


def unknown_mask(mask: str, name: str) -> web.Response | None:
    """Google's 400 for a missing or unknown field mask `name` (None when the mask is good)."""
    paths = [p for p in mask.split(",") if p]
    if not paths:
        return error(400, f"{name} mask is required. Please specify one or more valid paths.", "INVALID_ARGUMENT")
    wrong = [p for p in paths if p not in PERSON_FIELDS]
    if wrong:
        return error(400, f"Invalid {name} mask path: {wrong[0]!r}.", "INVALID_ARGUMENT")
    return None


def matches(person: dict[str, Any], query: str) -> bool:
    """Prefix phrases: the query starts a word (and what follows) of a name, nickname, email or organization, or
    its digits start the digits of a phone number as typed or as Google reads it."""
    wanted = query.strip().lower()
    if re.fullmatch(r"[+\d\s().-]+", wanted) and len(digits(wanted)) >= 3:
        return any(
            digits(text).startswith(digits(wanted))
            for number in person.get("phoneNumbers", [])
            for text in (number.get("value", ""), number.get("canonicalForm", ""))
        )
    texts = [
        *(n.get(k, "") for n in person.get("names", []) for k in ("displayName", "givenName", "familyName")),
        *(n.get("value", "") for n in person.get("nicknames", [])),
        *(e.get("value", "") for e in person.get("emailAddresses", [])),
        *(o.get("name", "") for o in person.get("organizations", [])),
    ]
    for text in texts:
        words = str(text).lower().split()
        if any(" ".join(words[i:]).startswith(wanted) for i in range(len(words))):
            return True
    return False


def store(crm: FakeCrm, person: dict[str, Any]) -> dict[str, Any]:
    """A contact saved in Google (names, emailAddresses, organizations as item values; phones as (value, type,
    region)), as Google keeps it: a new resourceName, each item with its metadata, numbers with canonicalForm."""
    number = crm.new_id()
    source_id = f"{number:x}5e1f"
    record: dict[str, Any] = {"resourceName": f"people/c{number}73190", "etag": f"%EgUBAi43PRoEAQIFByIM{number}"}
    record.update({k: [item(v, source_id) for v in values] for k, values in person.items() if k != "phones"})
    if person.get("phones"):
        record["phoneNumbers"] = [phone(value, kind, source_id, region) for value, kind, region in person["phones"]]
    crm.records[record["resourceName"]] = record
    return record


def add_elsewhere(crm: FakeCrm, first: str, last: str, number: str) -> None:
    """A contact the user adds in Google Contacts itself (on the phone): in Google, not yet in its search cache."""
    names = [{"displayName": f"{first} {last}", "givenName": first, "familyName": last}]
    store(crm, {"names": names, "phones": [(number, "mobile", ACCOUNT_REGION)]})


def build() -> FakeCrm:
    crm = FakeCrm(
        "Google",
        unauthorized=lambda: error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
            "valid authentication credential.",
            "UNAUTHENTICATED",
        ),
        oauth=OAuthSettings(
            client_id="204816327531-partnercrmd0desktop0app.apps.googleusercontent.com",
            client_secret="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",
            token_path="/token",
            authorize_path="/o/oauth2/v2/auth",
            expires_in=3599,
            secret_required=True,  # Desktop app clients present their (non-secret) secret at the token endpoint
            loopback_any_port=True,
            redirect_uris=("http://127.0.0.1/ui/oauth/callback",),
            token_extra={"scope": SCOPE},
            account={"name": "Dana Whitfield", "email": "dana@northwind.example"},
        ),
        error_body=lambda status, message: {
            "error": {
                "code": status,
                "message": message,
                "status": "RESOURCE_EXHAUSTED" if status == 429 else "UNAVAILABLE",
            }
        },
    )
    cache: list[dict[str, Any]] = []
    """The contacts as they were at the last warm-up: what searches answer from."""

    def add(person: dict[str, Any]) -> dict[str, Any]:
        return store(crm, person)

    for seed in PEOPLE:
        phones = [(seed.phone, "work", seed.region)] + ([(seed.mobile, "mobile", seed.region)] if seed.mobile else [])
        add(
            {
                "names": [{"displayName": seed.name, "givenName": seed.first, "familyName": seed.last}],
                "emailAddresses": [{"value": seed.email, "type": "work", "formattedType": "Work"}],
                "organizations": [{"name": seed.company, **({"title": seed.title} if seed.title else {})}],
                "phones": phones,
            }
        )

    @crm.route("GET", "/v1/people:searchContacts")
    async def search_contacts(request: web.Request) -> web.Response:
        if "query" not in request.query:
            return error(400, "query is required.", "INVALID_ARGUMENT")
        refused = unknown_mask(request.query.get("readMask", ""), "readMask")
        if refused is not None:
            return refused
        query = request.query["query"]
        if query == "":  # the warm-up: the cache is brought up to date; nothing is found by an empty query
            cache[:] = copy.deepcopy(list(crm.records.values()))
            return web.json_response({})
        size = min(int(request.query.get("pageSize") or 10) or 10, 30)
        found = [p for p in cache if matches(p, query)][:size]
        if not found:
            return web.json_response({})
        return web.json_response({"results": [{"person": masked(p, request.query["readMask"])} for p in found]})

    @crm.route("GET", "/v1/people/{id}")
    async def get_person(request: web.Request) -> web.Response:
        refused = unknown_mask(request.query.get("personFields", ""), "personFields")
        if refused is not None:
            return refused
        name = "people/" + request.match_info["id"]
        if name == "people/me":
            assert crm.oauth is not None
            me = {
                "resourceName": ME,
                "etag": "%EgMBLjcaBAECBQc=",
                "emailAddresses": [
                    {
                        "metadata": {"primary": True, "verified": True, "source": {"type": "ACCOUNT", "id": ME[7:]}},
                        "value": crm.oauth.account["email"],
                    }
                ],
            }
            return web.json_response(masked(me, request.query["personFields"]))
        person = crm.records.get(name)
        if person is None:
            return error(404, "Requested entity was not found.", "NOT_FOUND")
        return web.json_response(masked(person, request.query["personFields"]))

    @crm.route("POST", "/v1/people:createContact")
    async def create_contact(request: web.Request) -> web.Response:
        body = await request.json()
        crm.write("contacts", body)
        written = {
            "names": [
                {
                    **n,
                    "displayName": " ".join(x for x in (n.get("givenName"), n.get("familyName")) if x),
                }
                for n in body.get("names", [])
            ],
            "emailAddresses": [
                {**e, "formattedType": str(e.get("type", "other")).capitalize()} for e in body.get("emailAddresses", [])
            ],
            "organizations": body.get("organizations", []),
            "phones": [(n["value"], n.get("type", "other"), ACCOUNT_REGION) for n in body.get("phoneNumbers", [])],
        }
        record = add({k: v for k, v in written.items() if v})
        return web.json_response(masked(record, request.query.get("personFields") or ",".join(PERSON_FIELDS)))

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    """The book's settings against this reproduction (the user's own Desktop app client and a refresh token)."""
    assert crm.oauth is not None
    return {
        "client_id": crm.oauth.client_id,
        "client_secret": crm.oauth.client_secret,
        "refresh_token": crm.oauth.refresh_token,
        "api_url": crm.url,
        "accounts_url": crm.url,
        "oauth_url": crm.url,
    }


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    url = f"https://contacts.google.com/person/{contact_id}"
    return [url, url]


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    raise AssertionError("Google Contacts logs no calls")


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "names": [{"givenName": "Grace", "familyName": "Hopper"}],
        "phoneNumbers": [{"value": "+442071838750", "type": "work"}],
        "emailAddresses": [{"value": "grace.hopper@example.com", "type": "work"}],
    }, created

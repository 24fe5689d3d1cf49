"""Zammad reproduced from its REST API documentation (Zammad publishes no machine-readable description).

Follows https://docs.zammad.org/en/latest/api/intro.html (every endpoint under /api/v1; an access token as
`Authorization: Token token={token}`, the only form accepted here; `?expand=true` adds named relations, a user's
organisation as `organization`, its name; JSON bodies), https://docs.zammad.org/en/latest/api/user.html#search (GET
/api/v1/users/search?query=…&limit=…, with sort_by and order_by, and page/per_page from the introduction's
"Pagination": any other query parameter is refused here; a list of users), .../user.html#show (GET
/api/v1/users/{id}, 404 for an unknown one), .../user.html#create (POST /api/v1/users {firstname, lastname, email,
phone, mobile, fax, note, organization…} -> 201 with the user; a body key that is no user attribute is refused),
https://docs.zammad.org/en/latest/api/ticket/index.html#create (POST /api/v1/tickets {title, group, customer_id,
state, article} -> 201 with the ticket; title, group and article are required, the group and the state must exist,
the customer must be a user) and https://docs.zammad.org/en/latest/api/ticket/articles.html (an article's subject,
body, content_type, type, sender and internal; types and senders as Zammad names them). Errors are Zammad's
{"error", "error_human"}; a missing or wrong token gets 401.
The search is reproduced as Zammad's behaves for these seeds: each word of the query must be in the user's
attributes (names, email, numbers as typed, organisation), case-insensitively; a number typed otherwise than it
is stored is not found. Zammad documents no rate limit of its own: the 429 with Retry-After of the catalogue's
test stands for a proxy in front of a self-hosted Zammad.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from templates_fake_crm import PEOPLE, FakeCrm

TOKEN = "zmd-4Hq9tV2xK7pW3mN8rB5cL1yD6fJ0sG"
SECRETS = ("api_token",)
STORED = {"Dana": "+44 20 7946 0958", "Eamon": "+1 212-736-5000", "Zoë": "+33 1 42 68 53 00"}
"""As these users' agents typed them: the international form."""
STAMP = "2026-11-25T10:00:00.000Z"
GROUPS = ("Users", "Sales")
STATES = ("new", "open", "closed", "pending reminder", "pending close")
ARTICLE_TYPES = ("email", "sms", "chat", "fax", "phone", "note", "web")
SENDERS = ("Agent", "Customer", "System")
SEARCH_PARAMETERS = {"query", "limit", "expand", "sort_by", "order_by", "page", "per_page"}
USER_ATTRIBUTES = {
    "login",
    "firstname",
    "lastname",
    "email",
    "web",
    "phone",
    "fax",
    "mobile",
    "department",
    "street",
    "zip",
    "city",
    "country",
    "address",
    "vip",
    "note",
    "organization",
    "organization_id",
    "active",
}
ARTICLE_ATTRIBUTES = {"subject", "body", "content_type", "type", "sender", "internal", "to", "cc", "time_unit"}
TICKET_ATTRIBUTES = {"title", "group", "group_id", "customer", "customer_id", "state", "priority", "article", "note"}


def error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message, "error_human": message}, status=status)


def build() -> FakeCrm:
    crm = FakeCrm(
        "Zammad",
        unauthorized=lambda: error("Invalid token!", 401),
        static_credentials={f"Token token={TOKEN}"},
        error_body=lambda status, message: {"error": message, "error_human": message},
    )
    organisations: dict[str, int] = {}

    def new_user(attributes: dict[str, Any]) -> dict[str, Any]:
        user_id = crm.new_id()
        user: dict[str, Any] = dict.fromkeys(("phone", "mobile", "fax", "email", "note", "department"), "")
        user |= {"firstname": "", "lastname": ""}
        user |= {k: v for k, v in attributes.items() if k != "organization"}
        user |= {"id": user_id, "login": user["email"] or f"user{user_id}", "active": True, "organization_id": None}
        user |= {"role_ids": [3], "created_at": STAMP, "updated_at": STAMP}
        if attributes.get("organization"):
            user["organization_id"] = organisations.setdefault(attributes["organization"], 100 + len(organisations))
        crm.records[str(user_id)] = user
        return user

    for p in PEOPLE:
        new_user(
            {
                "firstname": p.first,
                "lastname": p.last,
                "email": p.email,
                "phone": STORED[p.first],
                "mobile": p.mobile,
                "organization": p.company,
            }
        )

    def shown(user: dict[str, Any], expand: bool) -> dict[str, Any]:
        """A user as answered; with expand=true its organisation's name beside the id (and its roles' names)."""
        if not expand:
            return user
        names = {i: n for n, i in organisations.items()}
        return user | {"organization": names.get(user["organization_id"]), "roles": ["Customer"]}

    def expand_of(request: web.Request) -> bool | web.Response:
        value = request.query.get("expand", "false")
        if value not in ("true", "false"):
            return error(f"expand must be true or false, not {value!r}", 422)
        return value == "true"

    def matches(user: dict[str, Any], query: str) -> bool:
        names = {i: n for n, i in organisations.items()}
        attributes = [user[k] for k in ("firstname", "lastname", "email", "login", "phone", "mobile", "fax")]
        text = " ".join([*map(str, attributes), names.get(user["organization_id"], "")]).lower()
        words = query.lower().split()
        return bool(words) and all(word in text for word in words)

    @crm.route("GET", "/api/v1/users/search")
    async def search(request: web.Request) -> web.Response:
        unknown = set(request.query) - SEARCH_PARAMETERS
        if unknown:
            return error(f"unknown parameter(s): {', '.join(sorted(unknown))}", 422)
        expand = expand_of(request)
        if isinstance(expand, web.Response):
            return expand
        query = request.query.get("query", "")
        limit = int(request.query.get("limit", 10))
        hits = [shown(u, expand) for u in crm.records.values() if matches(u, query)]
        return web.json_response(hits[:limit])

    @crm.route("GET", "/api/v1/users/{id}")
    async def show(request: web.Request) -> web.Response:
        if set(request.query) - {"expand"}:
            return error("unknown parameter(s)", 422)
        expand = expand_of(request)
        if isinstance(expand, web.Response):
            return expand
        user = crm.records.get(request.match_info["id"])
        if user is None:
            return error("Couldn't find User with 'id'", 404)
        return web.json_response(shown(user, expand))

    @crm.route("POST", "/api/v1/users")
    async def create(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return error("Content-Type must be application/json", 422)
        body = await request.json()
        unknown = set(body) - USER_ATTRIBUTES
        if unknown:
            return error(f"unknown attribute(s): {', '.join(sorted(unknown))}", 422)
        if not any(body.get(k) for k in ("firstname", "lastname", "email", "phone", "mobile")):
            return error("At least one identifier (firstname, lastname, phone, mobile or email) is required.", 422)
        if body.get("organization") and body["organization"] not in organisations:
            return error(f"No lookup value found for 'organization': {body['organization']!r}", 422)
        crm.write("contacts", body)
        return web.json_response(shown(new_user(body), False), status=201)

    @crm.route("POST", "/api/v1/tickets")
    async def create_ticket(request: web.Request) -> web.Response:
        body = await request.json()
        unknown = set(body) - TICKET_ATTRIBUTES
        article = body.get("article")
        if unknown or not isinstance(article, dict) or set(article) - ARTICLE_ATTRIBUTES:
            return error("unknown ticket or article attribute(s)", 422)
        if not body.get("title") or body.get("group") not in GROUPS:
            return error("title and an existing group are required", 422)
        if str(body.get("customer_id")) not in crm.records or body.get("state", "new") not in STATES:
            return error("No lookup value found for 'customer_id' or 'state'", 422)
        if article.get("type") not in ARTICLE_TYPES or article.get("sender") not in SENDERS or not article.get("body"):
            return error("the article needs a body, a known type and a known sender", 422)
        crm.write("calls", body)
        ticket_id = crm.new_id()
        answer = {
            "id": ticket_id,
            "number": str(31000 + ticket_id),
            "title": body["title"],
            "group_id": GROUPS.index(body["group"]) + 1,
            "state_id": STATES.index(body.get("state", "new")) + 1,
            "customer_id": body["customer_id"],
            "article_ids": [crm.new_id()],
            "created_at": STAMP,
            "updated_at": STAMP,
        }
        return web.json_response(answer, status=201)

    return crm


def settings(crm: FakeCrm) -> dict[str, Any]:
    return {"url": crm.url, "api_token": TOKEN, "group": "Sales"}


def wrong_settings(crm: FakeCrm) -> dict[str, Any]:
    return {**settings(crm), "api_token": "zmd-revoked-00000000000000000000"}


def pop_urls(crm: FakeCrm, contact_id: str) -> list[str]:
    return [f"{crm.url}/#user/profile/{contact_id}"] * 2


def check_call(crm: FakeCrm, contact_id: str, start: datetime) -> None:
    [ticket] = crm.written["calls"]
    assert (ticket["customer_id"], ticket["group"], ticket["state"]) == (int(contact_id), "Sales", "closed")
    assert ticket["title"] == "Incoming call: +44 20 7946 0958 -> +44 20 7946 0000"
    article = ticket["article"]
    assert (article["type"], article["sender"], article["internal"]) == ("phone", "Customer", False)
    assert "Wants a quote for 40 chairs." in article["body"] and "Duration: 1:35" in article["body"]


def check_created(crm: FakeCrm) -> None:
    [created] = crm.written["contacts"]
    assert created == {
        "firstname": "Grace",
        "lastname": "Hopper",
        "email": "grace.hopper@example.com",
        "phone": "020 7183 8750",
    }

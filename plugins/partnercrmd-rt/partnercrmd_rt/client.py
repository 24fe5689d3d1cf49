"""Request Tracker 5's REST2 API, as far as partnercrmd uses it: users, tickets, comments and history.

REST2 is documented at https://docs.bestpractical.com/rt/5.0.x/RT/REST2.html: the `Authorization: token …`
header, JSON searches of collections (`GET /users?query=[{"field", "operator", "value"}]`), TicketSQL searches
(`GET /tickets?query=…`), `fields=` to have each item carry those fields, `POST /ticket`, `POST /user`,
`POST /ticket/:id/comment` and `GET /ticket/:id/history`. Every failure becomes an `AddinError` with a stable
code and a sentence that says what to check; the token never appears in one. Answers are untrusted: their
size is capped and their shape checked before anything reads them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from partnercrmd.sdk import AddinError, display_address
from partnercrmd.sdk.http import BookHttp, HttpAnswer

MAX_BODY_BYTES = 8 * 1024 * 1024
PER_PAGE = 100
"""Items per page of a collection: REST2's largest page."""
PAGES_AT_ONCE = 4
"""Pages of a full read requested at once."""
MAX_PAGES = 500
"""A full read of the users stops here (50,000 users): a loop guard, far above a help desk's user count."""
CREDENTIALS_HINT = (
    "Check the setting 'token': an RT authentication token (Logged in as … > Settings > Auth Tokens) of an "
    "enabled, privileged user."
)
PHONE_FIELDS = ("WorkPhone", "MobilePhone", "HomePhone", "PagerPhone")
"""A user's phone fields in RT, as REST2 names them."""
USER_FIELDS = ("id", "Name", "RealName", "EmailAddress", "Organization", *PHONE_FIELDS)
"""What each user of a search carries (`fields=`): enough to show the contact without reading it again."""


def rest_root(url: str) -> str:
    """REST2's root under RT's web address."""
    return f"{url.strip().rstrip('/')}/REST/2.0"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    pages: int


class RtClient:
    """One RT server and token, over the SDK's `BookHttp` (its session made on first use, on the event loop)."""

    def __init__(self, url: str, token: str, *, timeout: float) -> None:
        self.url = url.strip().rstrip("/")
        self.root = rest_root(url)
        self.where = display_address(self.url)
        self.http = BookHttp(
            "Request Tracker",
            timeout=timeout,
            max_body_bytes=MAX_BODY_BYTES,
            headers={"Authorization": f"token {token.strip()}", "Accept": "application/json"},
            credentials_hint=CREDENTIALS_HINT,
            secrets=lambda: [token.strip()],
        )

    async def close(self) -> None:
        await self.http.close()

    # --- the protocol ------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        ok: Sequence[int] = (200,),
        missing_ok: bool = False,
    ) -> Any:
        """One request; its JSON when the status is one of `ok`, None for a 404 when `missing_ok`, else AddinError."""
        answer = await self.http.request(method, f"{self.root}{path}", params=params, json_body=body)
        if answer.status == 404 and missing_ok:
            return None
        if answer.status not in ok:
            raise self._failure(answer, doing)
        return self.http.json(answer)

    def _failure(self, answer: HttpAnswer, doing: str) -> AddinError:
        if answer.status == 404 and not _is_json(answer):
            return AddinError(
                f"{self.where} has no RT REST2 API (404 for {_path_of(answer.url)}); check the setting 'url': "
                "it is the address RT's web pages open at, e.g. https://rt.example.com or https://example.com/rt.",
                code="not_found",
            )
        return self.http.failure(answer, doing)

    def _shape(self, doing: str) -> AddinError:
        return AddinError(
            f"Request Tracker at {self.where} answered an unexpected shape when asked to {doing}.", code="invalid_data"
        )

    async def _page(self, path: str, doing: str, params: Mapping[str, str | int]) -> Page:
        payload = await self.request("GET", path, doing, params=params)
        items = payload.get("items") if isinstance(payload, dict) else None
        total = payload.get("total") if isinstance(payload, dict) else None
        pages = payload.get("pages") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise self._shape(doing)
        return Page(
            [item for item in items if isinstance(item, dict)],
            total if isinstance(total, int) else len(items),
            pages if isinstance(pages, int) else 1,
        )

    # --- the server --------------------------------------------------------------------------------

    async def system(self) -> dict[str, Any]:
        """`GET /rt`: RT's version (and plugins); needs a valid token."""
        payload = await self.request("GET", "/rt", "sign in")
        if not isinstance(payload, dict):
            raise self._shape("sign in")
        return payload

    # --- users -------------------------------------------------------------------------------------

    async def users(
        self,
        conditions: Sequence[Mapping[str, str]] = (),
        *,
        page: int = 1,
        per_page: int = PER_PAGE,
        orderby: str = "id",
        order: str = "ASC",
        fields: Sequence[str] = USER_FIELDS,
    ) -> Page:
        """`GET /users?query=…`: the users matching every condition ({"field", "operator", "value"}), one page.

        RT applies a condition only on a field the token's user may search (Resource/Users.pm
        `searchable_fields`: the "public" columns with AdminUsers, else $UserSummaryExtraInfo); it silently
        drops the rest, so phone fields cannot be searched here at all (they are not public).
        """
        params: dict[str, str | int] = {
            "page": page,
            "per_page": per_page,
            "orderby": orderby,
            "order": order,
            "fields": ",".join(fields),
        }
        if conditions:
            params["query"] = json.dumps(list(conditions))
        return await self._page("/users", "search users", params)

    async def every_user(self) -> list[dict[str, Any]]:
        """Every enabled user the token may see, with `fields`, in id order: the first page says how many pages
        there are; the rest are read PAGES_AT_ONCE at a time (RT checks the token on each request, which is slow)."""
        first = await self.users(page=1)
        users = list(first.items)
        remaining = list(range(2, min(first.pages, MAX_PAGES) + 1))
        while remaining:
            batch, remaining = remaining[:PAGES_AT_ONCE], remaining[PAGES_AT_ONCE:]
            for found in await asyncio.gather(*(self.users(page=page) for page in batch)):
                users += found.items
        return users

    async def user(self, user_id: str) -> dict[str, Any] | None:
        """`GET /user/:id`: the user, or None when there is none with that id (or the token may not see it)."""
        payload = await self.request("GET", f"/user/{quote(user_id, safe='')}", "read a user", missing_ok=True)
        if payload is None:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
            raise self._shape("read a user")
        return payload

    async def create_user(self, body: Mapping[str, Any]) -> str:
        """`POST /user` (201); the new user's numeric id, read back by its Name."""
        payload = await self.request("POST", "/user", "create the user", body=body, ok=(201,))
        name = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(name, str | int) or not str(name):
            raise self._shape("create the user")
        created = await self.user(str(name))
        if created is None:
            raise AddinError(
                f"Request Tracker at {self.where} created the user but does not show it.", code="not_found"
            )
        return str(created["id"])

    # --- tickets -----------------------------------------------------------------------------------

    async def open_tickets(self, user_id: str, *, per_page: int = 1) -> list[dict[str, Any]]:
        """The user's active tickets (as a requestor), most recently updated first."""
        query = f"Requestor.id = {int(user_id)} AND Status = '__Active__'"
        params: dict[str, str | int] = {
            "query": query,
            "orderby": "LastUpdated",
            "order": "DESC",
            "per_page": per_page,
            "fields": "Subject,Status,Queue,LastUpdated",
        }
        return (await self._page("/tickets", "search the user's tickets", params)).items

    async def create_ticket(self, body: Mapping[str, Any]) -> str:
        """`POST /ticket` (201); the new ticket's id."""
        payload = await self.request("POST", "/ticket", "create a ticket", body=body, ok=(201,))
        ticket_id = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(ticket_id, str | int) or not str(ticket_id).isdigit():
            raise self._shape("create a ticket")
        return str(ticket_id)

    async def comment(self, ticket_id: str, body: Mapping[str, Any]) -> None:
        """`POST /ticket/:id/comment` (201): a comment (not sent to the requestors)."""
        await self.request("POST", f"/ticket/{int(ticket_id)}/comment", "comment on the ticket", body=body, ok=(201,))

    async def history(self, ticket_id: str, *, per_page: int = 20) -> list[dict[str, Any]]:
        """`GET /ticket/:id/history`: the ticket's transactions, newest first (Type, Created, Data, TimeTaken)."""
        params: dict[str, str | int] = {
            "orderby": "id",
            "order": "DESC",
            "per_page": per_page,
            "fields": "Type,Created,Data,TimeTaken",
        }
        return (await self._page(f"/ticket/{int(ticket_id)}/history", "read the ticket's history", params)).items

    async def queue(self, name: str) -> dict[str, Any] | None:
        """`GET /queue/:name`: the queue, or None when there is none the token may see."""
        payload = await self.request("GET", f"/queue/{quote(name, safe='')}", "read the queue", missing_ok=True)
        if payload is not None and not isinstance(payload, dict):
            raise self._shape("read the queue")
        return payload


def _path_of(url: str) -> str:
    """The path of an address, for a message (no host, query or credentials)."""
    return urlsplit(url).path or "/"


def _is_json(answer: HttpAnswer) -> bool:
    return "json" in answer.headers.get("Content-Type", "")

"""BottleCRM's REST API (the `django-crm` server), as far as partnercrmd uses it: contacts and interactions.

Every failure becomes an `AddinError` with a stable code and a sentence that says what to check;
the token never appears in one. Responses are untrusted: bodies are size-limited and their
shape is checked before anything reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from partnercrmd.sdk import AddinError, display_address
from partnercrmd.sdk.http import BookHttp, HttpAnswer, summarise_error_body

PAT_PREFIX = "bcrm_pat_"
"""Personal access tokens start with this; anything else is taken for the organisation's API key."""
MAX_BODY_BYTES = 16 * 1024 * 1024
CREDENTIALS_HINT = (
    "Check the setting 'token': a personal access token (bcrm_pat_…) of an active user, with the scopes this needs."
)
PAGE_SIZE = 500
"""Contacts per request when the whole list is read (the server's pagination allows any limit)."""


def api_root(url: str) -> str:
    """The address requests are built on: the setting without a trailing slash or a trailing /api."""
    root = url.strip().rstrip("/")
    return root[: -len("/api")] if root.endswith("/api") else root


def auth_headers(token: str) -> dict[str, str]:
    """A personal access token goes in `Authorization: Bearer`; the organisation key in `Token`."""
    token = token.strip()
    if token.startswith(PAT_PREFIX):
        return {"Authorization": f"Bearer {token}"}
    return {"Token": token}


@dataclass(frozen=True)
class Reply:
    """An answer and its JSON (None when the body is empty, or a refusal's body is not JSON)."""

    answer: HttpAnswer
    payload: object

    @property
    def status(self) -> int:
        return self.answer.status


@dataclass(frozen=True)
class ContactPage:
    contacts: list[dict[str, Any]]
    count: int


class BottleCrmClient:
    """One BottleCRM server and token, over the SDK's `BookHttp` (its session made on first use, on the event loop)."""

    def __init__(self, url: str, token: str, *, timeout: float) -> None:
        self.root = api_root(url)
        self.where = display_address(self.root)
        self.http = BookHttp(
            "BottleCRM",
            timeout=timeout,
            max_body_bytes=MAX_BODY_BYTES,
            headers={**auth_headers(token), "Accept": "application/json"},
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
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Send one request; its answer and JSON. A network failure, or a 2xx answer not JSON, raises `AddinError`."""
        answer = await self.http.request(method, f"{self.root}{path}", params=params, json_body=body)
        if answer.status < 300:
            return Reply(answer, self.http.json(answer))
        try:  # a refusal's body is read only for what the server says about it
            return Reply(answer, self.http.json(answer))
        except AddinError:
            return Reply(answer, None)

    def fail(self, reply: Reply, doing: str) -> AddinError:
        """The error for an unexpected answer to a request that was `doing` something."""
        return self.http.failure(reply.answer, doing)

    async def _json(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        ok: Sequence[int] = (200,),
    ) -> dict[str, Any]:
        reply = await self.request(method, path, params=params, body=body)
        payload = reply.payload
        if reply.status not in ok:
            raise self.fail(reply, doing)
        if not isinstance(payload, dict):
            raise AddinError(
                f"BottleCRM at {self.where} answered an unexpected shape when asked to {doing}.", code="invalid_data"
            )
        return payload

    # --- contacts ----------------------------------------------------------------------------------

    async def list_contacts(self, *, limit: int, offset: int = 0, **filters: str) -> ContactPage:
        """`GET /api/contacts/`: filters `name`, `phone`, `search` match text as typed (case-insensitive substrings)."""
        params: dict[str, str | int] = {**filters, "limit": limit, "offset": offset}
        reply = await self.request("GET", "/api/contacts/", params=params)
        if reply.status == 404:
            raise AddinError(
                f"{self.where} has no BottleCRM contact list (404 for /api/contacts/); check the setting 'url': "
                "it is the address of BottleCRM's API server, without /api.",
                code="not_found",
            )
        if reply.status != 200:
            raise self.fail(reply, "list contacts")
        results = reply.payload.get("results") if isinstance(reply.payload, dict) else None
        count = reply.payload.get("count") if isinstance(reply.payload, dict) else None
        if not isinstance(results, list) or not isinstance(count, int):
            raise AddinError(
                f"{self.where} did not answer like BottleCRM's contact list; check the setting 'url'.",
                code="invalid_data",
            )
        return ContactPage([r for r in results if isinstance(r, dict)], count)

    async def all_contacts(self) -> list[dict[str, Any]]:
        """Every contact the token may see, read page by page."""
        contacts: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await self.list_contacts(limit=PAGE_SIZE, offset=offset)
            contacts += page.contacts
            offset += PAGE_SIZE
            if not page.contacts or offset >= page.count:
                return contacts

    async def get_contact(self, contact_id: str) -> dict[str, Any] | None:
        """`GET /api/contacts/<id>/`: the contact, or None when it does not exist (or the token may not see it)."""
        reply = await self.request("GET", f"/api/contacts/{quote(contact_id, safe='')}/")
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise self.fail(reply, "read a contact")
        record = reply.payload.get("contact_obj") if isinstance(reply.payload, dict) else None
        if not isinstance(record, dict):
            raise AddinError(f"BottleCRM at {self.where} sent a contact of an unexpected shape.", code="invalid_data")
        return record

    async def create_contact(self, body: Mapping[str, Any]) -> str:
        """`POST /api/contacts/`; returns the new contact's id."""
        payload = await self._json("POST", "/api/contacts/", "create the contact", body=body)
        new_id = payload.get("id")
        if payload.get("error") or not isinstance(new_id, str) or not new_id:
            raise AddinError(f"BottleCRM at {self.where} did not say which contact it created.", code="invalid_data")
        return new_id

    async def update_contact(self, contact_id: str, body: Mapping[str, Any]) -> None:
        """`PATCH /api/contacts/<id>/`: only the fields in `body` change."""
        await self._json("PATCH", f"/api/contacts/{quote(contact_id, safe='')}/", "change the contact", body=body)

    async def contacts_with_number(self, number: str) -> list[str]:
        """Ids of contacts BottleCRM's duplicate check pairs with `number` (same last ten digits, or E.164).

        A POST that writes nothing (a read for token scopes). It is rate-limited (120 a minute per
        user): a 429 answers no ids rather than failing the search.
        """
        reply = await self.request("POST", "/api/contacts/duplicates/", body={"phone": number})
        if reply.status == 429:
            return []
        if reply.status != 200:
            raise self.fail(reply, "search contacts by number")
        found = reply.payload.get("duplicates") if isinstance(reply.payload, dict) else None
        if not isinstance(found, list):
            raise AddinError(f"BottleCRM at {self.where} answered a number search oddly.", code="invalid_data")
        return [hit["id"] for hit in found if isinstance(hit, dict) and isinstance(hit.get("id"), str)]

    # --- interactions ------------------------------------------------------------------------------

    async def log_interaction(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /api/interactions/` (201): a call, meeting… on one record."""
        return await self._json("POST", "/api/interactions/", "log the call", body=body, ok=(201,))

    async def interactions(self, contact_id: str, limit: int) -> list[dict[str, Any]]:
        """`GET /api/interactions/?contact=<id>`: the contact's timeline, newest first."""
        payload = await self._json(
            "GET",
            "/api/interactions/",
            "read the contact's interactions",
            params={"contact": contact_id, "limit": max(1, min(limit, 200))},
        )
        rows = payload.get("interactions")
        if not isinstance(rows, list):
            raise AddinError(f"BottleCRM at {self.where} sent interactions of an odd shape.", code="invalid_data")
        return [row for row in rows if isinstance(row, dict)]

    async def may_log_interactions(self) -> tuple[bool, str]:
        """Whether the token may write interactions on contacts, found without writing anything.

        The request names a contact that cannot exist: a token with the right scopes gets
        404 ("No such record"), one without them 403 with the scope it lacks.
        """
        body = {"kind": "call", "contact": "00000000-0000-0000-0000-000000000000"}
        reply = await self.request("POST", "/api/interactions/", body=body)
        if reply.status == 404:
            return True, ""
        if reply.status in (401, 403):
            return False, summarise_error_body(reply.answer) or f"refused ({reply.status})"
        raise self.fail(reply, "check permission to log calls")

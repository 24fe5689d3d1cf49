"""BottleCRM's REST API (the `django-crm` server), as far as partnercrmd uses it: contacts and interactions.

Every failure becomes an `AddinError` with a stable code and a sentence that says what to check;
the token never appears in one. Responses are untrusted: bodies are size-limited and their
shape is checked before anything reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from partnercrmd.sdk import AddinError, display_address, os_reason

PAT_PREFIX = "bcrm_pat_"
"""Personal access tokens start with this; anything else is taken for the organisation's API key."""
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_ERROR_TEXT = 300
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


def _server_words(payload: object) -> str:
    """What the server said about a refusal (`detail`, or field errors), short and on one line."""
    if isinstance(payload, Mapping):
        if isinstance(payload.get("detail"), str):
            text = payload["detail"]
        elif isinstance(payload.get("errors"), Mapping | str | list):
            text = _field_errors(payload["errors"])
        else:
            text = _field_errors(payload)
    else:
        text = ""
    return " ".join(text.split())[:MAX_ERROR_TEXT]


def _field_errors(errors: object) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(_field_errors(e) for e in errors)
    if isinstance(errors, Mapping):
        parts = []
        for key, value in errors.items():
            words = _field_errors(value)
            parts.append(words if key in ("non_field_errors", "detail") else f"{key}: {words}")
        return "; ".join(parts)
    return ""


@dataclass(frozen=True)
class ContactPage:
    contacts: list[dict[str, Any]]
    count: int


class BottleCrmClient:
    """One BottleCRM server and token; the aiohttp session is made on first use (on the event loop)."""

    def __init__(self, url: str, token: str, *, timeout: float) -> None:
        self.root = api_root(url)
        self.where = display_address(self.root)
        self._headers = {**auth_headers(token), "Accept": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0))
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- the protocol ------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> tuple[int, object]:
        """Send one request; return (status, parsed JSON or None). Network trouble raises `AddinError`."""
        url = f"{self.root}{path}"
        try:
            async with self._get_session().request(
                method, url, params=params, json=body, allow_redirects=False
            ) as response:
                raw = await self._read(response)
                return response.status, self._parse(raw, response.status)
        except AddinError:
            raise
        except TimeoutError:
            raise AddinError(
                f"BottleCRM at {self.where} did not answer within {self._timeout.total:g} s; "
                "check that the server is running and not overloaded.",
                code="timeout",
            ) from None
        except aiohttp.ClientConnectorError as exc:
            reason = os_reason(exc.os_error)
            raise AddinError(
                f"BottleCRM at {self.where} cannot be reached ({reason}); "
                "check the setting 'url' and that the server is running.",
                code="cannot_connect",
            ) from None
        except aiohttp.ClientError as exc:
            raise AddinError(
                f"The connection to BottleCRM at {self.where} failed ({type(exc).__name__}); "
                "check the setting 'url' and that the server is running.",
                code="cannot_connect",
            ) from None

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise AddinError(
                    f"BottleCRM at {self.where} sent more than {MAX_BODY_BYTES // (1024 * 1024)} MB in one answer.",
                    code="invalid_data",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _parse(self, raw: bytes, status: int) -> object:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            if status < 300:
                raise AddinError(
                    f"{self.where} did not answer like BottleCRM's API (no JSON); "
                    "check the setting 'url': it is the address of BottleCRM's API server, without /api.",
                    code="invalid_data",
                ) from None
            return None

    def fail(self, status: int, payload: object, doing: str) -> AddinError:
        """The error for an unexpected answer to a request that was `doing` something."""
        said = _server_words(payload)
        detail = f": {said}" if said else ""
        if status in (401, 403):
            return AddinError(
                f"BottleCRM refused to {doing} ({status}{detail}). Check the setting 'token': a personal access "
                "token (bcrm_pat_…) of an active user, with the scopes this needs.",
                code="invalid_auth",
            )
        if status == 404:
            return AddinError(f"BottleCRM could not {doing}: not found{detail}.", code="not_found")
        if status == 400:
            return AddinError(f"BottleCRM did not accept the data to {doing}{detail}.", code="invalid_data")
        if status == 429:
            return AddinError(f"BottleCRM is limiting requests (429) and would not {doing}; try again shortly.")
        return AddinError(f"BottleCRM answered {status} when asked to {doing}{detail}.")

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
        status, payload = await self.request(method, path, params=params, body=body)
        if status not in ok:
            raise self.fail(status, payload, doing)
        if not isinstance(payload, dict):
            raise AddinError(
                f"BottleCRM at {self.where} answered an unexpected shape when asked to {doing}.", code="invalid_data"
            )
        return payload

    # --- contacts ----------------------------------------------------------------------------------

    async def list_contacts(self, *, limit: int, offset: int = 0, **filters: str) -> ContactPage:
        """`GET /api/contacts/`: filters `name`, `phone`, `search` match text as typed (case-insensitive substrings)."""
        params: dict[str, str | int] = {**filters, "limit": limit, "offset": offset}
        status, payload = await self.request("GET", "/api/contacts/", params=params)
        if status == 404:
            raise AddinError(
                f"{self.where} has no BottleCRM contact list (404 for /api/contacts/); check the setting 'url': "
                "it is the address of BottleCRM's API server, without /api.",
                code="not_found",
            )
        if status != 200:
            raise self.fail(status, payload, "list contacts")
        results = payload.get("results") if isinstance(payload, dict) else None
        count = payload.get("count") if isinstance(payload, dict) else None
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
        status, payload = await self.request("GET", f"/api/contacts/{quote(contact_id, safe='')}/")
        if status == 404:
            return None
        if status != 200:
            raise self.fail(status, payload, "read a contact")
        record = payload.get("contact_obj") if isinstance(payload, dict) else None
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
        status, payload = await self.request("POST", "/api/contacts/duplicates/", body={"phone": number})
        if status == 429:
            return []
        if status != 200:
            raise self.fail(status, payload, "search contacts by number")
        found = payload.get("duplicates") if isinstance(payload, dict) else None
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
        status, payload = await self.request("POST", "/api/interactions/", body=body)
        if status == 404:
            return True, ""
        if status in (401, 403):
            return False, _server_words(payload) or f"refused ({status})"
        raise self.fail(status, payload, "check permission to log calls")

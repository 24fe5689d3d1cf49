"""Requests for a new integration: where the partner wants them (branding), kept on this computer until sent.

The user fills in a short form (system, its web address, what to look up and log, a contact e-mail). The
partner's branding file says where it goes (`[integration_requests]`):

- ``url = "https://…"``: POSTed as JSON (`request_json`); the request is *sent* once the endpoint answers 2xx,
  else *failed* with the reason, and the user can retry;
- ``mailto = "address"``: the user's e-mail program opens with the fields filled in (`mailto_link`); the
  request *waits* until the user says it was sent;
- neither (the unbranded default): the request is *kept* here, listed with a note, for the user to pass on.

Every request is kept in `FILE_NAME` in the data directory (atomic writes) whatever its state, and listed on
the About page. Sending is `integration_request_sending` (which also tries unsent requests again on its own). Light on
purpose: the branding file reads `[integration_requests]` through `parse_target`, and every CLI command loads
the branding. The store's methods block (file I/O): call them off the event loop.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .platform.files import atomic_write

log = logging.getLogger(__name__)

FILE_NAME = "integration-requests.json"
MAX_KEPT = 100
"""Requests kept; beyond it the oldest sent ones are forgotten first (unsent ones only when all are unsent)."""

URL = "url"
MAILTO = "mailto"
NOWHERE = "none"

SENT = "sent"
WAITING = "waiting"
FAILED = "failed"
KEPT = "kept"
STATE_WORDS = {
    SENT: "Sent",
    WAITING: "Waiting to be sent",
    FAILED: "Failed",
    KEPT: "Kept on this computer",
}

_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")


@dataclass(frozen=True)
class RequestTarget:
    """Where requests go, from the branding file's `[integration_requests]`: a URL, an e-mail address, or nowhere."""

    kind: str = NOWHERE
    address: str = ""


def is_email(text: str) -> bool:
    return len(text) <= 254 and _EMAIL.match(text) is not None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_target(table: Any) -> RequestTarget:
    """`[integration_requests]` of a branding file; ValueError saying what is wrong.

    `url` must be https:// (http:// only on this computer's loopback, for a partner's local test); `mailto`
    an e-mail address; at most one of them.
    """
    if not isinstance(table, dict):
        raise ValueError("[integration_requests] must be a table with url or mailto.")
    unknown = sorted(set(table) - {URL, MAILTO})
    if unknown:
        raise ValueError(f"[integration_requests] has unknown keys: {', '.join(unknown)} (use url or mailto).")
    if URL in table and MAILTO in table:
        raise ValueError("[integration_requests] takes url or mailto, not both.")
    if URL in table:
        url = table[URL]
        parts = urlsplit(url) if isinstance(url, str) else None
        secure = parts is not None and parts.scheme == "https" and bool(parts.hostname)
        local = parts is not None and parts.scheme == "http" and _loopback(parts.hostname or "")
        if not (secure or local) or (parts is not None and (parts.username or parts.password)):
            raise ValueError(
                "[integration_requests] url must be an https:// address without credentials in it "
                "(http:// only on 127.0.0.1 or localhost)."
            )
        return RequestTarget(URL, str(url))
    if MAILTO in table:
        address = table[MAILTO]
        if not isinstance(address, str) or not is_email(address.strip()):
            raise ValueError("[integration_requests] mailto must be an e-mail address, e.g. integrations@acme.example.")
        return RequestTarget(MAILTO, address.strip())
    return RequestTarget()


@dataclass(frozen=True)
class IntegrationRequest:
    """One request as the user wrote it, and how far it got."""

    id: str
    created: str
    """UTC, ISO 8601."""
    system: str
    web_address: str
    lookup: str
    """What to look up and log: the user's own words."""
    contact_email: str
    state: str
    error: str = ""
    """Why the last try failed (state failed)."""
    sent: str = ""
    """When it was sent (UTC, ISO 8601), or marked sent by the user."""
    attempts: int = 0

    @property
    def state_words(self) -> str:
        return STATE_WORDS.get(self.state, self.state)


def new_request(
    system: str, web_address: str, lookup: str, contact_email: str, target: RequestTarget
) -> IntegrationRequest:
    """A request as the form gave it, in its first state for `target` (waiting for a URL or an e-mail; kept)."""
    return IntegrationRequest(
        id=secrets.token_hex(8),
        created=_now(),
        system=system,
        web_address=web_address,
        lookup=lookup,
        contact_email=contact_email,
        state=KEPT if target.kind == NOWHERE else WAITING,
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_json(request: IntegrationRequest, product: str, version: str) -> dict[str, Any]:
    """The JSON body POSTed to the partner's endpoint (documented in docs/branding.md)."""
    return {
        "id": request.id,
        "created": request.created,
        "system": request.system,
        "web_address": request.web_address,
        "lookup": request.lookup,
        "contact_email": request.contact_email,
        "product": product,
        "version": version,
    }


def mailto_link(request: IntegrationRequest, address: str, product: str) -> str:
    """A mailto: link (RFC 6068) to `address` with the request as subject and body."""
    subject = f"Integration request: {request.system}"
    body = "\n".join(
        [
            f"Please add an integration with {request.system} to {product}.",
            "",
            f"System: {request.system}",
            f"Web address: {request.web_address or '-'}",
            f"What to look up and log: {request.lookup}",
            f"Contact e-mail: {request.contact_email}",
            f"Request id: {request.id}",
        ]
    ).replace("\n", "\r\n")
    return f"mailto:{quote(address, safe='@')}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"


@dataclass
class RequestStore:
    """The requests file of one data directory; every method blocks (file I/O) and is safe across threads."""

    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def in_dir(cls, data_dir: Path) -> RequestStore:
        return cls(data_dir / FILE_NAME)

    def _read(self) -> list[IntegrationRequest]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []  # a damaged file is replaced at the next write rather than stopping the pages
        known = set(IntegrationRequest.__dataclass_fields__)
        found = []
        for entry in data.get("requests", []) if isinstance(data, dict) else []:
            if isinstance(entry, dict):
                try:
                    found.append(IntegrationRequest(**{k: v for k, v in entry.items() if k in known}))
                except TypeError:
                    continue
        return found

    def _write(self, requests: list[IntegrationRequest]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"version": 1, "requests": [asdict(r) for r in requests]}
        atomic_write(self.path, json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8"))

    def all(self) -> list[IntegrationRequest]:
        """Every kept request, newest first."""
        with self._lock:
            return sorted(self._read(), key=lambda r: r.created, reverse=True)

    def get(self, request_id: str) -> IntegrationRequest | None:
        with self._lock:
            return next((r for r in self._read() if r.id == request_id), None)

    def add(self, request: IntegrationRequest) -> None:
        with self._lock:
            requests = [*self._read(), request]
            while len(requests) > MAX_KEPT:
                oldest_sent = next((r for r in requests if r.state == SENT), requests[0])
                requests.remove(oldest_sent)
            self._write(requests)

    def update(self, request_id: str, **changes: Any) -> IntegrationRequest | None:
        """Change one request's fields (state, error, sent, attempts); None when there is no such request."""
        with self._lock:
            requests = self._read()
            for index, request in enumerate(requests):
                if request.id == request_id:
                    requests[index] = replace(request, **changes)
                    self._write(requests)
                    return requests[index]
            return None


def sent_changes(request: IntegrationRequest) -> dict[str, Any]:
    """The fields of a request that has just been sent."""
    return {"state": SENT, "error": "", "sent": _now(), "attempts": request.attempts + 1}


def failed_changes(request: IntegrationRequest, why: str) -> dict[str, Any]:
    """The fields of a request whose try just failed, and why."""
    return {"state": FAILED, "error": why[:300], "attempts": request.attempts + 1}

"""`DoAction` LogActivity with `actionId` alone (the published client's whole request), and the "log a call" page.

Without call fields, the call to log is the one the phone client reported:
the most recent ended call (`POST CallEvent`) whose other party's number is
one of the record's numbers, or that matched the record when it rang. It is
logged through the activity outbox, so exactly once per call and book (a call
already logged at its end is not logged again; the answer says so).

With no such call, the answer gives (and the browser opens) a "log a call"
page for the record: a configuration-style page reached through a one-time
login link, whose form (subject, notes, direction, time, duration) carries
the session's anti-forgery token. Each page link has its own number; the
activity it saves is keyed on that number in the outbox, so submitting the
form twice (or reloading after saving) logs it once.

DoAction's answer (200) is `{Result, AddinId, CallId, ActivityId}` with Result
`Logged` or `AlreadyLogged`, or `{Result: "LogCallPage", AddinId, Url, Opened}`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .. import appkeys, phone
from ..books import OpenBook
from ..errors import BadRequest, NotFound
from ..model import CallDirection, CallInfo, Contact
from ..opener import Opener
from ..ui.common import checked_form, page, render, see_other
from ..ui_sessions import SESSION_COOKIE, SESSION_TTL
from .calls import END_STATES, CallService, call_of
from .store import DONE, FAILED, CallRecord, idempotency_key

log = logging.getLogger(__name__)

PAGE_PURPOSE = "logcall"
PAGE_TTL = 7 * 86400.0
"""A "log a call" link can be used for this long."""
RECENT_CALLS = 500
"""How many of the latest reported calls are looked through for the record's."""
MAX_SUBJECT = 255
MAX_NOTES = 10_000
DURATION = re.compile(r"^\s*(?:(\d{1,3}):)?(\d{1,4})(?::(\d{1,2}))?\s*$")


# --- DoAction ---------------------------------------------------------------------------------------


def call_matches(record: CallRecord, book_id: str, contact: Contact, region: str | None) -> bool:
    """Whether a reported call was with this record: it matched the record, or its other party has its number."""
    if any(m.get("AddinId") == book_id and m.get("ContactId") == contact.id for m in record.matches or []):
        return True
    number = record.caller_number if record.direction == str(CallDirection.INBOUND) else record.called_number
    if not number.strip():
        return False
    key = phone.phone_key(number, region)
    return any(phone.numbers_match(key, phone.phone_key(p.number, region)) for p in contact.phones if p.number)


class LatestCallLogger:
    """`ActionService.log_latest_call`: log the record's latest reported call, or give the page to log one."""

    def __init__(self, app: web.Application, service: CallService, opener: Opener) -> None:
        self.app = app
        self.service = service
        self.opener = opener

    async def __call__(self, book: OpenBook, contact_id: str) -> dict[str, Any]:
        assert book.connector is not None
        contact = await book.connector.get(contact_id)
        if contact is None:
            raise NotFound("This contact no longer exists.", code="unknown_record")
        recent = await asyncio.to_thread(self.service.store.recent_calls, RECENT_CALLS)
        region = self.service.engine.region
        latest = next(
            (r for r in recent if r.state in END_STATES and call_matches(r, book.id, contact, region)),
            None,
        )
        if latest is None:
            url = log_call_url(self.app, book.id, contact.id)
            try:
                opened: object = await self.opener(url)
            except Exception as exc:  # noqa: BLE001  (no browser is no failure: the client gets the Url to show)
                log.info("could not open the log-a-call page: %s", type(exc).__name__)  # the text may hold the link
                opened = False
            return {"Result": "LogCallPage", "AddinId": book.id, "Url": url, "Opened": opened is not False}
        key = idempotency_key(latest.call_id, book.id)
        before = await asyncio.to_thread(self.service.store.entry, key)
        activity_id = await self.service.log_from_action(book, contact.id, call_of(latest))
        already = before is not None and before.status == DONE
        return {
            "Result": "AlreadyLogged" if already else "Logged",
            "AddinId": book.id,
            "CallId": latest.call_id,
            "ActivityId": activity_id,
        }


# --- the page ---------------------------------------------------------------------------------------


def log_call_url(app: web.Application, book_id: str, contact_id: str) -> str:
    """A one-time login link to a new "log a call" page for the record."""
    token = app[appkeys.SIGNER].sign(
        PAGE_PURPOSE, {"b": book_id, "c": contact_id, "n": secrets.token_urlsafe(12), "at": int(time.time())}
    )
    login = app[appkeys.UI].new_login()
    return f"http://127.0.0.1:{app[appkeys.CONFIG].port}/ui/logcall/start/{login}/{token}"


def _page_of(app: web.Application, token: str) -> tuple[str, str, str]:
    """(book id, contact id, page number) of a page link; BadRequest when altered or too old."""
    payload = app[appkeys.SIGNER].verify(PAGE_PURPOSE, token, what="link")
    try:
        book_id, contact_id, number, issued = str(payload["b"]), str(payload["c"]), str(payload["n"]), payload["at"]
        too_old = time.time() - float(issued) > PAGE_TTL
    except (KeyError, TypeError, ValueError):
        raise BadRequest("This link is not one this daemon issued.", code="invalid_id") from None
    if too_old:
        raise BadRequest("This link is more than a week old; log the call from your phone client again.")
    return book_id, contact_id, number


@page
async def log_call_start(request: web.Request) -> web.StreamResponse:
    """The one-time login of a "log a call" link: starts a session (as the windows' login does), then the page."""
    token = request.match_info["token"]
    _page_of(request.app, token)  # a bad link is refused before the one-time login is spent
    session = request.app[appkeys.UI].redeem(request.match_info["login"])
    response = see_other(f"/ui/logcall/{token}")
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="Strict", path="/ui", max_age=int(SESSION_TTL))
    raise response


async def _record(app: web.Application, book_id: str, contact_id: str) -> tuple[OpenBook, Contact]:
    book: OpenBook = app[appkeys.BOOKS].get(book_id)
    if book.connector is None:
        raise NotFound(book.error or "The address book is unavailable.", code="book_unavailable")
    contact = await book.connector.get(contact_id)
    if contact is None:
        raise NotFound("This contact no longer exists.", code="unknown_record")
    return book, contact


def _key(book_id: str, number: str) -> str:
    return idempotency_key(f"page-{number}", book_id)


@page
async def log_call_page(request: web.Request) -> web.StreamResponse:
    app = request.app
    token = request.match_info["token"]
    book_id, contact_id, number = _page_of(app, token)
    book, contact = await _record(app, book_id, contact_id)
    entry = await asyncio.to_thread(app[appkeys.CALLS].store.entry, _key(book_id, number))
    now = datetime.now().astimezone()
    context = {
        "book": book,
        "contact": contact,
        "numbers": [p.number for p in contact.phones if p.number],
        "entry": entry,
        "done": entry is not None and entry.status == DONE,
        "failed": entry is not None and entry.status == FAILED,
        "form": {
            "subject": f"Call with {contact.name}" if contact.name else "Call",
            "notes": "",
            "direction": "Outbound",
            "time": now.strftime("%Y-%m-%dT%H:%M"),
            "duration": "0:00",
        },
        "timezone": now.strftime("%Z") or now.strftime("%z"),
        "problem": request.query.get("problem", "")[:300],
        "request_token": token,
    }
    return render(request, "ui_log_call.html", context)


def parse_duration(text: str) -> int:
    """Seconds from `m:ss`, `h:mm:ss` or whole minutes."""
    match = DURATION.match(text)
    if not match:
        raise BadRequest("Duration: write minutes and seconds, e.g. 4:30.", code="invalid_field")
    first, second, third = match.groups()
    if third is not None:  # h:mm:ss
        return int(first or 0) * 3600 + int(second) * 60 + int(third)
    if first is not None:  # m:ss
        return int(first) * 60 + int(second)
    return int(second) * 60  # minutes


def parse_local_time(text: str) -> datetime:
    """The time the form gives (the computer's own time zone, as the browser's date-time field shows it)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest("Time: give the date and time of the call.", code="invalid_field") from None
    return (moment.astimezone() if moment.tzinfo is None else moment).astimezone(UTC)


@page
async def log_call_save(request: web.Request) -> web.StreamResponse:
    app = request.app
    token = request.match_info["token"]
    form = await checked_form(request)
    book_id, contact_id, number = _page_of(app, token)
    book, contact = await _record(app, book_id, contact_id)
    subject = str(form.get("subject", "")).strip()
    notes = str(form.get("notes", "")).replace("\r\n", "\n").strip()  # browsers send CRLF
    direction = str(form.get("direction", ""))
    if not subject or len(subject) > MAX_SUBJECT:
        raise BadRequest(f"Subject: write 1 to {MAX_SUBJECT} characters.", code="invalid_field")
    if len(notes) > MAX_NOTES:
        raise BadRequest(f"Notes: at most {MAX_NOTES} characters.", code="invalid_field")
    if direction not in (str(CallDirection.INBOUND), str(CallDirection.OUTBOUND)):
        raise BadRequest("Direction: choose Inbound or Outbound.", code="invalid_field")
    their_number = next((p.number for p in contact.phones if p.number), "")
    inbound = direction == str(CallDirection.INBOUND)
    call = CallInfo(
        direction=CallDirection(direction),
        caller_number=their_number if inbound else "",
        caller_name=contact.name if inbound else "",
        called_number="" if inbound else their_number,
        called_name="" if inbound else contact.name,
        start_utc=parse_local_time(str(form.get("time", ""))),
        duration_seconds=parse_duration(str(form.get("duration", ""))),
        notes=notes,
        call_id=f"page-{number}",
    )
    service = app[appkeys.CALLS]
    entry = service.entry_for(book, call, contact.id, "LogCallPage")
    entry.subject = subject
    entry.contact_name = contact.name
    outcome = await service.worker.deliver_now(entry)  # exactly once: the key is the page's own
    problem = "" if outcome.status == DONE else outcome.message
    query = f"?{urllib.parse.urlencode({'problem': problem[:300]})}" if problem else ""
    raise see_other(f"/ui/logcall/{token}{query}")


def add_log_call_routes(app: web.Application) -> None:
    app.router.add_get("/ui/logcall/start/{login}/{token}", log_call_start)
    app.router.add_get("/ui/logcall/{token}", log_call_page)
    app.router.add_post("/ui/logcall/{token}", log_call_save)

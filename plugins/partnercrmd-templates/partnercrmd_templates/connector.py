"""Running a template's operations: the address book (`TemplateBook`) a template integration opens.

Each operation renders its request from a context (settings, number, text, id, call, contact,
page), sends it through the book's `HttpClient` and maps the answer with the template's JMESPath
expressions onto partnercrmd's model (`Contact` fields by WellKnownName, `Activity`). The book
watches its template file: an edited template is read again before the next operation, so
changes apply without restarting the daemon; a template broken by an edit makes each operation
fail with the template's problems, never the daemon.

A template with a `session:` signs in once before its first operation (Odoo's `common.login` gives
the uid every later call carries): the values its answer gave are `session.*` in every context until
the template changes or the CRM refuses the credentials (then the next operation signs in again).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import phonenumbers

from partnercrmd.sdk import (
    Activity,
    AddinError,
    BookContext,
    CallDirection,
    CallEvent,
    CallState,
    CheckResult,
    Connector,
    Contact,
    ContactPatch,
    Phone,
    PhoneKind,
    SearchQuery,
    Unsupported,
    display_address,
    fold,
    phone_key,
)

from .auth import OAuthAuth, SignedInAuth, StaticAuth, make_auth
from .checks import run_checks
from .client import RPC_NAMES, Answer, HttpClient, Request, RpcCall, Trace, mask_secrets
from .discovery import file_stamp
from .expressions import Text, as_text, compile_path, compile_value, render_value, search
from .loader import LoadedTemplate, TemplateError, load_file
from .settings import settings_with_defaults, url_setting

PHONE_FIELDS = {
    "BusinessPhone": PhoneKind.BUSINESS,
    "MobilePhone": PhoneKind.MOBILE,
    "HomePhone": PhoneKind.HOME,
    "Fax": PhoneKind.FAX,
    "OtherPhone": PhoneKind.OTHER,
}
TEXT_FIELDS = {
    "ContactName": "display_name",
    "FirstName": "first_name",
    "LastName": "last_name",
    "CompanyName": "company",
    "JobTitle": "job_title",
    "Address": "address",
    "Notes": "notes",
    "Url": "url",
    "RecordType": "record_type",
}
MAX_TEXT = 2000
RELOAD_CHECK_SECONDS = 0.5
MAX_CALLS_REMEMBERED = 200
"""Calls whose `call_event` values (`remember`) a book keeps at once; the oldest is forgotten first."""
ALL_STATES = "*"
NO_MATCH = "no_match"
"""`not_found_means: no_match` on a lookup or search: a 404 answer is an empty result, not an error."""


# --- contexts -----------------------------------------------------------------------------------------


def number_context(number: str, region: str | None, last_digits: int) -> dict[str, str]:
    """The forms of a number a template can ask for."""
    key = phone_key(number, region)
    forms = {"e164": key.e164 or key.digits, "e164_digits": (key.e164 or key.digits).lstrip("+"), "digits": key.digits}
    forms["international"] = forms["national"] = forms["national_digits"] = key.digits
    if key.e164:
        parsed = phonenumbers.parse(key.e164, None)
        forms["international"] = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        forms["national"] = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        forms["national_digits"] = phonenumbers.normalize_digits_only(forms["national"])
    forms["nsn"] = key.national or forms["national_digits"].lstrip("0")
    forms["last"] = forms["national_digits"][-last_digits:]
    return forms


PARTY = re.compile(r"^(Caller|Called): (.*?)(?: \[.*\])?$", re.MULTILINE)


def call_context(activity: Activity, now: datetime) -> dict[str, Any]:
    """A call as templates see it; a start in the future (a fast clock) is taken as now."""
    start = activity.start_utc if activity.start_utc.tzinfo else activity.start_utc.replace(tzinfo=UTC)
    start = min(start.astimezone(UTC), now).replace(microsecond=0)
    duration = max(0, activity.duration_seconds)
    end = start + timedelta(seconds=duration)
    parties = {m.group(1): m.group(2).strip() for m in PARTY.finditer(activity.body)}
    inbound = activity.direction is CallDirection.INBOUND
    caller, called = parties.get("Caller", ""), parties.get("Called", "")
    return {
        "direction": str(activity.direction),
        "inbound": inbound,
        "outbound": not inbound,
        "answered": duration > 0,
        "subject": activity.subject,
        "body": activity.body,
        "duration_seconds": duration,
        "duration_minutes": round(duration / 60, 2),
        "duration_whole_minutes": (duration + 59) // 60,
        "duration_mmss": f"{duration // 60:02d}:{duration % 60:02d}",
        "duration_ms": duration * 1000,
        "duration_hms": f"{duration // 3600:02d}:{duration % 3600 // 60:02d}:{duration % 60:02d}",
        "start_iso": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_iso": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_sql": start.strftime("%Y-%m-%d %H:%M:%S"),
        "end_sql": end.strftime("%Y-%m-%d %H:%M:%S"),
        "start_epoch": int(start.timestamp()),
        "start_epoch_ms": int(start.timestamp()) * 1000,
        "caller_number": caller,
        "called_number": called,
        "other_number": caller if inbound else called,
    }


def _when(moment: datetime) -> dict[str, Any]:
    moment = moment.astimezone(UTC).replace(microsecond=0)
    return {
        "iso": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sql": moment.strftime("%Y-%m-%d %H:%M:%S"),
        "epoch": int(moment.timestamp()),
        "epoch_ms": int(moment.timestamp()) * 1000,
    }


def _e164(number: str, region: str | None) -> str:
    """`number` in E.164 when it can be read as a phone number, else as given (an extension stays "201")."""
    if not number.strip():
        return ""
    key = phone_key(number, region)
    return key.e164 or number.strip()


def event_context(event: CallEvent, memory: dict[str, Any], value: str, region: str | None) -> dict[str, Any]:
    """A live call event as templates see it (`event.…`); `memory` is what this call's earlier states left.

    Times are UTC; `start` is when the call started (the phone client's StartTimeUtc, else the first
    state this book was told). `hold_seconds` is the time on hold so far (counted from Held to Resumed).
    """
    inbound = str(event.direction) == "Inbound"
    start = event.started or datetime.fromtimestamp(memory["first_seen"], UTC)
    since_start = max(0, int((event.time - start).total_seconds()))
    other_name = event.caller_name if inbound else event.called_name
    agent_number = event.called_number if inbound else event.caller_number
    return {
        "call_id": event.call_id,
        "state": str(event.state),
        "value": value,
        "direction": str(event.direction),
        "inbound": inbound,
        "outbound": not inbound,
        "final": event.state.final,
        "missed": event.state is CallState.MISSED,
        "caller_number": event.caller_number,
        "caller_name": event.caller_name,
        "called_number": event.called_number,
        "called_name": event.called_name,
        "caller_e164": _e164(event.caller_number, region),
        "called_e164": _e164(event.called_number, region),
        "other_number": event.other_number,
        "other_e164": event.other_number_e164 or event.other_number,
        "other_name": other_name,
        "agent_number": agent_number,
        "agent_e164": _e164(agent_number, region),
        "contact_id": event.contact_id,
        "contact_name": event.contact_name,
        "matched": bool(event.contact_id),
        "time": _when(event.time),
        "start": _when(start),
        "seconds_since_start": since_start,
        "duration_seconds": max(0, event.duration_seconds),
        "wait_seconds": int(memory.get("wait_seconds", since_start)),
        "hold_seconds": int(memory.get("hold_seconds", 0)),
        "remembered": {k: v for k, v in memory.items() if not k.startswith("_") and k not in _MEMORY_KEYS},
    }


_MEMORY_KEYS = {"first_seen", "wait_seconds", "hold_seconds", "held_since"}


def _note_state(memory: dict[str, Any], event: CallEvent) -> None:
    """Keep the call's clock: when this book first heard of it, the wait before answering, time on hold."""
    now = event.time.timestamp()
    memory.setdefault("first_seen", now)
    start = event.started.timestamp() if event.started is not None else memory["first_seen"]
    if event.state is CallState.ANSWERED and "wait_seconds" not in memory:
        memory["wait_seconds"] = max(0, int(now - start))
    if event.state is CallState.HELD:
        memory.setdefault("held_since", now)
    elif "held_since" in memory:
        memory["hold_seconds"] = int(memory.get("hold_seconds", 0)) + max(0, int(now - memory.pop("held_since")))


def _split_name(name: str) -> tuple[str, str]:
    parts = name.strip().rsplit(" ", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0] if parts else "")


def contact_context(contact: Contact, region: str | None) -> dict[str, Any]:
    """A new contact as templates see it: names split from the display name when only that is given."""
    first, last = contact.first_name.strip(), contact.last_name.strip()
    if not first and not last and contact.display_name.strip():
        first, last = _split_name(contact.display_name)
    phone = contact.phones[0].number.strip() if contact.phones else ""
    if phone.lower().startswith("tel:"):
        phone = phone[4:].strip()
    key = phone_key(phone, region) if phone else None
    return {
        "display_name": contact.name,
        "first_name": first,
        "last_name": last,
        "company": contact.company.strip(),
        "job_title": contact.job_title.strip(),
        "email": contact.emails[0].strip() if contact.emails else "",
        "phone": phone,
        "phone_e164": (key.e164 or phone) if key else "",
        "notes": contact.notes,
    }


def patch_context(patch: ContactPatch) -> dict[str, Any]:
    """A contact's changes as templates see them: null for what does not change (so its key is left out)."""
    first, last = patch.first_name, patch.last_name
    if first is None and last is None and patch.display_name is not None and patch.display_name.strip():
        first, last = _split_name(patch.display_name)
    phone = patch.phone.strip() if patch.phone is not None else None
    if phone and phone.lower().startswith("tel:"):
        phone = phone[4:].strip()
    return {
        "display_name": patch.display_name,
        "first_name": first,
        "last_name": last,
        "company": patch.company,
        "email": patch.email,
        "phone": phone,
        "notes": patch.notes,
    }


# --- one loaded template --------------------------------------------------------------------------------


@dataclass
class Compiled:
    """A template with its requests and mappings compiled, ready to run."""

    template: LoadedTemplate

    def __post_init__(self) -> None:
        self.data = self.template.data
        self.name = str(self.data["name"])
        self.base_url = Text.compile(str(self.data["base_url"]))
        self.timeout = float(self.data.get("timeout_seconds", 10))
        self.ops: dict[str, Any] = self.data["operations"]
        self.requests = {
            name: compile_value(op["request"])
            for name, op in self.ops.items()
            if isinstance(op, dict) and "request" in op
        }
        self.steps = {
            name: [compile_value(step["request"]) for step in op.get("then", [])]
            for name, op in self.ops.items()
            if isinstance(op, dict)
        }
        self.call_event_steps: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        call_event = self.ops.get("call_event")
        if isinstance(call_event, dict):
            if "request" in call_event:
                self.call_event_steps[ALL_STATES] = [(dict(call_event), compile_value(call_event["request"]))]
            for state, steps in dict(call_event.get("states", {})).items():
                self.call_event_steps[state] = [(dict(step), compile_value(step["request"])) for step in steps]
        self.error_message = compile_path(self.data["error_message"]) if "error_message" in self.data else None
        self.errors = {k: Text.compile(v) for k, v in self.data.get("errors", {}).items()}
        self.warm_up = compile_value(self.data["warm_up"]["request"]) if "warm_up" in self.data else None
        self.rpc_auth_error = compile_path(self.data["rpc_auth_error"]) if "rpc_auth_error" in self.data else None
        session = self.data.get("session")
        self.session: dict[str, Any] | None = dict(session) if isinstance(session, dict) else None
        self.session_request = compile_value(self.session["request"]) if self.session is not None else None
        self.session_remember = {k: compile_path(v) for k, v in dict((self.session or {}).get("remember", {})).items()}

    def op(self, name: str) -> dict[str, Any]:
        op = self.ops.get(name)
        if op is None:
            raise Unsupported(f"The template '{self.template.id}' has no '{name}' operation.")
        return dict(op)


class TemplateSource:
    """A template file and its last good compile; read again when the file changes."""

    def __init__(self, path: Path, loaded: LoadedTemplate, stamp: tuple[int, int] | None = None) -> None:
        """`stamp`: the file's `file_stamp` when `loaded` was read from it, earlier (the first `current` then looks
        at the file again); by default `loaded` is the file as it is now."""
        self.path = path
        self.compiled = Compiled(loaded)
        self.error: TemplateError | None = None
        self._stamp = file_stamp(path) if stamp is None else stamp
        self._checked = time.monotonic() if stamp is None else -math.inf
        self.generation = 0

    async def current(self) -> Compiled:
        """The template as the file now says; a broken edit raises its problems (the book says so)."""
        if time.monotonic() - self._checked >= RELOAD_CHECK_SECONDS:
            self._checked = time.monotonic()
            stamp = await asyncio.to_thread(file_stamp, self.path)
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    loaded = await asyncio.to_thread(load_file, self.path)
                except TemplateError as exc:
                    self.error = exc
                else:
                    self.error = None
                    self.compiled = Compiled(loaded)
                    self.generation += 1
        if self.error is not None:
            shown = "; ".join(self.error.problems[:3])
            raise AddinError(f"The template was changed and is now broken: {shown}", code="invalid_config")
        return self.compiled


# --- the address book ------------------------------------------------------------------------------------


class TemplateBook(Connector):
    """One configured book of a template integration."""

    def __init__(self, context: BookContext, source: TemplateSource, *, trace: Trace | None = None) -> None:
        self.context = context
        self.source = source
        self.region = context.default_region
        self.trace = trace
        self.send_writes = True
        compiled = source.compiled
        self._given = dict(context.settings)
        self.settings = settings_with_defaults(compiled.data, self._given)
        self.client = HttpClient(
            compiled.name,
            url_setting=url_setting(compiled.data),
            retries=int(compiled.data.get("rate_limit", {}).get("retries", 2)),
            max_wait=float(compiled.data.get("rate_limit", {}).get("max_wait_seconds", 30)),
            mask=self._mask,
            trace=trace,
        )
        self._generation = -1
        self._session: dict[str, Any] | None = None
        """What the template's `session` request gave (`session.*` in contexts); None until signed in."""
        self._session_lock = asyncio.Lock()
        self._calls: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """Per call: the clock of its states and the values its `call_event` requests remembered."""
        self._warmed_at: float | None = None
        """When the template's `warm_up` request last went through (time.monotonic)."""
        self._auth_for(compiled)

    def _mask(self, text: str) -> str:
        """`text` with the secret settings masked, however the request wrote them (JSON, XML, a query)."""
        secret_keys = {p["key"] for p in self.source.compiled.data.get("parameters", []) if p.get("type") == "secret"}
        return mask_secrets(text, [str(self.settings.get(key) or "") for key in secret_keys])

    def _auth_for(self, compiled: Compiled) -> StaticAuth | OAuthAuth | SignedInAuth:
        if self._generation != self.source.generation or self.client.auth is None:
            self.settings = settings_with_defaults(compiled.data, self._given)
            self.client.name = compiled.name
            self.client.auth = make_auth(
                compiled.data["auth"],
                {"settings": self.settings},
                self.context.data_dir,
                compiled.name,
                on_secret=self.context.add_secret,
                session=self.context.sign_in,
            )
            self._generation = self.source.generation
            self._session = None  # new settings or a new template: sign in again
        assert isinstance(self.client.auth, (StaticAuth, OAuthAuth, SignedInAuth))
        return self.client.auth

    async def _compiled(self, *, signed_in: bool = True) -> Compiled:
        """The current template, with the book's authentication and (unless `signed_in` is false: an operation
        that sends nothing) its session ready."""
        compiled = await self.source.current()
        self._auth_for(compiled)
        if signed_in and compiled.session is not None:
            await self._sign_in(compiled)
        return compiled

    async def _sign_in(self, compiled: Compiled) -> None:
        """Send the template's `session` request once and remember what its answer gives (`session.*`); a value
        missing from the answer (Odoo's login answers false for wrong credentials) is a refusal."""
        async with self._session_lock:  # one sign-in, however many operations start at once
            if self._session is not None:
                return
            assert compiled.session is not None and compiled.session_request is not None
            doing = str(compiled.session.get("doing") or "sign in")
            request = self._build(compiled, compiled.session, compiled.session_request, self._context(), writes=False)
            answer = await self.client.send(request)
            if not answer.ok:
                raise self._fail(compiled, answer, doing, display_address(request.url))
            values = {key: search(path, answer.payload) for key, path in compiled.session_remember.items()}
            self._note(f"session: {sorted(values)} remembered")
            missing = [key for key, value in values.items() if value is None or value is False or value == ""]
            if missing:
                raise AddinError(
                    self.client.mask(
                        f"{compiled.name} refused to {doing} (its answer gave no {', '.join(missing)})."
                        f"{' ' + self._credentials_hint(compiled) if self._credentials_hint(compiled) else ''}"
                    ),
                    code="invalid_auth",
                )
            self._session = values

    # --- requests ------------------------------------------------------------------------------------

    def _request(
        self, compiled: Compiled, name: str, context: Mapping[str, Any], url: str | None = None, step: int = -1
    ) -> Request:
        op = compiled.ops[name] if step < 0 else compiled.ops[name]["then"][step]
        spec = compiled.requests[name] if step < 0 else compiled.steps[name][step]
        return self._build(
            compiled, op, spec, context, url, writes=name in ("log_call", "create_contact", "update_contact")
        )

    def _build(
        self,
        compiled: Compiled,
        op: Mapping[str, Any],
        spec: Mapping[str, Any],
        context: Mapping[str, Any],
        url: str | None = None,
        *,
        writes: bool,
    ) -> Request:
        """The HTTP request of one compiled request `spec` (its raw form in `op["request"]`), filled from `context`."""
        base = compiled.base_url.text(context).rstrip("/")
        if url is None:
            path = spec["url"].text(context, escape_values=True)
            url = path if path.startswith(("http://", "https://")) else f"{base}/{path.lstrip('/')}"
        elif not url.startswith(("http://", "https://")):
            url = urljoin(base + "/", url)
        headers = {"Accept": "application/json"}
        for key, value in spec.get("headers", {}).items():
            filled = value.value(context)
            if filled is not None:  # a header whose value is null is left out, as keys of bodies are
                headers[key] = as_text(filled)
        timeout = float(op["request"].get("timeout_seconds", compiled.timeout))
        json_body = render_value(spec["json"], context) if "json" in spec else None
        graphql = op["request"].get("graphql")
        if graphql is not None:
            # The query document is sent as written (never templated: values go in as variables, typed by the
            # schema and never spliced into the query), with the variables filled from the context.
            variables = render_value(spec["graphql"].get("variables", {}), context)
            json_body = {"query": str(graphql["query"]), "variables": variables}
        rpc: RpcCall | None = None
        for kind in ("jsonrpc", "xmlrpc"):
            if kind in op["request"]:
                # The remote method is named as written; its params are filled from the context (the client
                # makes the envelope: JSON-RPC 2.0's id, XML-RPC's methodCall).
                given = spec[kind].get("params")
                params = render_value(given, context) if given is not None else None
                rpc = RpcCall("jsonrpc" if kind == "jsonrpc" else "xmlrpc", str(op["request"][kind]["method"]), params)
        return Request(
            method="POST" if graphql is not None or rpc is not None else op["request"].get("method", "GET"),
            url=url,
            headers=headers,
            query=render_value(spec["query"], context) if "query" in spec else None,
            json_body=json_body,
            form=render_value(spec["form"], context) if "form" in spec else None,
            timeout=timeout,
            send=self.send_writes or not writes,
            graphql=graphql is not None,
            rpc=rpc,
        )

    def _context(self, **more: Any) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "session": dict(self._session or {}),
            "now_iso": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **more,
        }

    def _credentials_hint(self, compiled: Compiled) -> str:
        secrets = [p["key"] for p in compiled.data.get("parameters", []) if p.get("type") == "secret"]
        if not secrets:
            return ""
        return f"Check the setting{'s' if len(secrets) > 1 else ''} {', '.join(repr(s) for s in secrets)}."

    def _fail(self, compiled: Compiled, answer: Answer, doing: str, where: str) -> AddinError:
        """The book's error for an answer that did not do what was asked; the one place answers are judged."""
        error = self._failure(compiled, answer, doing, where)
        if error.code == "invalid_auth":
            self._session = None  # refused credentials: the next operation signs in afresh
        return error

    def _failure(self, compiled: Compiled, answer: Answer, doing: str, where: str) -> AddinError:
        fault = answer.rpc_fault
        if fault is not None:
            # An RPC error object (JSON-RPC answers it with 200): the template says which mean refused
            # credentials (rpc_auth_error, e.g. Odoo's AccessDenied) and what to quote (error_message).
            kind = RPC_NAMES[fault.kind]
            said = as_text(search(compiled.error_message, fault.as_context())) if compiled.error_message else ""
            told = " ".join((said or fault.message or "no message").split())[:300]
            code = " ".join(as_text(fault.code).split())[:40]
            refused = compiled.rpc_auth_error is not None and bool(search(compiled.rpc_auth_error, fault.as_context()))
            if refused:
                hint = self._credentials_hint(compiled)
                message = (
                    f"{compiled.name} refused to {doing} ({kind} error {code}: {told}).{' ' + hint if hint else ''}"
                )
                return AddinError(self.client.mask(message), code="invalid_auth")
            return AddinError(self.client.mask(f"{compiled.name} could not {doing} ({kind} error {code}: {told})."))
        if answer.rpc_malformed and 200 <= answer.status < 300:
            return AddinError(
                self.client.mask(
                    f"{compiled.name} at {where} answered the request to {doing} with {answer.rpc_malformed}; "
                    f"check the setting '{url_setting(compiled.data)}'."
                ),
                code="invalid_data",
            )
        if answer.graphql_errors and 200 <= answer.status < 300:
            # GraphQL refuses a query with 200 and an errors list: its messages are what the user needs to read.
            told = "; ".join(answer.graphql_errors)[:300]
            return AddinError(
                self.client.mask(f"{compiled.name} refused the query to {doing} (GraphQL: {told})."), code="unknown"
            )
        said = ""
        if compiled.error_message is not None:
            said = " ".join(as_text(search(compiled.error_message, answer.payload)).split())[:300]
        status = answer.status
        context = {"status": status, "said": said, "doing": doing, "where": where, "name": compiled.name}
        template = compiled.errors.get(str(status))
        if template is None and status in (401, 403):
            template = compiled.errors.get("auth")
        template = template or compiled.errors.get("default")
        check = self._credentials_hint(compiled)
        failed = self.client.http.failure(answer.raw, doing, said=said, credentials_hint=check)
        message = template.text(context) if template is not None else failed.message
        return AddinError(self.client.mask(message), code=failed.code)

    def _doing(self, compiled: Compiled, name: str, default: str) -> str:
        return str(compiled.ops[name].get("doing") or default)

    async def _call(
        self, compiled: Compiled, name: str, context: Mapping[str, Any], doing: str, *, ok404: bool = False
    ) -> Answer | None:
        self._preconditions(compiled, name, context)
        request = self._request(compiled, name, context)
        answer = await self.client.send(request)
        if not request.send:
            return None
        if answer.status == 404 and ok404:
            return None
        if not answer.ok:
            raise self._fail(compiled, answer, doing, display_address(request.url))
        previous = answer
        for index, step in enumerate(compiled.ops[name].get("then", [])):
            step_request = self._request(compiled, name, {**context, "previous": previous.payload}, step=index)
            previous = await self.client.send(step_request)
            if not previous.ok:
                raise self._fail(compiled, previous, str(step.get("doing") or doing), display_address(step_request.url))
        return answer

    def _preconditions(self, compiled: Compiled, name: str, context: Mapping[str, Any]) -> None:
        for rule in compiled.ops[name].get("preconditions", []):
            if not search(compile_path(rule["check"]), context):
                raise AddinError(Text.compile(rule["message"]).text(context), code="invalid_data")

    # --- mapping ---------------------------------------------------------------------------------------

    def _note(self, text: str) -> None:
        if self.trace is not None:
            self.trace.mappings.append(text)

    def contact_from(self, fields: Mapping[str, Any], record: Any) -> Contact:
        """One record mapped by WellKnownName; values of the wrong kind are left out."""
        values: dict[str, Any] = {}
        contact = Contact()
        raw_id = search(compile_path(fields["Id"]), record)
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or raw_id == "":
            raise AddinError(f"{self.source.compiled.name} sent a record without an id.", code="invalid_data")
        contact.id = str(raw_id)
        for well_known, attribute in TEXT_FIELDS.items():
            if well_known in fields:
                value = _one_text(search(compile_path(fields[well_known]), record))
                if value:
                    setattr(contact, attribute, value)
                    values[well_known] = value
        for well_known, kind in PHONE_FIELDS.items():
            if well_known in fields:
                for number in _texts(search(compile_path(fields[well_known]), record)):
                    contact.phones.append(Phone(number, kind))
                    values.setdefault(well_known, number)
        paths = fields.get("Email", [])
        for path in [paths] if isinstance(paths, str) else paths:
            for address in _texts(search(compile_path(path), record)):
                if address not in contact.emails:
                    contact.emails.append(address)
        for label, path in dict(fields.get("Custom", {})).items():
            value = _one_text(search(compile_path(path), record))
            if value:
                contact.custom[label] = value
        self._note(
            f"record {contact.id} -> {contact.name!r} {values | {'Email': contact.emails}} custom={contact.custom}"
        )
        return contact

    # --- search ---------------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        compiled = await self._compiled()
        await self._warm_up(compiled)
        if query.number:
            if "lookup" not in compiled.ops:
                raise Unsupported(f"{compiled.name} (this template) cannot search by number.")
            return await self._lookup(compiled, query)
        if "search" not in compiled.ops:
            raise Unsupported(f"{compiled.name} (this template) cannot search by name.")
        return await self._search_text(compiled, query)

    async def _warm_up(self, compiled: Compiled) -> None:
        """The template's `warm_up` request, before a search when this book has not sent it for `every_seconds`:
        for a vendor whose search answers from a cache that a request refreshes (Google's searchContacts asks for
        one with an empty query before searching)."""
        spec = compiled.data.get("warm_up")
        if spec is None or compiled.warm_up is None:
            return
        now = time.monotonic()
        if self._warmed_at is not None and now - self._warmed_at < float(spec.get("every_seconds", 300)):
            return
        request = self._build(compiled, spec, compiled.warm_up, self._context(), writes=False)
        answer = await self.client.send(request)
        if not answer.ok:
            doing = str(spec.get("doing") or "prepare the search")
            raise self._fail(compiled, answer, doing, display_address(request.url))
        self._warmed_at = now

    async def _lookup(self, compiled: Compiled, query: SearchQuery) -> list[Contact]:
        assert query.number is not None
        op = compiled.op("lookup")
        numbers = number_context(query.number, self.region, int(op.get("last_digits", 9)))
        found: dict[str, Contact] = {}
        # One query per distinct form (for a number that cannot be parsed several forms are the same digits) and
        # per phone field, in the template's order (its best guess first), as far as the budget allows: for CRMs
        # that match one field and one format per query (Zoho's criteria), so a lookup's cost stays bounded.
        queries = [
            (number, phone_field)
            for number in dict.fromkeys(numbers[form] for form in op.get("forms", ["e164"]))
            for phone_field in op.get("phone_fields", [None])
        ]
        budget = int(op.get("budget", len(queries)))
        if len(queries) > budget:
            self._note(f"lookup: a budget of {budget} queries; {len(queries) - budget} of {len(queries)} left out")
            queries = queries[:budget]
        for number, phone_field in queries:
            context = self._context(
                number=number, numbers=numbers, phone_field=phone_field, text=query.text, limit=query.limit
            )
            for contact in await self._records(compiled, "lookup", context, query.limit, "search contacts by number"):
                found.setdefault(contact.id, contact)  # merged: each record once, where it was first found
        return list(found.values())

    async def _search_text(self, compiled: Compiled, query: SearchQuery) -> list[Contact]:
        op = compiled.op("search")
        words = query.text.split()
        if not words:
            return []
        context = self._context(text=query.text, words=words, longest_word=max(words, key=len), limit=query.limit)
        contacts = await self._records(compiled, "search", context, query.limit, "search contacts by name")
        if op.get("match_all_words"):
            folded = [fold(w) for w in words]
            contacts = [c for c in contacts if all(w in _searchable(c) for w in folded)]
        return contacts

    async def _records(
        self, compiled: Compiled, name: str, context: dict[str, Any], limit: int, default_doing: str
    ) -> list[Contact]:
        op = compiled.ops[name]
        response = op.get("response", {})
        paging = op.get("pagination")
        doing = self._doing(compiled, name, default_doing)
        records_path = compile_path(response["records"]) if "records" in response else None
        ids_path = compile_path(response["ids"]) if "ids" in response else None
        size = int(paging.get("size", 50)) if paging else max(limit, 1)
        page: dict[str, Any] = {
            "size": size,
            "offset": 0,
            "number": int(paging.get("first", 1)) if paging else 1,
            "cursor": None,
        }
        next_url: str | None = None
        contacts: list[Contact] = []
        for _ in range(int(paging.get("max_pages", 5)) if paging else 1):
            page_context = {**context, "page": dict(page)}
            self._preconditions(compiled, name, page_context)
            request = self._request(compiled, name, page_context, url=next_url)
            if next_url is not None:
                request = Request("GET", request.url, request.headers, timeout=request.timeout)
            answer = await self.client.send(request)
            if answer.status == 404 and op.get("not_found_means") == NO_MATCH:
                # The vendor answers 404 for "nobody has this" (Front's GET /contacts/alt:phone:…): no records.
                self._note(f"{name}: 404, which this operation declares as no match")
                break
            if not answer.ok:
                raise self._fail(compiled, answer, doing, display_address(request.url))
            payload = answer.payload
            if ids_path is not None:
                ids = [
                    str(i)
                    for i in _list(search(ids_path, payload))
                    if isinstance(i, (str, int)) and not isinstance(i, bool)
                ]
                self._note(f"{name}: ids {ids}")
                for record_id in ids[: max(limit, 1)]:
                    contact = await self._get(compiled, record_id)
                    if contact is not None:
                        contacts.append(contact)
                items: list[Any] = ids
            else:
                items = _list(search(records_path, payload) if records_path is not None else payload)
                self._note(f"{name}: {len(items)} record(s) in the answer")
                contacts += [self.contact_from(response["fields"], item) for item in items if isinstance(item, dict)]
            if not paging or len(contacts) >= limit:
                break
            more = bool(search(compile_path(paging["more"]), payload)) if "more" in paging else len(items) >= size
            following = search(compile_path(paging["next"]), payload) if "next" in paging else None
            if paging["type"] == "offset":
                page["offset"] = int(page["offset"]) + size
            elif paging["type"] == "page":
                page["number"] = int(page["number"]) + 1
            elif paging["type"] == "cursor":
                page["cursor"] = following
                more = more and following not in (None, "")
            else:
                next_url = str(following) if isinstance(following, str) and following else None
                more = next_url is not None
            if not more:
                break
        return contacts

    # --- records ----------------------------------------------------------------------------------------

    async def get(self, contact_id: str) -> Contact | None:
        compiled = await self._compiled()
        if "get" not in compiled.ops:
            raise Unsupported(f"{compiled.name} (this template) cannot read single records.")
        return await self._get(compiled, contact_id)

    async def _get(self, compiled: Compiled, contact_id: str) -> Contact | None:
        op = compiled.ops["get"]
        answer = await self._call(
            compiled, "get", self._context(id=contact_id), self._doing(compiled, "get", "read a contact"), ok404=True
        )
        if answer is None:
            return None
        response = op.get("response", {})
        record = search(compile_path(response["record"]), answer.payload) if "record" in response else answer.payload
        if not isinstance(record, dict):
            return None
        fields = response.get("fields") or compiled.ops.get("lookup", compiled.ops.get("search", {})).get(
            "response", {}
        ).get("fields")
        if not fields:
            raise AddinError(
                f"The template '{compiled.template.id}' does not say how to map a record.", code="invalid_config"
            )
        return self.contact_from(fields, record)

    async def record_url(self, contact_id: str, edit: bool) -> str | None:
        compiled = await self._compiled(signed_in=False)  # an address made from settings: nothing is sent
        pop = compiled.ops.get("pop")
        if not pop:
            return None
        template = pop.get("edit") if edit else pop.get("view")
        if not template:
            return None
        url = Text.compile(template).text(self._context(id=contact_id), escape_values=True)
        return url if url.startswith(("https://", "http://")) else None

    async def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        compiled = await self._compiled()
        if "activities" not in compiled.ops:
            raise Unsupported(f"{compiled.name} (this template) cannot read activities.")
        op = compiled.ops["activities"]
        context = self._context(id=contact_id, limit=limit)
        answer = await self._call(
            compiled, "activities", context, self._doing(compiled, "activities", "read activities")
        )
        assert answer is not None
        response = op["response"]
        rows = _list(search(compile_path(response["activities"]), answer.payload))
        out = [a for a in (_activity(response["fields"], row) for row in rows) if a is not None]
        return out[:limit]

    async def log_activity(self, contact_id: str, activity: Activity) -> str:
        compiled = await self._compiled()
        if "log_call" not in compiled.ops:
            raise Unsupported(f"{compiled.name} (this template) cannot log calls.")
        context = self._context(id=contact_id, call=call_context(activity, datetime.now(UTC)))
        answer = await self._call(compiled, "log_call", context, self._doing(compiled, "log_call", "log the call"))
        if answer is None:
            return ""
        id_path = compiled.ops["log_call"].get("response", {}).get("id")
        new_id = _one_text(search(compile_path(id_path), answer.payload)) if id_path else ""
        self._note(f"log_call: new activity id {new_id!r}")
        return new_id

    async def create(self, contact: Contact) -> Contact:
        compiled = await self._compiled()
        if "create_contact" not in compiled.ops:
            raise Unsupported(f"{compiled.name} (this template) cannot create contacts.")
        op = compiled.ops["create_contact"]
        context = self._context(contact=contact_context(contact, self.region))
        answer = await self._call(
            compiled, "create_contact", context, self._doing(compiled, "create_contact", "create the contact")
        )
        if answer is None:
            return contact
        response = op.get("response", {})
        if "fields" in response:
            record = (
                search(compile_path(response["record"]), answer.payload) if "record" in response else answer.payload
            )
            return self.contact_from(response["fields"], record)
        new_id = _one_text(search(compile_path(response.get("id", "id")), answer.payload))
        if not new_id:
            raise AddinError(
                f"{compiled.name} created the contact but did not say under which id.", code="invalid_data"
            )
        stored = await self._get(compiled, new_id)
        if stored is None:
            raise AddinError(f"{compiled.name} created the contact but cannot read it back.", code="not_found")
        return stored

    async def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        compiled = await self._compiled()
        if "update_contact" not in compiled.ops:
            raise Unsupported(f"{compiled.name} (this template) cannot change contacts.")
        if not patch.is_empty():
            context = self._context(id=contact_id, patch=patch_context(patch))
            answer = await self._call(
                compiled, "update_contact", context, self._doing(compiled, "update_contact", "change the contact")
            )
            response = compiled.ops["update_contact"].get("response", {})
            if answer is not None and "fields" in response:
                record = (
                    search(compile_path(response["record"]), answer.payload) if "record" in response else answer.payload
                )
                return self.contact_from(response["fields"], record)
        stored = await self._get(compiled, contact_id) if "get" in compiled.ops else None
        if stored is None:
            raise AddinError(f"The contact is not in {compiled.name} (any more).", code="not_found")
        return stored

    # --- live call events ---------------------------------------------------------------------------------

    async def call_event(self, event: CallEvent) -> None:
        """Send the template's `call_event` requests for this state, in order; skip those whose `when` is false.

        A request that fails raises (the host tries the state again): the requests of the state that
        went through already are not sent again, so a retry never registers a call twice.
        """
        compiled = await self._compiled()
        op = compiled.ops.get("call_event")
        if not isinstance(op, dict):
            raise Unsupported(f"{compiled.name} (this template) does not take live call events.")
        state = str(event.state)
        if state in compiled.call_event_steps:
            steps, value = compiled.call_event_steps[state], state
        elif ALL_STATES in compiled.call_event_steps and state in op.get("values", {}):
            steps, value = compiled.call_event_steps[ALL_STATES], str(op["values"][state])
        else:
            self._note(f"call_event: nothing to send for {state}")
            return
        memory = self._calls.get(event.call_id)
        if memory is None:
            memory = self._calls[event.call_id] = {}
            while len(self._calls) > MAX_CALLS_REMEMBERED:
                self._calls.popitem(last=False)
        attempt = f"{state}@{event.time.isoformat()}"  # a retry of this very event, not the same state again
        if memory.get("_event") != attempt:
            memory["_event"], memory["_done"] = attempt, {}
            _note_state(memory, event)
        done: dict[int, bool] = memory["_done"]
        doing = str(op.get("doing") or f"tell it the call is {state.lower()}")
        for index, (step, spec) in enumerate(steps):
            if done.get(index):
                continue
            context = self._context(event=event_context(event, memory, value, self.region))
            if "when" in step and not search(compile_path(step["when"]), context):
                self._note(f"call_event: {state}: request {index + 1} left out (when: {step['when']})")
                done[index] = True
                continue
            request = self._build(compiled, step, spec, context, writes=True)
            answer = await self.client.send(request)
            if request.send and not answer.ok:
                raise self._fail(compiled, answer, str(step.get("doing") or doing), display_address(request.url))
            for key, path in dict(step.get("remember", {})).items():
                found = search(compile_path(path), answer.payload)
                if isinstance(found, (str, int, float)) and not isinstance(found, bool):
                    memory[key] = found
            done[index] = True
        self._note(f"call_event: {state} done")
        if event.state.final:
            self._calls.pop(event.call_id, None)

    # --- test connection ---------------------------------------------------------------------------------

    async def test(self) -> Sequence[CheckResult]:
        compiled = await self._compiled(signed_in=False)  # the search signs in: a refusal is a failed check
        return await run_checks(compiled.name, compiled.ops, self.search)

    async def close(self) -> None:
        await self.client.close()


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _one_text(value: Any) -> str:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, (str, int, float)) and not isinstance(v, bool)), None)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return (
        " ".join(as_text(value).split())[:MAX_TEXT]
        if isinstance(value, str) and "\n" not in value
        else as_text(value)[:MAX_TEXT]
    )


def _texts(value: Any) -> list[str]:
    out = []
    for item in _list(value):
        text = _one_text(item)
        if text:
            out.append(text)
    return out


def _searchable(contact: Contact) -> str:
    return fold(
        " ".join([contact.display_name, contact.first_name, contact.last_name, contact.company, *contact.emails])
    )


def _moment(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _activity(fields: Mapping[str, str], row: Any) -> Activity | None:
    def get(key: str) -> Any:
        return search(compile_path(fields[key]), row) if key in fields else None

    start = _moment(get("StartTimeUtc"))
    activity_id = _one_text(get("Id"))
    if start is None or not activity_id:
        return None
    direction = _one_text(get("Direction")).lower()
    duration = get("DurationSeconds")
    return Activity(
        subject=_one_text(get("Subject")) or "Call",
        body=_one_text(get("Body")),
        direction=CallDirection.OUTBOUND if direction.startswith("out") else CallDirection.INBOUND,
        start_utc=start,
        duration_seconds=int(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else 0,
        id=activity_id,
    )


Opener = Callable[[BookContext], TemplateBook]

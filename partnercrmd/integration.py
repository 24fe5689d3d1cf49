"""What an add-in provides: integrations (types of address book) and the connectors that serve them.

An `Integration` describes one kind of CRM or address book: its identity,
capabilities, configuration schema and guide. The user configures any number
of *address books* from it; for each, the host calls `Integration.open` with a
`BookContext` and talks to the `Connector` it returns.

Write a connector either as `Connector` (async methods, for aiohttp-based
clients) or as `BlockingConnector` (plain methods, for synchronous client
libraries: the host runs each call in a worker thread, never on the event loop,
except the bounded reads it declares in `BlockingConnector.on_loop`).
Methods an integration cannot do keep their default, which raises `Unsupported`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .errors import Unsupported
from .model import Activity, CallDirection, CheckResult, Contact, ContactPatch, SearchQuery
from .redact import LOG_REDACTOR, book_owner

T = TypeVar("T")

log = logging.getLogger(__name__)


class Capability(StrEnum):
    SEARCH_NUMBER = "SearchByNumber"
    SEARCH_NAME = "SearchByName"
    POP = "Pop"
    POP_EDIT = "PopInEditMode"
    LOG_ACTIVITY = "LogActivity"
    SHOW_ACTIVITIES = "ShowActivities"
    CREATE_CONTACT = "CreateContact"
    UPDATE_CONTACT = "UpdateContact"
    PICTURES = "Pictures"
    CALL_EVENTS = "LiveCallEvents"
    """The book is told each state of a call as it happens (`Connector.call_event`)."""


class Classification(StrEnum):
    STANDARD = "Standard"
    CONTROLLED = "Controlled"
    """Hidden until the user enters the partner's unlock code."""


class FieldKind(StrEnum):
    TEXT = "text"
    SECRET = "secret"  # noqa: S105  (a field kind, not a password)
    URL = "url"
    INT = "int"
    BOOL = "bool"
    CHOICE = "choice"
    PATH = "path"


@dataclass(frozen=True)
class ConfigField:
    """One setting of an integration, as the configuration UI and `books add --set` show it."""

    key: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    default: str | int | bool | None = None
    help: str = ""
    choices: tuple[str, ...] = ()
    advanced: bool = False
    """Shown in the form's collapsed "Advanced" section (e.g. a user's own OAuth client id instead of the partner's)."""

    @property
    def secret(self) -> bool:
        return self.kind is FieldKind.SECRET


@dataclass(frozen=True)
class ReleaseNote:
    version: str
    date: str
    text: str


@dataclass(frozen=True)
class OAuthSignIn:
    """How a book signs in with the user's own account: OAuth 2 authorisation code with PKCE (RFC 6749 §4.1, RFC 7636).

    The integration says where (endpoints of the book's tenant or region), what (scopes) and who-am-I; the daemon
    runs the rest: PKCE (S256), the state, its own loopback callback page as redirect URI, the token exchange,
    storing and refreshing the tokens in its vault. Returned by `Integration.sign_in` for a book's settings.
    """

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    """How the scopes are joined in `scope` (RFC 6749 says a space; Zoho wants commas)."""
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    """Extra parameters of the authorisation request (e.g. Zoho's access_type=offline, prompt=consent)."""
    client_id: str = ""
    """The user's own client id (advanced settings); "" to use the partner's, from its branding file."""
    client_secret: str = ""
    """With `client_id`: its secret, where the vendor requires one for installed apps."""
    client_auth: str = "body"
    """How the client authenticates at the token endpoint: "body" (client_id and client_secret in the form) or
    "basic" (HTTP Basic, RFC 6749 §2.3.1)."""
    token_scheme: str = "Bearer"  # noqa: S105  (an HTTP authorisation scheme, not a password)
    """The Authorization scheme API requests carry the access token with (Zoho: Zoho-oauthtoken)."""
    userinfo_url: str = ""
    """The vendor's who-am-I address, asked with the new access token right after signing in ("{access_token}" in
    it is replaced by the token, for HubSpot's token-information call); "" when there is none."""
    account_name: Callable[[Any], str] | None = None
    """Picks the signed-in user's name or e-mail out of the who-am-I answer (parsed JSON)."""
    service: str = ""
    """The vendor's name for buttons ("Sign in with Salesforce"); "" to use the integration's name."""


class SignInSession(Protocol):
    """A book's OAuth sign-in, given to its connector as `BookContext.sign_in` (the daemon implements it).

    The tokens live in the daemon's encrypted vault; the connector only asks for an access token. When only the
    user can cure the grant (revoked, expired for good) each method raises `AddinError` with code
    `SIGN_IN_REQUIRED`, and the book's status turns to "Sign in again".
    """

    async def access_token(self) -> str:
        """A valid access token, refreshed silently (and once) when it has expired."""
        ...

    async def renew(self, rejected: str) -> str:
        """The API refused `rejected` (401): a new access token from the refresh token, unless one is newer already."""
        ...

    async def refused(self, token: str, reason: str) -> None:
        """The API refused `token` even after a refresh: the grant is gone; always raises (`SIGN_IN_REQUIRED`)."""
        ...

    async def adopt(self, refresh_token: str, access_token: str = "", expires_at: float = 0.0, seed: str = "") -> bool:
        """Take over tokens obtained elsewhere (an older release's token file, a refresh token pasted in the
        settings, told apart by `seed`) unless the book is signed in already with the same seed; whether it did."""
        ...


@dataclass(frozen=True)
class BookContext:
    """What a connector gets to know about the address book it serves."""

    book_id: str
    name: str
    settings: Mapping[str, Any]
    """The book's settings, secrets included, converted to the kinds the schema declares."""
    data_dir: Path
    """A directory of this book's own for databases and caches; it exists."""
    default_region: str | None
    """Region (ISO 3166 alpha-2) for numbers written without a country code."""
    sign_in: SignInSession | None = None
    """The user's OAuth sign-in for this book (tokens the daemon keeps in its vault), when the integration declares
    `Integration.sign_in`; None otherwise (and outside a daemon: `template try`, tests that build a context)."""

    def add_secret(self, value: str) -> None:
        """Keep `value` out of every log record, ExceptionText and page from now on, as the book's secret settings are.

        For secrets the add-in obtains at run time (OAuth access and refresh tokens, session ids, signed URLs):
        call it as soon as the value is known, before anything may log it. Any thread may call it; the daemon
        forgets the book's secrets when it closes the book.
        """
        LOG_REDACTOR.add_secret(book_owner(self.book_id), value)


@dataclass(frozen=True)
class SettingsCheck:
    """What `Integration.check_settings` found wrong with settings about to be saved; nothing wrong when empty.

    `errors` maps a setting's key to the message shown beside that field; `message` is about the settings as a
    whole (a server that cannot be reached, a combination no single field explains); `error_key` is a stable
    word for it, as `CheckResult.error_key` (cannot_connect, invalid_auth…).
    """

    errors: Mapping[str, str] = field(default_factory=dict)
    message: str = ""
    error_key: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the settings may be saved."""
        return not self.errors and not self.message


class CallState(StrEnum):
    """The states of a call the phone client reports with `POST CallEvent`, as `CallEvent.state` carries them."""

    RINGING = "Ringing"
    ANSWERED = "Answered"
    HELD = "Held"
    RESUMED = "Resumed"
    ENDED = "Ended"
    MISSED = "Missed"

    @property
    def final(self) -> bool:
        """Whether the call is over (Ended or Missed): no state of it follows."""
        return self in (CallState.ENDED, CallState.MISSED)


@dataclass(frozen=True)
class CallEvent:
    """One state of a live call, as the host hands it to `Connector.call_event` of each book that takes them.

    Numbers and names are as the phone client sent them (earlier events of the call fill what a later one
    leaves out); `other_number` is the party the book looked up, `other_number_e164` the same in E.164
    ("" when it cannot be read as a phone number). `contact_id` is the record this book matched for the
    call ("" when none), the same record the end-of-call activity is logged against.
    """

    call_id: str
    """The phone client's id of the call: the same in every event of one call."""
    state: CallState
    direction: CallDirection
    time: datetime
    """When the daemon received this state (UTC)."""
    caller_number: str = ""
    caller_name: str = ""
    called_number: str = ""
    called_name: str = ""
    other_number: str = ""
    other_number_e164: str = ""
    contact_id: str = ""
    contact_name: str = ""
    started: datetime | None = None
    """When the call started (UTC), when the phone client said so (StartTimeUtc of this or an earlier event)."""
    duration_seconds: int = 0
    """The talk time the phone client reported (on Ended); 0 before."""


class Connector:
    """An open address book. Override what the integration can do; every method is awaited by the host."""

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        """Contacts matching `query.number` (any of `query.number_forms`) or `query.text`.

        Return up to `query.limit` (more is allowed). For number queries the
        host keeps only contacts that really have the number, so a backend may
        return loose candidates.
        """
        raise Unsupported("This address book cannot search.")

    async def get(self, contact_id: str) -> Contact | None:
        """One contact by its backend id, or None when it no longer exists."""
        raise Unsupported("This address book cannot read single records.")

    async def record_url(self, contact_id: str, edit: bool) -> str | None:
        """Where the record opens in the CRM (view or edit); None to use partnercrmd's own record page."""
        return None

    async def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        """The contact's recent activities, newest first."""
        raise Unsupported("This address book cannot read activities.")

    async def log_activity(self, contact_id: str, activity: Activity) -> str:
        """Write a call activity into the contact's history; return the new activity's id."""
        raise Unsupported("This address book cannot log activities.")

    async def create(self, contact: Contact) -> Contact:
        """Create a contact; return it as stored (with its new id)."""
        raise Unsupported("This address book cannot create contacts.")

    async def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        """Change a contact; return it as stored."""
        raise Unsupported("This address book cannot change contacts.")

    async def call_event(self, event: CallEvent) -> None:
        """Tell the CRM one state of a live call (Ringing, Answered, Held, Resumed, Ended, Missed).

        Called for books whose integration declares `Capability.CALL_EVENTS` and whose `call_events` option
        is on, off the phone client's request path, in order per call and book, each within its own
        deadline. Raise (any exception) when the CRM did not take it: the host tries again for a short
        window after the state happened, then drops it. Keep it idempotent per (call id, state). The
        end-of-call activity is not this hook's job: it comes through `log_activity`, exactly once.
        """
        raise Unsupported("This address book does not take live call events.")

    async def test(self) -> Sequence[CheckResult]:
        """Check reach, authentication and each configured capability; say what to fix."""
        return [CheckResult("reach", True, "No checks are defined for this address book.")]

    async def start(self) -> None:
        """Background work when the book opens (a first index read, a sign-in); the daemon does not wait for it.

        Searches may come before it ends. Cancelled when the book closes.
        """

    async def close(self) -> None:
        """Release connections and files; called when the book is reconfigured or the daemon stops."""

    def capabilities(self) -> frozenset[Capability] | None:
        """What this book can do with its settings, when less than the integration declares (None: all of it).

        Called once, right after `open`; no I/O. E.g. an SQL book without a call-log table cannot log calls.
        """
        return None

    async def diagnostics(self) -> Mapping[str, Any]:
        """What support needs to know about this open book, as JSON-able values: the server's version where the
        client knows it, the state of the book's index (entries, age, last refresh and its error)…

        Called for `partnercrmd books diagnose` and the book page's "Download diagnostics"; quick, no writes.
        The host adds the book's options, settings (secrets left out), versions and status, and masks the
        book's secrets in the whole, so return what the connector knows without redacting it yourself.
        """
        return {}


class BlockingConnector:
    """Like `Connector`, with plain methods for synchronous libraries; the host calls them in a thread.

    Handing a call to a thread and back costs tens of microseconds and two GIL hand-offs: more than an
    indexed read of a local file takes. A connector whose reads are that cheap says so in `on_loop`.
    """

    on_loop: frozenset[Capability] = frozenset()
    """Reads the host may call on the event loop instead of in a thread, by the capability they serve:
    `SEARCH_NUMBER` (`search` of a number), `SEARCH_NAME` (`search` of a name), `POP` (`get`, `record_url`),
    `SHOW_ACTIVITIES` (`activities`).

    Declare a read only if every call of it is bounded and takes microseconds: no network, no waiting for a
    lock another thread may hold long, no scan that grows with the data (an indexed SQLite read of a few rows
    of a local file is the example). Writes and `test`, `start`, `close`, `call_event` always run in a thread,
    whatever is declared. A declared read that takes more than `ON_LOOP_BUDGET` of CPU `ON_LOOP_STRIKES` times is
    moved back to the book's threads for good, with a warning in the log.
    """

    def search(self, query: SearchQuery) -> Sequence[Contact]:
        raise Unsupported("This address book cannot search.")

    def get(self, contact_id: str) -> Contact | None:
        raise Unsupported("This address book cannot read single records.")

    def record_url(self, contact_id: str, edit: bool) -> str | None:
        return None

    def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        raise Unsupported("This address book cannot read activities.")

    def log_activity(self, contact_id: str, activity: Activity) -> str:
        raise Unsupported("This address book cannot log activities.")

    def create(self, contact: Contact) -> Contact:
        raise Unsupported("This address book cannot create contacts.")

    def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        raise Unsupported("This address book cannot change contacts.")

    def call_event(self, event: CallEvent) -> None:
        raise Unsupported("This address book does not take live call events.")

    def test(self) -> Sequence[CheckResult]:
        return [CheckResult("reach", True, "No checks are defined for this address book.")]

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def capabilities(self) -> frozenset[Capability] | None:
        return None

    def diagnostics(self) -> Mapping[str, Any]:
        return {}


ON_LOOP_READS = frozenset(
    {Capability.SEARCH_NUMBER, Capability.SEARCH_NAME, Capability.POP, Capability.SHOW_ACTIVITIES}
)
"""The capabilities whose calls a `BlockingConnector` may declare in `on_loop` (reads; writes never run on the loop)."""
ON_LOOP_BUDGET = 0.005
"""CPU seconds a read declared `on_loop` may take; one that takes longer counts as a strike. CPU time of the
loop's thread, not wall time, so that other work on a busy machine does not count against the connector."""
ON_LOOP_STRIKES = 3
"""Strikes after which a declared read runs in the book's threads again."""


class ThreadedConnector(Connector):
    """Runs a `BlockingConnector`'s methods in the book's own worker threads, never on the event loop.

    Each book has its own small pool, so calls stuck past their deadline in one
    book cannot starve the daemon's other blocking work (vault, other books).
    The one exception: reads the connector declares in `on_loop` are called on the loop directly, where
    they cost less than the hand-off would; one that proves slow is handed to the threads again.
    """

    def __init__(self, blocking: BlockingConnector, max_workers: int = 4) -> None:
        self.blocking = blocking
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="addin")
        self._on_loop = set(frozenset(getattr(blocking, "on_loop", ())) & ON_LOOP_READS)
        self._strikes: dict[Capability, int] = {}

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args))

    async def _read(self, capability: Capability, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the loop if `capability` is declared `on_loop` and has not proved slow; else in a thread."""
        if capability not in self._on_loop:
            return await self._run(fn, *args)
        started = time.thread_time()
        try:
            return fn(*args)
        finally:
            took = time.thread_time() - started
            if took > ON_LOOP_BUDGET:
                self._strike(capability, took)

    def _strike(self, capability: Capability, took: float) -> None:
        strikes = self._strikes[capability] = self._strikes.get(capability, 0) + 1
        if strikes >= ON_LOOP_STRIKES and capability in self._on_loop:
            self._on_loop.discard(capability)
            log.warning(
                "%s: %s reads took %.1f ms of CPU on the event loop (budget %.1f ms); they run in threads from now on",
                type(self.blocking).__name__,
                capability,
                took * 1000,
                ON_LOOP_BUDGET * 1000,
            )

    def runs_on_loop(self, capability: Capability) -> bool:
        """Whether calls serving `capability` run on the event loop now (declared, and not proved slow)."""
        return capability in self._on_loop

    async def search(self, query: SearchQuery) -> Sequence[Contact]:
        needed = Capability.SEARCH_NUMBER if query.number else Capability.SEARCH_NAME
        return await self._read(needed, self.blocking.search, query)

    async def get(self, contact_id: str) -> Contact | None:
        return await self._read(Capability.POP, self.blocking.get, contact_id)

    async def record_url(self, contact_id: str, edit: bool) -> str | None:
        return await self._read(Capability.POP, self.blocking.record_url, contact_id, edit)

    async def activities(self, contact_id: str, limit: int) -> Sequence[Activity]:
        return await self._read(Capability.SHOW_ACTIVITIES, self.blocking.activities, contact_id, limit)

    async def log_activity(self, contact_id: str, activity: Activity) -> str:
        return await self._run(self.blocking.log_activity, contact_id, activity)

    async def create(self, contact: Contact) -> Contact:
        return await self._run(self.blocking.create, contact)

    async def update(self, contact_id: str, patch: ContactPatch) -> Contact:
        return await self._run(self.blocking.update, contact_id, patch)

    async def call_event(self, event: CallEvent) -> None:
        await self._run(self.blocking.call_event, event)

    async def test(self) -> Sequence[CheckResult]:
        return await self._run(self.blocking.test)

    def capabilities(self) -> frozenset[Capability] | None:
        return self.blocking.capabilities()

    async def diagnostics(self) -> Mapping[str, Any]:
        return await self._run(self.blocking.diagnostics)

    async def start(self) -> None:
        await self._run(self.blocking.start)

    async def close(self) -> None:
        try:
            await self._run(self.blocking.close)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)


def takes_call_events(connector: Connector) -> bool:
    """Whether `connector` (or the blocking one it runs) implements `call_event`; one that does not is skipped."""
    if isinstance(connector, ThreadedConnector):
        return type(connector.blocking).call_event is not BlockingConnector.call_event
    return type(connector).call_event is not Connector.call_event


@dataclass(frozen=True)
class Integration:
    """A kind of address book an add-in provides (returned by the `partnercrmd_integrations` hook)."""

    id: str
    """Stable, lower-case identifier, e.g. "carddav"; used in configurations, so never change it."""
    name: str
    version: str
    open: Callable[[BookContext], Connector | BlockingConnector]
    """Opens one configured address book; called off the event loop, so it may block briefly."""
    capabilities: frozenset[Capability]
    description: str = ""
    config: tuple[ConfigField, ...] = ()
    classification: Classification = Classification.STANDARD
    guide_url: str = ""
    release_notes: tuple[ReleaseNote, ...] = ()
    record_types: tuple[str, ...] = ("Contact",)
    extra: Mapping[str, Any] = field(default_factory=dict)
    check_settings: (
        Callable[[Mapping[str, Any], bool], SettingsCheck | Awaitable[SettingsCheck | None] | None] | None
    ) = None
    """Optional: `check_settings(settings, connect)` checks a book's settings before they are saved.

    Called by `books add|set` and the configuration UI's add and edit forms (never when a book opens) with the
    whole settings, converted to their kinds and defaults filled in. Check what the schema cannot say
    (cross-field rules: call your own settings parser, so there is one source of truth) and, when `connect`
    is true, try a quick connection (reach and sign in; a few seconds at most, no writes). Report problems by
    returning a `SettingsCheck`, or by raising `ConfigError` / `PartnerError`: a message that names a setting
    as 'key' is shown beside that field. May be a plain function (the host calls it in a thread) or
    `async def`; None or an empty `SettingsCheck` means the settings may be saved.
    """
    sign_in: Callable[[Mapping[str, Any]], OAuthSignIn | None] | None = None
    """Optional: for a book's settings, how it signs in with the user's account (`OAuthSignIn`), or None when these
    settings do not sign in that way. The book's form then shows "Sign in with <CRM>" and the connector gets
    `BookContext.sign_in`. Called on the event loop: no I/O."""

    def config_field(self, key: str) -> ConfigField | None:
        return next((f for f in self.config if f.key == key), None)

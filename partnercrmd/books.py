"""Configured address books: their settings in the vault, and the open connectors that serve them.

Configuration changes (`add_book`, `change_book`, `remove_book`) go straight
to the vault, from the CLI or the daemon alike; a running daemon notices the
change and `BookManager.sync` re-opens exactly the books that changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import re
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence, Set
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .addin_host import AddinHost
from .branding import Branding
from .catalogue import LOCKED, NOT_SHIPPED, Withheld, unlocked_ids, withheld
from .errors import SIGN_IN_REQUIRED, ConfigError, NotFound, PartnerError
from .integration import (
    BlockingConnector,
    BookContext,
    Capability,
    ConfigField,
    Connector,
    FieldKind,
    Integration,
    SettingsCheck,
    ThreadedConnector,
    takes_call_events,
)
from .model import CheckResult
from .paths import Paths
from .platform.files import atomic_write
from .redact import LOG_REDACTOR, book_owner, redact, secret_values
from .url_credentials import find_credentials, mask_url_passwords
from .vault import Vault

if TYPE_CHECKING:
    from .oauth_signin import SignIns

log = logging.getLogger(__name__)

DEFAULT_BOOK_ID = "local"


class AutoPop(StrEnum):
    NEVER = "Never"
    ON_RINGING = "OnRinging"
    ON_ANSWER = "OnAnswer"


@dataclass
class BookConfig:
    """One configured address book as the vault stores it."""

    id: str
    type: str
    name: str
    priority: int = 100
    enabled: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    cached: bool = False
    cache_minutes: int = 5
    auto_pop: AutoPop = AutoPop.NEVER
    show_activity_on_call: bool = False
    create_activity_on_call_end: bool = False
    auto_pop_match: str = "Single"
    """Which match pops automatically: Single (only when the number matches exactly one record) or Best."""
    activity_subject: str = ""
    """Template of a logged call's subject ($kind, $caller, $called…; see call_log/activity_text.py); "": default."""
    activity_body: str = ""
    """Template of a logged call's body; "": default."""
    call_events: bool = True
    """Tell the CRM each state of a live call (where the integration can: `Capability.CALL_EVENTS`)."""
    settings_version: int = 1
    """The version of the integration's settings format, for add-ins that migrate their settings."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["auto_pop"] = str(self.auto_pop)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BookConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        config = cls(**known)
        config.auto_pop = AutoPop(config.auto_pop)
        return config


# Options every book has, settable as `--set key=value` beside the integration's own settings.
BOOK_OPTIONS: dict[str, FieldKind] = {
    "name": FieldKind.TEXT,
    "priority": FieldKind.INT,
    "enabled": FieldKind.BOOL,
    "description": FieldKind.TEXT,
    "cached": FieldKind.BOOL,
    "cache_minutes": FieldKind.INT,
    "auto_pop": FieldKind.CHOICE,
    "show_activity_on_call": FieldKind.BOOL,
    "create_activity_on_call_end": FieldKind.BOOL,
    "auto_pop_match": FieldKind.CHOICE,
    "activity_subject": FieldKind.TEXT,
    "activity_body": FieldKind.TEXT,
    "call_events": FieldKind.BOOL,
}
AUTO_POP_MATCHES = ("Single", "Best")


class SettingError(ConfigError):
    """One setting's value is refused; `key` names it, so a form can show the message beside that field."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class IntegrationWithheld(ConfigError):
    """The integration is locked or not shipped (see `catalogue.withheld`): no book of it is added or turned on."""

    def __init__(self, message: str, reason: Withheld) -> None:
        super().__init__(message, code="integration_locked" if reason.status == LOCKED else "integration_not_shipped")
        self.reason = reason


def convert_value(
    key: str, kind: FieldKind, value: Any, choices: tuple[str, ...] = (), *, credentials_go: str = ""
) -> Any:
    """Convert a setting given as text (CLI, form) or JSON to the kind its schema declares.

    Every save passes here, so this also refuses credentials inside addresses; `credentials_go` says where
    they belong instead (" and put them in 'username' … and 'password' …", from `credentials_hint`).
    """
    if kind is FieldKind.INT:
        if isinstance(value, bool):
            raise SettingError(key, f"Setting '{key}' must be a whole number.")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SettingError(key, f"Setting '{key}' must be a whole number, not {str(value)[:40]!r}.") from None
    if kind is FieldKind.BOOL:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise SettingError(key, f"Setting '{key}' must be true or false, not {str(value)[:40]!r}.")
    text = "" if value is None else str(value)
    if kind is FieldKind.CHOICE and choices and text not in choices:
        raise SettingError(key, f"Setting '{key}' must be one of {', '.join(choices)}; got {text[:40]!r}.")
    if kind is FieldKind.PATH and text:
        return str(Path(text).expanduser().resolve())
    if kind is FieldKind.URL and text and not re.match(r"^https?://", text):
        raise SettingError(key, f"Setting '{key}' must be an http:// or https:// address.")
    if kind is FieldKind.URL and find_credentials(text):
        # A password here would be stored, listed and shown like any address, outside the secrets' protection.
        raise SettingError(
            key,
            f"Setting '{key}' must not contain a user name or password (as in https://user:password@host/): "
            f"give the address without them{credentials_go}.",
        )
    if kind is not FieldKind.SECRET and any(c.password is not None for c in find_credentials(text)):
        # Any other setting (a connection string, an address template…): a user name may stay, a password not.
        raise SettingError(
            key,
            f"Setting '{key}' must not contain a password inside an address (as in scheme://user:password@host): "
            f"remove it{credentials_go}.",
        )
    return text


class SettingsRefused(ConfigError):
    """The integration's `check_settings` refused settings about to be saved; nothing was saved.

    `errors` maps setting keys to the message for that field; the exception's message says it all in one text
    (for the CLI and the form's top), and its code is the check's error key (`invalid_settings` by default).
    """

    def __init__(self, message: str, errors: Mapping[str, str], code: str = "invalid_settings") -> None:
        super().__init__(message, code=code)
        self.errors = dict(errors)


class SettingsCheckLevel(StrEnum):
    """How far `add_book` and `change_book` check settings before saving them (`Integration.check_settings`)."""

    NONE = "none"
    """Only the schema (kinds, required): what provisioning code and the test fixtures save."""
    RULES = "rules"
    """And the integration's cross-field rules, without a connection: `books add --no-check`, "Save anyway"."""
    CONNECT = "connect"
    """And a quick connection where the integration offers one: `books add|set` and the forms by default."""


SETTINGS_CHECK_TIMEOUT = 30.0
"""Seconds an async `check_settings` may take; a blocking one is bounded by its own client's timeouts."""


def check_book_settings(integration: Integration, settings: Mapping[str, Any], *, connect: bool) -> None:
    """Run `integration.check_settings` on whole, converted settings; raise `SettingsRefused` when it finds a problem.

    Blocks (a quick connection may take seconds): call it in a thread, never on the event loop. The one place
    an add-in's answer becomes field errors: a message naming one of the integration's settings as 'key' is
    shown beside it; the book's secrets are masked in every message.
    """
    if integration.check_settings is None:
        return
    code = "invalid_settings"
    try:
        answer = integration.check_settings(settings, connect)
        if inspect.isawaitable(answer):
            answer = asyncio.run(_bounded(answer))
        found = answer if isinstance(answer, SettingsCheck) else SettingsCheck()
    except TimeoutError:
        found = SettingsCheck(message=f"The check did not finish within {SETTINGS_CHECK_TIMEOUT:g} s.")
        code = "timeout"
    except ConfigError as exc:  # a rule of the add-in's settings parser: no connection would change it
        found = SettingsCheck(message=exc.message)
    except PartnerError as exc:  # the quick connection (AddinError's keys: cannot_connect, invalid_auth…)
        found = SettingsCheck(message=exc.message, error_key=exc.code)
    except Exception as exc:  # noqa: BLE001  (add-in code: say what happened)
        found = SettingsCheck(message=f"{type(exc).__name__}: {exc}", error_key="unknown")
    if found.ok:
        return

    def shown(text: str) -> str:
        return mask_url_passwords(redact(text, integration, settings))[:1000]

    errors = {key: shown(text) for key, text in found.errors.items()}
    if found.message:
        named = next((key for key in _named_settings(found.message) if integration.config_field(key)), None)
        if named is not None and named not in errors:
            errors[named] = shown(found.message)
    message = shown(found.message) if found.message else " ".join(errors.values())
    raise SettingsRefused(message, errors, found.error_key or code)


async def _bounded(answer: Awaitable[SettingsCheck | None]) -> SettingsCheck | None:
    return await asyncio.wait_for(answer, SETTINGS_CHECK_TIMEOUT)


def _named_settings(message: str) -> list[str]:
    """The 'quoted' words of a message, in order: add-ins name the setting at fault as 'key'."""
    return re.findall(r"'([A-Za-z0-9_]+)'", message)


def credentials_hint(integration: Integration) -> str:
    """Where `integration` takes a user name and password, for messages that refuse them inside an address."""

    def names(fields: list[ConfigField]) -> str:
        shown = [f"'{f.key}' ({f.label})" for f in fields]
        return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]

    users = [f for f in integration.config if f.kind is FieldKind.TEXT and re.search(r"user|login|bind_dn", f.key)]
    passwords = [f for f in integration.config if f.secret and re.search(r"pass", f.key)]
    if users or passwords:
        return " and put them in " + names(users + passwords)
    secrets = [f for f in integration.config if f.secret]
    if secrets:
        return f"; this integration signs in with {names(secrets)} instead"
    return "; this integration does not sign in with a user name and password"


def convert_settings(integration: Integration, given: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Check settings against an integration's schema; with partial=False, fill defaults and require the required."""
    result: dict[str, Any] = {}
    hint = credentials_hint(integration)
    for key, value in given.items():
        spec = integration.config_field(key)
        if spec is None:
            known = ", ".join(f.key for f in integration.config) or "none"
            raise ConfigError(f"'{integration.id}' has no setting '{key}' (settings: {known}).")
        result[key] = convert_value(key, spec.kind, value, spec.choices, credentials_go=hint)
    if not partial:
        for spec in integration.config:
            if spec.key not in result and spec.default is not None:
                result[spec.key] = spec.default
            if spec.required and result.get(spec.key) in (None, ""):
                raise SettingError(spec.key, f"'{integration.id}' needs the setting '{spec.key}' ({spec.label}).")
    return result


def split_options(given: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate book options (name, priority…) from integration settings, converting the options."""
    options: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    for key, value in given.items():
        if key in BOOK_OPTIONS:
            choices = tuple(AutoPop) if key == "auto_pop" else AUTO_POP_MATCHES if key == "auto_pop_match" else ()
            options[key] = convert_value(key, BOOK_OPTIONS[key], value, tuple(str(c) for c in choices))
        else:
            settings[key] = value
    return options, settings


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:40] or "book"


def read_books(doc: Mapping[str, Any]) -> list[BookConfig]:
    """The configured books of a vault document, in priority order."""
    books = [BookConfig.from_dict(data) for data in doc.get("books", {}).values()]
    return sorted(books, key=lambda b: (b.priority, b.name.lower(), b.id))


def add_book(
    vault: Vault,
    integration: Integration,
    given: Mapping[str, Any],
    *,
    branding: Branding | None = None,
    check: SettingsCheckLevel = SettingsCheckLevel.NONE,
) -> BookConfig:
    """Configure a new address book of `integration`; `given` mixes book options and settings. Blocks.

    Refused (`IntegrationWithheld`) when `branding` (None: unbranded, which ships everything) does not ship the
    integration or it is Controlled and not unlocked in this vault; with `check` above NONE, refused
    (`SettingsRefused`) when the integration's `check_settings` finds a problem, before the vault is touched.
    """
    options, settings = split_options(given)
    name = str(options.pop("name", "") or integration.name)
    if check is not SettingsCheckLevel.NONE:
        # A withheld integration is refused before any connection is tried for it (and again inside the update).
        reason = withheld(integration, branding or Branding(), unlocked_ids(vault.read()))
        if reason is not None:
            raise IntegrationWithheld(reason.message, reason)
        whole = convert_settings(integration, settings, partial=False)
        check_book_settings(integration, whole, connect=check is SettingsCheckLevel.CONNECT)

    def change(doc: dict[str, Any]) -> BookConfig:
        # Inside the vault update: an unlock code entered (or taken back) meanwhile is seen.
        reason = withheld(integration, branding or Branding(), unlocked_ids(doc))
        if reason is not None:
            raise IntegrationWithheld(reason.message, reason)
        book_settings = convert_settings(integration, settings, partial=False)
        books = doc.setdefault("books", {})
        if any(b.get("name", "").lower() == name.lower() for b in books.values()):
            raise ConfigError(f"An address book named '{name}' exists already; choose another name.")
        book_id = base = _slug(name)
        counter = 2
        retired = set(doc.get("retired_book_ids", []))
        while book_id in books or book_id in retired:
            book_id = f"{base}-{counter}"
            counter += 1
        priority = options.pop("priority", (max((b.get("priority", 0) for b in books.values()), default=0) + 10))
        config = BookConfig(id=book_id, type=integration.id, name=name, priority=priority, settings=book_settings)
        for key, value in options.items():
            setattr(config, key, value)
        config.auto_pop = AutoPop(config.auto_pop)
        books[book_id] = config.to_dict()
        return config

    return vault.update(change)


def find_book(doc: Mapping[str, Any], ref: str) -> BookConfig:
    """A book by id or (case-insensitive) name."""
    for config in read_books(doc):
        if config.id == ref or config.name.lower() == ref.lower():
            return config
    names = ", ".join(f"'{b.name}'" for b in read_books(doc)) or "none"
    raise NotFound(f"No address book '{ref}' (configured: {names}).", code="unknown_book")


def change_book(
    vault: Vault,
    host: AddinHost,
    ref: str,
    given: Mapping[str, Any],
    *,
    branding: Branding | None = None,
    check: SettingsCheckLevel = SettingsCheckLevel.NONE,
) -> BookConfig:
    """Change options and settings of a configured book. Blocks.

    A book whose integration is withheld (see `add_book`) may be renamed, reordered, disabled or removed,
    but not enabled or reconfigured (`IntegrationWithheld`). With `check` above NONE, when a setting changes
    the settings are checked whole (the stored ones with the changes) by the integration's `check_settings` first.
    """
    options, settings = split_options(given)
    if settings and check is not SettingsCheckLevel.NONE:
        stored = find_book(vault.read(), ref)
        integration = host.integration(stored.type)
        if integration is not None:
            changes = convert_settings(integration, settings, partial=True)
            # Only when a setting really changes: renaming or reordering a book whose server is down stays possible.
            if any(_differs(stored.settings.get(key), value) for key, value in changes.items()):
                whole = {**stored.settings, **changes}
                check_book_settings(integration, whole, connect=check is SettingsCheckLevel.CONNECT)

    def change(doc: dict[str, Any]) -> BookConfig:
        config = find_book(doc, ref)
        found = host.integration(config.type)
        reason = withheld(found, branding or Branding(), unlocked_ids(doc)) if found is not None else None
        if reason is not None and (settings or options.get("enabled") is True):
            raise IntegrationWithheld(f"'{config.name}' cannot be enabled or reconfigured: {reason.message}", reason)
        if settings:
            integration = host.integration(config.type)
            if integration is None:
                raise ConfigError(host.unavailable_reason(config.type))
            config.settings.update(convert_settings(integration, settings, partial=True))
        for key, value in options.items():
            setattr(config, key, value)
        config.auto_pop = AutoPop(config.auto_pop)
        doc["books"][config.id] = config.to_dict()
        return config

    return vault.update(change)


def _differs(stored: Any, given: Any) -> bool:
    """Whether a setting really changes: an unset setting and an empty one (as a form posts it) are the same."""
    return (stored if stored is not None else "") != (given if given is not None else "")


def remove_book(vault: Vault, ref: str, paths: Paths | None = None) -> BookConfig:
    """Remove a book; its id is never given to another book, and with `paths` its local data is deleted."""

    def change(doc: dict[str, Any]) -> BookConfig:
        config = find_book(doc, ref)
        del doc["books"][config.id]
        doc.get("sign_ins", {}).pop(config.id, None)  # its OAuth tokens (oauth_signin.py) go with it
        doc.setdefault("retired_book_ids", []).append(config.id)
        return config

    config = vault.update(change)
    if paths is not None:
        shutil.rmtree(paths.book_dir(config.id), ignore_errors=True)
    return config


def ensure_default_book(vault: Vault) -> None:
    """On the very first start, configure the embedded local address book with sample contacts."""

    def change(doc: dict[str, Any]) -> None:
        if "books" not in doc:
            config = BookConfig(
                id=DEFAULT_BOOK_ID,
                type="local",
                name="Local address book",
                priority=10,
                settings={"seed_samples": True},
                description="Contacts kept on this computer",
            )
            doc["books"] = {config.id: config.to_dict()}

    vault.update(change)


def redacted_settings(integration: Integration | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings safe to show: secrets become whether they are set; passwords inside addresses are masked."""
    shown: dict[str, Any] = {}
    for key, value in settings.items():
        spec = integration.config_field(key) if integration else None
        secret = spec.secret if spec else True  # unknown schema: assume the worst
        if secret:
            shown[key] = "(set)" if value else "(not set)"
        else:  # saved before passwords in addresses were refused, or edited into the vault by hand
            shown[key] = mask_url_passwords(value) if isinstance(value, str) else value
    return shown


class BookStatus(StrEnum):
    """A book's status: a stable word for clients (`AddressBooks` Status); `STATUS_WORDS` is how pages say it."""

    READY = "Ready"
    NEEDS_ATTENTION = "NeedsAttention"
    """The last Test failed, or a search was refused (wrong credentials): `OpenBook.status_reason` says why."""
    SIGN_IN_AGAIN = "SignInAgain"
    """The book's sign-in was revoked or expired for good (`SIGN_IN_REQUIRED`): only signing in again cures it."""
    DISABLED = "Disabled"
    UNAVAILABLE = "Unavailable"
    """The book could not be opened (its add-in is missing or refused the settings)."""
    LOCKED = LOCKED
    NOT_SHIPPED = NOT_SHIPPED


STATUS_WORDS: dict[BookStatus, str] = {
    BookStatus.READY: "Ready",
    BookStatus.NEEDS_ATTENTION: "Needs attention",
    BookStatus.SIGN_IN_AGAIN: "Sign in again",
    BookStatus.DISABLED: "Disabled",
    BookStatus.UNAVAILABLE: "Unavailable",
    BookStatus.LOCKED: "Locked",
    BookStatus.NOT_SHIPPED: "Not part of this product",
}
"""Each status as the pages (integrations list, book page) show it."""

REFUSED_SEARCH_KEYS = frozenset({"invalid_auth", SIGN_IN_REQUIRED})
"""Error keys of a failed search that say something about the book itself (not a passing outage): they set
the book's status as a failed Test would."""
CURED_BY_SEARCH_KEYS = frozenset({"invalid_auth", SIGN_IN_REQUIRED, "cannot_connect", "timeout"})
"""Error keys of a finding that a later successful search proves wrong (the server answered, credentials worked)."""
STATUS_FILE = "book-status.json"
"""Under the data directory: each book's last finding, so a restart does not call a failing book Ready."""


@dataclass(frozen=True)
class Finding:
    """What the last Test (or a search the server refused) found out about a book; kept across restarts."""

    ok: bool
    error_key: str = ""
    """The failed step's stable key (`cannot_connect`, `invalid_auth`, `sign_in_required`…); "" when ok."""
    message: str = ""
    """Why, in words for the user, secrets already masked; "" when ok."""
    source: str = "test"
    """"test" or "search": what found it."""
    at: float = 0.0
    """When (seconds since the epoch)."""

    @classmethod
    def of_test(cls, results: Sequence[CheckResult]) -> Finding:
        """The verdict of a Test: its first failed step, or ok (messages must be masked already)."""
        failed = next((r for r in results if not r.ok), None)
        if failed is None:
            return cls(True, at=time.time())
        return cls(False, failed.error_key or "unknown", failed.message[:1000], "test", time.time())


def read_findings(paths: Paths) -> dict[str, Finding]:
    """Each book's last finding as the daemon keeps it (`STATUS_FILE`); none when missing or unreadable. Blocks."""
    try:
        data = json.loads((paths.data_dir / STATUS_FILE).read_text(encoding="utf-8"))
        return {str(k): Finding(**v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


@dataclass
class OpenBook:
    """A configured book as the daemon serves it: its connector, or why it has none."""

    config: BookConfig
    integration: Integration | None
    connector: Connector | None
    error: str | None = None
    capabilities: frozenset[Capability] = frozenset()
    """What the book can do: its integration's capabilities, narrowed by the connector; none when unavailable."""
    withheld: Withheld | None = None
    """Why its integration may not be used here (locked, not shipped): then it stays closed, whatever `enabled`."""

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def enabled(self) -> bool:
        """Whether searches and calls use it: enabled by the user, and its integration not withheld."""
        return self.config.enabled and self.withheld is None

    finding: Finding | None = None
    """What the last Test or a refused search found (see `BookManager.record`); None: nothing yet."""

    @property
    def status(self) -> BookStatus:
        """The one place a book's status is decided; `status_reason` says why in words."""
        if self.withheld is not None:
            return BookStatus(self.withheld.status)
        if not self.config.enabled:
            return BookStatus.DISABLED
        if self.connector is None:
            return BookStatus.UNAVAILABLE
        if self.finding is not None and not self.finding.ok:
            if self.finding.error_key == SIGN_IN_REQUIRED:
                return BookStatus.SIGN_IN_AGAIN
            return BookStatus.NEEDS_ATTENTION
        return BookStatus.READY

    @property
    def status_reason(self) -> str:
        """Why the book has its status, for the user; "" when Ready or Disabled."""
        status = self.status
        if status in (BookStatus.READY, BookStatus.DISABLED):
            return ""
        if status in (BookStatus.NEEDS_ATTENTION, BookStatus.SIGN_IN_AGAIN) and self.finding is not None:
            return self.finding.message
        return self.error or ""

    @property
    def status_words(self) -> str:
        """The status as the pages show it: "Needs attention", "Sign in again"…"""
        return STATUS_WORDS[self.status]

    @property
    def name(self) -> str:
        return self.config.name


class BookManager:
    """Keeps an open connector for every enabled, configured book, in step with the vault."""

    def __init__(
        self,
        vault: Vault,
        host: AddinHost,
        paths: Paths,
        region: str | None,
        branding: Branding,
        *,
        status_changed: Callable[[], None] | None = None,
    ) -> None:
        self.vault = vault
        self.host = host
        self.paths = paths
        self.region = region
        self.branding = branding
        """Which integrations this product ships; with the vault's unlocked ids it decides which books may open."""
        self.status_changed = status_changed
        """Called when a book's status changes without its configuration changing (a Test, a refused search)."""
        self._open: dict[str, OpenBook] = {}
        self._lock = asyncio.Lock()
        self._starting: dict[str, asyncio.Task[None]] = {}
        self.sign_ins: SignIns | None = None
        """The daemon's OAuth sign-ins (oauth_signin.py): books whose integration signs in get a session of it."""
        self._findings: dict[str, Finding] | None = None
        """Each book's last finding (None until read from `STATUS_FILE` at the first sync)."""
        self._findings_lock = asyncio.Lock()

    def books(self) -> list[OpenBook]:
        """Every configured book, enabled or not, in priority order."""
        return sorted(self._open.values(), key=lambda b: (b.config.priority, b.name.lower(), b.id))

    def enabled(self) -> list[OpenBook]:
        """The books searches and calls use (see `OpenBook.enabled`), in priority order."""
        return [b for b in self.books() if b.enabled]

    def get(self, book_id: str) -> OpenBook:
        book = self._open.get(book_id)
        if book is None:
            raise NotFound(f"There is no address book '{book_id}'.", code="unknown_book")
        return book

    async def sync(self, doc: Mapping[str, Any] | None = None) -> bool:
        """Follow the vault (or a document just read from it): open new or changed books, close removed ones.

        Returns whether anything changed.
        """
        async with self._lock:
            if doc is None:
                doc = await asyncio.to_thread(self.vault.read)
            if self._findings is None:
                self._findings = await asyncio.to_thread(self._read_findings)
            wanted = {c.id: c for c in read_books(doc)}
            unlocked = unlocked_ids(doc)
            changed = False
            stale: list[str] = []
            reopening: set[str] = set()
            for book_id, old in list(self._open.items()):
                # An unlock code entered (or taken back) changes no BookConfig but opens (or closes) the book.
                if (
                    book_id in wanted
                    and wanted[book_id] == old.config
                    and self._withheld(wanted[book_id], unlocked) == old.withheld
                ):
                    continue
                changed = True
                if book_id not in wanted or wanted[book_id].settings != old.config.settings:
                    stale.append(book_id)  # what Test found no longer says anything about new settings
                if book_id in wanted:
                    # Listed, but not used, while it closes and its replacement opens: AddressBooks never misses
                    # a configured book, and no search or call reaches a closing connector.
                    self._open[book_id] = replace(old, connector=None, error="This address book is being reopened.")
                    reopening.add(book_id)
                else:
                    del self._open[book_id]
                await self._close(old)
            if stale:
                await self._forget_findings(stale)
            for book_id, config in wanted.items():
                if book_id not in self._open or book_id in reopening:
                    book = self._open[book_id] = await self._open_book(config, unlocked)
                    book.finding = self._findings.get(book_id)
                    if book.connector is not None:
                        self._starting[book_id] = asyncio.create_task(self._start(book))
                    changed = True
            return changed

    # --- status: what Test and refused searches found ------------------------------------------------------

    async def record(self, book: OpenBook, finding: Finding | None) -> None:
        """Keep `finding` as what is known about the book (None: nothing), on disk too; tell clients when the
        book's status changes (`status_changed`). The book may have been re-opened meanwhile: the open one is set.
        """
        async with self._findings_lock:
            current = self._open.get(book.id, book)
            before = (current.status, current.status_reason)
            book.finding = current.finding = finding
            findings = dict(self._findings or {})
            if finding is None:
                findings.pop(book.id, None)
            else:
                findings[book.id] = finding
            findings = {k: v for k, v in findings.items() if k in self._open}
            if findings != self._findings:
                self._findings = findings
                await asyncio.to_thread(self._write_findings, findings)
            if (current.status, current.status_reason) != before and self.status_changed is not None:
                self.status_changed()

    async def record_test(self, book: OpenBook, results: Sequence[CheckResult]) -> None:
        """Keep a Test's verdict (its messages masked already): the book's status is then what Test found."""
        if book.connector is None:  # disabled, withheld or not opened: the status says so already
            return
        await self.record(book, Finding.of_test(results))

    async def note_search(self, book: OpenBook, error_key: str | None, message: str = "") -> None:
        """A search of the book ended: `error_key` None when it answered, else the add-in's error key.

        Called for every search, so it returns at once unless the status must change: a refused search
        (`REFUSED_SEARCH_KEYS`) marks the book; an answer clears a finding it disproves (`CURED_BY_SEARCH_KEYS`).
        """
        finding = book.finding
        if error_key is None:
            if finding is not None and not finding.ok and finding.error_key in CURED_BY_SEARCH_KEYS:
                await self.record(book, None)
            return
        if error_key not in REFUSED_SEARCH_KEYS:
            return
        if finding is not None and not finding.ok and finding.error_key == error_key and finding.message == message:
            return
        await self.record(book, Finding(False, error_key, message[:1000], "search", time.time()))

    async def _forget_findings(self, book_ids: Sequence[str]) -> None:
        async with self._findings_lock:
            findings = {k: v for k, v in (self._findings or {}).items() if k not in book_ids}
            if findings != self._findings:
                self._findings = findings
                await asyncio.to_thread(self._write_findings, findings)

    def _read_findings(self) -> dict[str, Finding]:
        return read_findings(self.paths)

    def _write_findings(self, findings: Mapping[str, Finding]) -> None:
        """Blocks; a failure only costs the findings' surviving a restart."""
        try:
            self.paths.data_dir.mkdir(parents=True, exist_ok=True)
            data = json.dumps({k: asdict(v) for k, v in findings.items()}, ensure_ascii=False)
            atomic_write(self.paths.data_dir / STATUS_FILE, data.encode("utf-8"))
        except OSError as exc:
            log.warning("could not keep the address books' status in %s: %s", STATUS_FILE, exc)

    def _withheld(self, config: BookConfig, unlocked: Set[str]) -> Withheld | None:
        """Why the book's integration may not be used here; None when it may (or is not installed at all)."""
        integration = self.host.integration(config.type)
        return withheld(integration, self.branding, unlocked) if integration is not None else None

    async def _open_book(self, config: BookConfig, unlocked: Set[str]) -> OpenBook:
        integration = self.host.integration(config.type)
        if integration is None:
            # Add-ins may provide integrations they did not have at start (a template file added since): ask again.
            await asyncio.to_thread(self.host.collect_integrations)
            integration = self.host.integration(config.type)
        if integration is None:
            return OpenBook(config, None, None, self.host.unavailable_reason(config.type))
        # Before the add-in runs: whatever it or its libraries log from now on is masked (`_close` forgets them).
        # In a thread: the first registration of a secret compiles its patterns.
        secrets = secret_values(integration, config.settings)
        await asyncio.to_thread(LOG_REDACTOR.set_secrets, book_owner(config.id), secrets)
        reason = withheld(integration, self.branding, unlocked)
        if reason is not None:  # found in the vault (edited by hand, or locked again): never opened, never searched
            log.info("address book %s (%s) stays closed: %s", config.id, config.type, reason.message)
            return OpenBook(config, integration, None, reason.message, withheld=reason)
        if not config.enabled:
            return OpenBook(config, integration, None, "This address book is disabled.")
        try:
            sign_in = None
            if self.sign_ins is not None:
                sign_in = await self.sign_ins.session(config.id, integration, config.settings)
            context = BookContext(
                book_id=config.id,
                name=config.name,
                settings=dict(config.settings),
                data_dir=self.paths.book_dir(config.id),
                default_region=self.region,
                sign_in=sign_in,
            )
            await asyncio.to_thread(context.data_dir.mkdir, parents=True, exist_ok=True, mode=0o700)
            opened = await asyncio.to_thread(integration.open, context)
            connector = ThreadedConnector(opened) if isinstance(opened, BlockingConnector) else opened
            if not isinstance(connector, Connector):
                raise TypeError(f"open() returned {type(opened).__name__}, not a Connector")
        except Exception as exc:  # noqa: BLE001  (add-in code: reported in the book's slot)
            text = exc.message if isinstance(exc, PartnerError) else f"{type(exc).__name__}: {exc}"
            failure = mask_url_passwords(redact(text, integration, config.settings))
            log.error("address book %s (%s) failed to open: %s", config.id, config.type, failure)
            return OpenBook(config, integration, None, f"The address book could not be opened: {failure}")
        capabilities = integration.capabilities
        try:
            narrowed = connector.capabilities()
        except Exception as exc:  # noqa: BLE001  (add-in code)
            log.warning("address book %s: capabilities() failed (%s); assuming all declared", config.id, exc)
            narrowed = None
        if narrowed is not None:
            capabilities &= frozenset(narrowed)
        if not takes_call_events(connector):  # declared, but the hook is missing: no book waits on it
            capabilities -= {Capability.CALL_EVENTS}
        return OpenBook(config, integration, connector, capabilities=capabilities)

    async def _start(self, book: OpenBook) -> None:
        assert book.connector is not None
        try:
            await book.connector.start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  (add-in code: its searches will say what is wrong)
            reason = redact(f"{type(exc).__name__}: {exc}", book.integration, book.config.settings)
            log.warning("address book %s: start-up work failed: %s", book.id, reason)

    async def _close(self, book: OpenBook) -> None:
        starting = self._starting.pop(book.id, None)
        if starting is not None and not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        if self.sign_ins is not None:
            self.sign_ins.closed(book.id)
        if book.connector is None:
            LOG_REDACTOR.forget(book_owner(book.id))
            return
        try:
            await asyncio.wait_for(book.connector.close(), timeout=5)
        except Exception as exc:  # noqa: BLE001  (closing must go on for the other books)
            log.warning("address book %s did not close cleanly: %s", book.id, exc)
        LOG_REDACTOR.forget(book_owner(book.id))  # after close: what closing logs is still masked

    async def open_detached(self, config: BookConfig) -> OpenBook:
        """Open one book as the daemon would, outside the books this manager serves, without its start-up work.

        For one-off commands that need the book itself with the daemon stopped (`books diagnose`); close it
        with `close_detached`.
        """
        doc = await asyncio.to_thread(self.vault.read)
        return await self._open_book(config, unlocked_ids(doc))

    async def close_detached(self, book: OpenBook) -> None:
        """Close a book `open_detached` opened."""
        await self._close(book)

    async def close(self) -> None:
        async with self._lock:
            for book in self._open.values():
                await self._close(book)
            self._open.clear()

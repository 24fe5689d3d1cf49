"""Keep secrets out of logs, errors, API answers and pages.

One notion of a secret serves everything: `secret_values` names a book's secrets (its secret settings
and the HTTP Basic credentials they make), `secret_pattern` every way a server, a library or a page
may write one back (each character as is or percent-, JSON-, repr- or HTML-escaped, inside base64).

`LOG_REDACTOR` masks every secret registered with it in every log record, whatever add-in or library
wrote it: `BookManager` registers each book's secrets when it opens the book and forgets them when it
closes it, add-ins add the secrets they obtain at run time (`BookContext.add_secret`: OAuth tokens,
sessions), and the daemon registers its install token and signing key. `redact` masks a book's secrets,
and everything `LOG_REDACTOR` knows, in text the daemon shows: ExceptionText, Test results, pages.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter values are never masked: masking "abc" would garble every text while hiding next to nothing."""
MIN_BASE64_BYTES = 8
"""Secrets at least this long are also found inside any base64 text (HTTP Basic credentials whatever the user
name, tokens wrapped in other tokens); shorter ones would make cores that match ordinary words."""
MIN_ANCHOR_LENGTH = 3
"""A secret's longest run of plain characters is looked for before its pattern runs when at least this long."""
MAX_ADDED_SECRETS = 64
"""Secrets an owner adds at run time, kept at most; the oldest go first (OAuth renews access tokens hourly)."""
MAX_USER_LENGTH = 256
"""Longer text settings are not tried as the user name of HTTP Basic credentials."""
USER_SETTING = re.compile(r"user|login|email|account|bind_dn|client_id", re.IGNORECASE)
"""Settings (by key) that may hold the user name of HTTP Basic credentials."""

_URLSAFE = str.maketrans("+/", "-_")
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._")
"""Characters no encoder escapes: they stand for themselves in a secret's pattern."""
_HTML_NAMES = {'"': ("quot",), "&": ("amp",), "<": ("lt",), ">": ("gt",), "'": ("apos",)}
_TRACEBACKS = logging.Formatter()


class _Field(Protocol):
    @property
    def secret(self) -> bool: ...


class Schema(Protocol):
    """What `secret_values` needs of an integration: which of its settings hold secrets."""

    def config_field(self, key: str) -> _Field | None: ...


def book_owner(book_id: str) -> str:
    """The name a book's secrets are registered under with `LOG_REDACTOR`."""
    return f"book:{book_id}"


def basic_credentials(user: str, password: str) -> str:
    """What HTTP Basic sends for `user` and `password` (RFC 7617): base64 of "user:password"."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def secret_values(integration: Schema | None, settings: Mapping[str, Any]) -> list[str]:
    """A book's secrets, longest first: the values of its secret settings (every text setting when its schema is
    unknown), and the HTTP Basic credentials (base64 of "user:secret") each makes with the book's user name
    settings. (Long secrets are found inside any base64 text anyway, see `secret_pattern`; the whole credentials
    are masked so that not even the user name's part of them shows.)"""
    secrets: list[str] = []
    users: list[str] = []
    for key, value in settings.items():
        if not isinstance(value, str):
            continue
        spec = integration.config_field(key) if integration is not None else None
        if integration is None or (spec is not None and spec.secret):
            secrets.append(value)
        if value and len(value) <= MAX_USER_LENGTH and USER_SETTING.search(key):
            users.append(value)
    secrets = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH]
    pairs = [basic_credentials(user, secret) for secret in secrets for user in users if user != secret]
    return sorted(set(secrets + pairs), key=len, reverse=True)


def _base64_cores(data: bytes) -> set[str]:
    """What every base64 text that holds `data` contains, wherever `data` starts in it: for each of the three
    alignments, the characters made of `data`'s bits alone, in the standard and the URL-safe alphabet."""
    cores: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode("ascii").rstrip("=")
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]
        cores |= {core, core.translate(_URLSAFE)}
    return cores


def _char_pattern(char: str) -> str:
    """Every way a text may write `char` of a secret: as is or behind backslashes (JSON, repr, JSON in JSON),
    percent-encoded (either hex case), as a JSON or Python escape, as an HTML character reference, and a space
    as '+'. Each encoder escapes its own set of characters (a URL path keeps '/', '+', '=' and '&' but not '"'),
    so each character is matched in any of its spellings rather than the secret in a few whole encodings."""
    if char in _PLAIN:
        return re.escape(char)
    code = ord(char)
    ways = [r"\\*" + re.escape(char), "".join(f"%(?i:{byte:02x})" for byte in char.encode())]
    ways.append(rf"\\+(?i:u{code:04x})" if code <= 0xFFFF else rf"\\+(?i:U{code:08x})")
    if code <= 0xFF:
        ways.append(rf"\\+(?i:x{code:02x})")
    ways += [rf"&#0*{code};", rf"&#(?i:x0*{code:x});", *(f"&{name};" for name in _HTML_NAMES.get(char, ()))]
    if char == " ":
        ways.append(r"\+")
    return "(?:" + "|".join(ways) + ")"


def secret_pattern(secret: str) -> str:
    """A regular expression for `secret` as it may come back in any text: each character in any of its spellings
    (see `_char_pattern`: as is, percent-, JSON-, repr- or HTML-escaped, in any mixture), and, when the secret is
    long enough, inside base64 (HTTP Basic credentials whatever the user name)."""
    return "|".join([_spelled(secret), *map(re.escape, _cores_of(secret))])


def _spelled(secret: str) -> str:
    return "".join(map(_char_pattern, secret))


def _cores_of(secret: str) -> list[str]:
    data = secret.encode()
    return sorted(_base64_cores(data), key=lambda c: (-len(c), c)) if len(data) >= MIN_BASE64_BYTES else []


@dataclass(frozen=True)
class _SecretMatcher:
    """One secret's pattern, and literal texts at least one of which every match contains: checking those first
    (a substring search in C) keeps a log record that holds no secret from meeting any regular expression."""

    anchors: tuple[str, ...]
    """Empty when the secret has no run of plain characters to look for: its pattern always runs."""
    pattern: re.Pattern[str]

    def __call__(self, text: str) -> str:
        if self.anchors and not any(anchor in text for anchor in self.anchors):
            return text
        return self.pattern.sub(MASK, text)


@functools.lru_cache(maxsize=4096)
def _matcher(secret: str) -> _SecretMatcher:
    """Compiled once per secret (a book re-opened, or another book registered, compiles nothing again)."""
    plain_runs = re.findall(f"[{re.escape(''.join(sorted(_PLAIN)))}]+", secret)
    longest = max(plain_runs, key=len, default="")
    cores = _cores_of(secret)
    anchors = (longest, *cores) if len(longest) >= MIN_ANCHOR_LENGTH else ()
    return _SecretMatcher(anchors, re.compile(secret_pattern(secret)))


class _Masker:
    """Replaces every spelling of a set of secrets with MASK, longer secrets first."""

    def __init__(self, secrets: frozenset[str]) -> None:
        kept = sorted((s for s in secrets if len(s) >= MIN_SECRET_LENGTH), key=lambda s: (-len(s), s))
        self._matchers = [_matcher(secret) for secret in kept]

    def __bool__(self) -> bool:
        return bool(self._matchers)

    def __call__(self, text: str) -> str:
        for matcher in self._matchers:
            text = matcher(text)
        return text


@functools.lru_cache(maxsize=128)
def _masker(secrets: frozenset[str]) -> _Masker:
    return _Masker(secrets)


class RedactingFilter(logging.Filter):
    """Masks every registered secret in a log record (message, arguments and traceback) before any handler writes it.

    One instance, `LOG_REDACTOR`, is attached to every log handler the daemon sets up; address books register their
    secrets with it when they open and forget them when they close, so no add-in can forget to redact. Thread-safe:
    add-ins log from worker threads and add secrets from them.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: dict[str, tuple[str, ...]] = {}
        self._added: dict[str, deque[str]] = {}
        self._masker = _masker(frozenset())

    def set_secrets(self, owner: str, values: Iterable[str]) -> None:
        """Remember `owner`'s secrets (replacing what it set before; what it added with `add_secret` stays)."""
        with self._lock:
            self._secrets[owner] = tuple(v for v in values if len(v) >= MIN_SECRET_LENGTH)
            self._rebuild()

    def add_secret(self, owner: str, value: str) -> None:
        """Remember one more secret of `owner`, obtained at run time (the latest MAX_ADDED_SECRETS are kept)."""
        if len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            added = self._added.setdefault(owner, deque(maxlen=MAX_ADDED_SECRETS))
            if value in added:
                return
            added.append(value)
            self._rebuild()

    def forget(self, owner: str) -> None:
        """Drop everything `owner` registered (its book closed)."""
        with self._lock:
            if self._secrets.pop(owner, None) is not None or self._added.pop(owner, None) is not None:
                self._rebuild()

    def secrets(self) -> frozenset[str]:
        """Every secret registered now, of every owner."""
        with self._lock:
            return self._all()

    def _all(self) -> frozenset[str]:
        return frozenset(s for values in (*self._secrets.values(), *self._added.values()) for s in values)

    def _rebuild(self) -> None:
        self._masker = _masker(self._all())

    def mask(self, text: str) -> str:
        """`text` with every form of every registered secret masked."""
        return self._masker(text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place and let it through; running it again (every handler does) changes nothing.

        The message is formatted (msg % args) and masked as a whole, so a secret in the arguments or split
        between format and arguments is found; the traceback is formatted into `exc_text`, which formatters
        then use instead of formatting `exc_info` again.
        """
        mask = self._masker
        if not mask:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  (arguments that do not fit the message: keep them, masked, in the text)
            message = f"{record.msg!s} (arguments that do not fit the message: {record.args!r})"
            record.msg, record.args = mask(message), None
        else:
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


LOG_REDACTOR = RedactingFilter()
"""The one redacting filter every log handler carries (see `RedactingFilter`)."""


def mask_values(text: str, secrets: Iterable[str]) -> str:
    """`text` with every form of `secrets` masked, and of every secret `LOG_REDACTOR` knows (every open book's,
    tokens add-ins obtained at run time, the install token)."""
    return _masker(frozenset(secrets) | LOG_REDACTOR.secrets())(text)


def redact(text: str, integration: Schema | None, settings: Mapping[str, Any]) -> str:
    """`text` with the book's secrets masked (see `mask_values`): for text the daemon shows or stores."""
    return mask_values(text, secret_values(integration, settings))

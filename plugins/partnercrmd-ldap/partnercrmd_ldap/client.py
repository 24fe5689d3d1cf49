"""The LDAP protocol: a small pool of bound ldap3 connections with timeouts, and LDAP failures in plain words.

ldap3's synchronous connections are not thread-safe, and the host calls a
`BlockingConnector` from several threads at once, so each call borrows a
connection of its own from the pool (opening and binding one when none is
idle) and gives it back afterwards. A pooled connection the server has
closed meanwhile (a restart, an idle timeout) is replaced once, quietly; a
server that is down fails at once with `cannot_connect`, a server that does
not answer within the timeout with `timeout`.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from partnercrmd.sdk import AddinError, ConfigError

from .ldap3_api import exceptions, ldap3

LDAPCommunicationError = exceptions.LDAPCommunicationError
LDAPException = exceptions.LDAPException
LDAPSocketOpenError = exceptions.LDAPSocketOpenError
LDAPStartTLSError = exceptions.LDAPStartTLSError

T = TypeVar("T")

Scope = Literal["BASE", "LEVEL", "SUBTREE"]

# LDAP result codes (RFC 4511, 4.1.9) the add-in tells apart.
SUCCESS = 0
TIME_LIMIT_EXCEEDED = 3
SIZE_LIMIT_EXCEEDED = 4
ADMIN_LIMIT_EXCEEDED = 11
NO_SUCH_ATTRIBUTE = 16
UNDEFINED_ATTRIBUTE_TYPE = 17
CONSTRAINT_VIOLATION = 19
ATTRIBUTE_OR_VALUE_EXISTS = 20
NO_SUCH_OBJECT = 32
INVALID_DN_SYNTAX = 34
STRONGER_AUTH_REQUIRED = 8
INAPPROPRIATE_AUTHENTICATION = 48
INVALID_CREDENTIALS = 49
INSUFFICIENT_ACCESS_RIGHTS = 50
BUSY = 51
UNAVAILABLE = 52
UNWILLING_TO_PERFORM = 53
ENTRY_ALREADY_EXISTS = 68
FILTER_ERROR = 87

PARTIAL_RESULTS = (SIZE_LIMIT_EXCEEDED, TIME_LIMIT_EXCEEDED, ADMIN_LIMIT_EXCEEDED)
"""A search that stopped at a limit still returns the entries found so far."""
DEFAULT_PORTS = {"ldap": 389, "ldaps": 636}
MAX_IDLE_CONNECTIONS = 4
PAGE_SIZE = 500
"""Entries per page of a paged search (slapd's and AD's default size limits are 500 and 1000)."""
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
"""The simple paged results control (RFC 2696)."""


@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int
    use_ssl: bool

    def __str__(self) -> str:
        scheme = "ldaps" if self.use_ssl else "ldap"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def parse_url(url: str) -> ServerAddress:
    """`ldap://host[:port]` or `ldaps://host[:port]`; ConfigError saying what is wrong otherwise."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ConfigError("The setting 'url' must start with ldap:// or ldaps://, e.g. ldaps://dc1.example.com.")
    if not parts.hostname:
        raise ConfigError("The setting 'url' has no server name, e.g. ldap://ldap.example.com.")
    if parts.path.strip("/") or parts.query:
        raise ConfigError("The setting 'url' must be just ldap(s)://server[:port]; put the base DN in 'base_dn'.")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ConfigError("The port in the setting 'url' is not a number between 1 and 65535.") from None
    return ServerAddress(unquote(parts.hostname), port, scheme == "ldaps")


@dataclass(frozen=True)
class ConnectionSettings:
    address: ServerAddress
    bind_dn: str
    password: str = field(repr=False)
    timeout: int
    """Seconds to connect and to wait for each answer (ldap3 needs whole seconds for its socket option)."""
    start_tls: bool = False
    ca_file: str = ""
    tls_server_name: str = ""
    """The name the server's certificate must carry when it is not the host of the address (a DC reached by
    its IP address or another name): checked instead of that host, never "any name"."""


class VerifiedTls(ldap3.Tls):
    """TLS for ldaps:// and StartTLS that OpenSSL verifies in full: the chain against `ca_file` (or the system's
    CAs) and the name, which is `server_name` or else the host connected to.

    ldap3's own name check calls ssl.match_hostname, deprecated and gone in Python 3.12, and compares only the
    connected host; here the check is the standard library's (`check_hostname`), with IP addresses and the
    certificate's common name handled by OpenSSL.
    """

    def __init__(self, ca_file: str, server_name: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT, ca_certs_file=ca_file or None)
        self.server_name = server_name

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        """Called by ldap3 for ldaps:// (at open) and StartTLS, always with `do_handshake` (so failures show here)."""
        context = ssl.create_default_context(cafile=self.ca_certs_file)  # CERT_REQUIRED and check_hostname
        connection.socket = context.wrap_socket(
            connection.socket,
            server_hostname=self.server_name or connection.server.host,
            do_handshake_on_connect=do_handshake,
        )


@dataclass(frozen=True)
class Entry:
    """One directory entry as the server returned it: its DN and raw values, attribute names lower-cased."""

    dn: str
    values: Mapping[str, Sequence[bytes]]

    def raw(self, name: str) -> list[bytes]:
        return list(self.values.get(name.lower(), ())) if name else []

    def texts(self, name: str) -> list[str]:
        return [v.decode("utf-8", "replace").strip() for v in self.raw(name)]

    def text(self, name: str) -> str:
        """The first value of an attribute as text ("" when absent)."""
        return next((t for t in self.texts(name) if t), "")


def entries_of(response: object) -> list[Entry]:
    """The entries of an ldap3 search response (continuation references and other items skipped)."""
    entries = []
    for item in response if isinstance(response, list) else []:
        if isinstance(item, dict) and item.get("type") == "searchResEntry":
            raw = item.get("raw_attributes") or {}
            values = {str(k).lower(): [v for v in vs if isinstance(v, bytes)] for k, vs in raw.items()}
            entries.append(Entry(str(item.get("dn", "")), values))
    return entries


class ListingLimited(AddinError):
    """A paged listing that the server stopped at one of its limits (the entries so far were passed on)."""

    def __init__(self, passed: int, code: int, bind_dn: str) -> None:
        limit = (
            "size limit" if code == SIZE_LIMIT_EXCEEDED else "time limit" if code == TIME_LIMIT_EXCEEDED else "limit"
        )
        super().__init__(
            f"the LDAP server stopped the listing after {passed} entries (its {limit} for this account, result "
            f"{code}); ask the directory administrator to lift it for paged searches of this account (OpenLDAP: "
            f'limits dn.exact="{bind_dn or "<bind DN>"}" size.prtotal=unlimited)',
            code="invalid_auth",
        )
        self.passed = passed


@dataclass(frozen=True)
class Result:
    """The outcome of a write: its LDAP result code and the server's message."""

    code: int
    message: str

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS


class LdapClient:
    """One directory server, used from many threads; every method may raise AddinError."""

    def __init__(self, settings: ConnectionSettings, max_idle: int = MAX_IDLE_CONNECTIONS) -> None:
        self.settings = settings
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: list[ldap3.Connection] = []
        self._closed = False

    def _server(self) -> ldap3.Server:
        """A fresh server object per connection: ldap3 marks an address it failed to reach as unavailable for a
        while, so a shared one kept reporting a restarted server as unreachable."""
        address = self.settings.address
        return ldap3.Server(
            address.host,
            port=address.port,
            use_ssl=address.use_ssl,
            get_info="NO_INFO",
            tls=self._tls(),
            connect_timeout=self.settings.timeout,
        )

    def _tls(self) -> ldap3.Tls | None:
        if not (self.settings.address.use_ssl or self.settings.start_tls):
            return None
        return VerifiedTls(self.settings.ca_file, self.settings.tls_server_name)

    # --- connections ---------------------------------------------------------------------------------

    def _new_connection(self) -> ldap3.Connection:
        """An open, bound connection (AddinError when the server is unreachable or refuses the login)."""
        settings = self.settings
        connection = ldap3.Connection(
            self._server(),
            user=settings.bind_dn or None,
            password=settings.password or None,
            authentication="SIMPLE" if settings.bind_dn else "ANONYMOUS",
            auto_bind="NONE",
            client_strategy="SYNC",
            auto_referrals=False,  # a referral to another host must never receive our credentials
            raise_exceptions=False,
            receive_timeout=settings.timeout,
            return_empty_attributes=False,
        )
        try:
            connection.open()
            if settings.start_tls and not settings.address.use_ssl and not connection.start_tls():
                # Never fall back to sending the password unencrypted.
                raise AddinError(
                    f"The LDAP server at {settings.address} refused StartTLS; use ldaps:// or ask the administrator "
                    "to enable TLS.",
                    code="cannot_connect",
                )
            if not connection.bind():
                raise self._bind_failure(connection.result)
        except BaseException:
            discard(connection)
            raise
        return connection

    def _bind_failure(self, result: Any) -> AddinError:
        code, message = result_code(result)
        if code == STRONGER_AUTH_REQUIRED:
            # Active Directory (and Samba AD) refuse simple binds on plain LDAP by default.
            return AddinError(
                f"The LDAP server at {self.settings.address} accepts logins only over an encrypted connection "
                "(as Active Directory does); use ldaps:// or turn on 'start_tls', and give the server's CA in "
                "'ca_file'.",
                code="cannot_connect",
            )
        if code in (INVALID_CREDENTIALS, INAPPROPRIATE_AUTHENTICATION, INVALID_DN_SYNTAX):
            who = f"'{self.settings.bind_dn}'" if self.settings.bind_dn else "anonymous"
            return AddinError(
                f"The LDAP server refused the login ({who}); check the settings 'bind_dn' and 'password'.",
                code="invalid_auth",
            )
        return self._result_error(code, message, "log in")

    @contextmanager
    def connection(self) -> Iterator[ldap3.Connection]:
        """A bound connection for this thread alone; it goes back to the pool unless it broke."""
        with self._lock:
            pooled = self._idle.pop() if self._idle else None
        connection = pooled if pooled is not None else self._new_connection()
        healthy = False
        try:
            yield connection
            healthy = not connection.closed
        finally:
            if healthy:
                self._give_back(connection)
            else:
                discard(connection)

    def _give_back(self, connection: ldap3.Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        discard(connection)

    def run(self, operation: Callable[[ldap3.Connection], T]) -> T:
        """Run `operation` on a pooled connection, once more on a fresh one if the pooled one had gone stale."""
        for attempt in (1, 2):
            try:
                with self.connection() as connection:
                    return operation(connection)
            except LDAPSocketOpenError as exc:
                raise self._unreachable(exc) from None
            except LDAPStartTLSError as exc:
                mismatch = self._name_mismatch(exc)
                if mismatch:
                    raise mismatch from None
                raise AddinError(
                    f"StartTLS with {self.settings.address} failed ({self._reason(exc)}); the server may not offer "
                    "TLS on this port (try ldaps://), or its certificate is not trusted (setting 'ca_file').",
                    code="cannot_connect",
                ) from None
            except LDAPCommunicationError as exc:
                if isinstance(exc, TimeoutError):
                    raise self._timed_out() from None
                if attempt == 2:
                    raise AddinError(
                        f"The connection to the LDAP server at {self.settings.address} broke ({self._reason(exc)}).",
                        code="cannot_connect",
                    ) from None
            except LDAPException as exc:
                if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc):
                    raise self._timed_out() from None
                raise AddinError(
                    f"The LDAP client failed: {self._reason(exc)}.",
                    code="unknown",
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, exc: LDAPException) -> AddinError:
        reason = self._reason(exc)
        if "timed out" in reason or isinstance(exc, TimeoutError):
            return AddinError(
                f"The LDAP server at {self.settings.address} did not answer within "
                f"{self.settings.timeout} s; check the setting 'url' and the network.",
                code="timeout",
            )
        mismatch = self._name_mismatch(exc)
        if mismatch:
            return mismatch
        if "certificate" in reason.lower() or "ssl" in reason.lower():
            return AddinError(
                f"The TLS connection to {self.settings.address} failed ({reason}); check the server's "
                "certificate (setting 'ca_file').",
                code="cannot_connect",
            )
        return AddinError(
            f"Cannot reach the LDAP server at {self.settings.address} ({reason}); check the setting 'url' "
            "and that the server is running.",
            code="cannot_connect",
        )

    def _name_mismatch(self, exc: BaseException) -> AddinError | None:
        """The fix when a trusted certificate is issued for another name than the one checked; None otherwise.

        ldap3 passes on OpenSSL's verify message ("Hostname mismatch, certificate is not valid for 'x'")
        inside its own error text.
        """
        if "hostname mismatch" not in str(exc).lower() and "ip address mismatch" not in str(exc).lower():
            return None
        expected = self.settings.tls_server_name or self.settings.address.host
        return AddinError(
            f"The certificate of {self.settings.address} is trusted but not issued for '{expected}'; use the name "
            "it was issued for (the server's full DNS name, e.g. dc1.corp.example.com) in 'url', or set "
            "'tls_server_name' to it.",
            code="cannot_connect",
        )

    def _timed_out(self) -> AddinError:
        return AddinError(
            f"The LDAP server at {self.settings.address} did not answer within {self.settings.timeout} s.",
            code="timeout",
        )

    def _reason(self, exc: BaseException) -> str:
        """A short cause from an ldap3 error (errno text), never containing the password."""
        text = str(exc).strip() or type(exc).__name__
        for noise in ("socket connection error while opening: ", "error receiving data: ", "error sending data: "):
            text = text.replace(noise, "")
        text = re.sub(r"\[Errno -?\d+\]\s*", "", text).strip("[]() ")
        if self.settings.password and len(self.settings.password) >= 4:
            text = text.replace(self.settings.password, "***")
        return text[:200].lower() or type(exc).__name__

    def _result_error(self, code: int, message: str, doing: str) -> AddinError:
        """A failed operation's result code in words (`doing`: "search", "change 'description'"…)."""
        if code == INSUFFICIENT_ACCESS_RIGHTS:
            return AddinError(
                f"The LDAP account '{self.settings.bind_dn or 'anonymous'}' is not allowed to {doing}; "
                "ask the directory administrator for access.",
                code="invalid_auth",
            )
        if code == INVALID_CREDENTIALS:
            return AddinError(
                "The LDAP server no longer accepts the login; check the settings 'bind_dn' and 'password'.",
                code="invalid_auth",
            )
        if code in (BUSY, UNAVAILABLE):
            return AddinError(
                f"The LDAP server is busy or unavailable ({message}); try again later.", code="cannot_connect"
            )
        if code == TIME_LIMIT_EXCEEDED:
            return self._timed_out()
        text = f" ({message})" if message else ""
        return AddinError(f"The LDAP server could not {doing}: result {code}{text}.", code="invalid_data")

    # --- operations ----------------------------------------------------------------------------------

    def reach(self) -> None:
        """Open a TCP (and TLS) connection without logging in; AddinError when that fails."""
        connection = ldap3.Connection(self._server(), auto_bind="NONE", receive_timeout=self.settings.timeout)
        try:
            connection.open()
        except LDAPSocketOpenError as exc:
            raise self._unreachable(exc) from None
        finally:
            discard(connection)

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        scope: Scope = "SUBTREE",
        size_limit: int = 0,
        missing_ok: bool = False,
    ) -> list[Entry]:
        """Entries under `base` matching `search_filter`, up to `size_limit`.

        A `base` that does not exist (or that the account may not see) is `not_found`, or no entries with
        `missing_ok` (looking up one entry by its DN).
        """
        time_limit = self.settings.timeout

        def operation(connection: ldap3.Connection) -> list[Entry]:
            connection.search(
                base,
                search_filter,
                search_scope=scope,
                attributes=list(attributes) or ["1.1"],
                size_limit=size_limit,
                time_limit=time_limit,
                dereference_aliases="NEVER",
            )
            code, message = result_code(connection.result)
            if code == NO_SUCH_OBJECT:
                if missing_ok:
                    return []
                raise AddinError(
                    f"The DN '{base}' does not exist on the LDAP server, or the account may not see it; "
                    "check the setting 'base_dn'.",
                    code="not_found",
                )
            if code != SUCCESS and code not in PARTIAL_RESULTS:
                raise self._result_error(code, message, "search")
            return entries_of(connection.response)

        return self.run(operation)

    def search_pages(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        on_page: Callable[[list[Entry]], None],
        page_size: int = PAGE_SIZE,
        stop: Callable[[], bool] = lambda: False,
    ) -> int:
        """Every entry under `base` matching `search_filter`, `page_size` at a time (RFC 2696 paged results).

        Each page goes to `on_page` as soon as it arrives, so only one page is held in memory; all pages
        come over one connection (the server ties the paging cookie to it). `stop()` is asked between
        pages; when it says so, the search ends early. Returns how many entries were passed on.
        """
        time_limit = self.settings.timeout

        def operation(connection: ldap3.Connection) -> int:
            cookie: bytes | None = None
            passed = 0
            while True:
                connection.search(
                    base,
                    search_filter,
                    search_scope="SUBTREE",
                    attributes=list(attributes) or ["1.1"],
                    time_limit=time_limit,
                    dereference_aliases="NEVER",
                    paged_size=page_size,
                    paged_cookie=cookie,
                )
                code, message = result_code(connection.result)
                if code != SUCCESS and code not in PARTIAL_RESULTS:
                    raise self._result_error(code, message, "list the contacts for the number index")
                page = entries_of(connection.response)
                on_page(page)
                passed += len(page)
                if code != SUCCESS:
                    raise ListingLimited(passed, code, self.settings.bind_dn)
                controls = connection.result.get("controls") or {}
                paged = controls.get(PAGED_RESULTS_OID, {}).get("value", {})
                cookie = paged.get("cookie") or None
                if not cookie or stop():
                    return passed

        return self.run(operation)

    def add(self, dn: str, attributes: Mapping[str, Sequence[str | bytes]]) -> Result:
        def operation(connection: ldap3.Connection) -> Result:
            # types-ldap3 leaves add() and modify() unannotated.
            connection.add(dn, attributes={k: list(v) for k, v in attributes.items()})  # type: ignore[no-untyped-call]
            return Result(*result_code(connection.result))

        return self.run(operation)

    def modify(self, dn: str, changes: Mapping[str, Sequence[tuple[str, Sequence[str | bytes]]]]) -> Result:
        """Apply `{attribute: [(ldap3.MODIFY_ADD|MODIFY_DELETE|MODIFY_REPLACE, values)]}` in one operation."""

        def operation(connection: ldap3.Connection) -> Result:
            changes_list = {k: [(op, list(vs)) for op, vs in v] for k, v in changes.items()}
            connection.modify(dn, changes_list)  # type: ignore[no-untyped-call]  # unannotated in types-ldap3
            return Result(*result_code(connection.result))

        return self.run(operation)

    def rename(self, dn: str, new_rdn: str) -> Result:
        def operation(connection: ldap3.Connection) -> Result:
            connection.modify_dn(dn, new_rdn, delete_old_dn=True)
            return Result(*result_code(connection.result))

        return self.run(operation)

    def result_error(self, result: Result, doing: str) -> AddinError:
        return self._result_error(result.code, result.message, doing)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            discard(connection)


def result_code(result: Any) -> tuple[int, str]:
    """(code, diagnostic message) of an ldap3 result dict."""
    if not isinstance(result, dict):
        return -1, "no result"
    code = result.get("result")
    message = str(result.get("message") or result.get("description") or "").strip()
    return (code if isinstance(code, int) else -1), message[:300]


def discard(connection: ldap3.Connection) -> None:
    """Unbind and close, ignoring a server that has already gone; the socket is closed either way.

    ldap3 leaves the socket of a connection that failed to open (connection refused) unclosed, and
    such a connection counts as closed; so the socket itself is closed last.
    """
    with suppress(LDAPException, OSError):
        if not connection.closed:
            connection.unbind()
    with suppress(LDAPException, OSError):
        if not connection.closed:
            connection.strategy.close()
    leftover = getattr(connection, "socket", None)
    if isinstance(leftover, socket.socket):
        leftover.close()

"""Allowed web origins: the web pages (web softphones, CRM pages) whose scripts may call the API.

The list is the union of the partner's branding key `web_origins` and the user's setting `web_origins`
(`partnercrmd settings set web_origins=…`, the Applications page). An entry is one of:

- an exact origin `scheme://host[:port]`, http or https, written the way a browser sends it in `Origin`:
  the host lower-cased (an international name in its `xn--` form), the scheme's default port left out
  (`https://crm.example.com:443` is stored as `https://crm.example.com`);
- the one wildcard form `https://*.example.com[:port]`: every subdomain of example.com at any depth
  (`a.example.com`, `a.b.example.com`), never example.com itself, https only (over plain HTTP anyone on
  the network path could answer for an unknown subdomain), under a name of two labels at least.

Nothing else is accepted: no `*` alone, no `null`, no path, query or fragment (a lone trailing `/` as an
address bar shows it is dropped), no user name or password, no other scheme. A browser extension is not
allowed here but paired (extension_pairing.py).

Only the security middleware (api/middleware.py: `origin_is_allowed`) asks
`allowed_web_origins(…).allows(origin)`; the event WebSocket asks the same function.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ConfigError

MAX_ORIGINS = 100
"""Entries one list may have (branding or setting): a long list is a mistake, not a configuration."""
MAX_ENTRY_CHARS = 300
DEFAULT_PORTS = {"http": 80, "https": 443}
WILDCARD = "*."
EXAMPLE = "https://crm.example.com"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SEPARATORS = re.compile(r"[\s,]+")


class WebOriginError(ConfigError):
    """An entry of an allowed web origins list is not an origin this daemon accepts."""

    code = "invalid_web_origin"


@dataclass(frozen=True)
class OriginPattern:
    """One allowed entry: an exact origin, or (`subdomains`) every subdomain of `host`."""

    scheme: str
    host: str
    port: int | None
    """None: the scheme's default port."""
    subdomains: bool = False

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{WILDCARD if self.subdomains else ''}{self.host}{port}"

    def matches(self, origin: OriginPattern) -> bool:
        """Whether the (exact) `origin` is this entry or, for a wildcard, one of its subdomains."""
        if (origin.scheme, origin.port) != (self.scheme, self.port):
            return False
        if self.subdomains:
            return origin.host.endswith("." + self.host)
        return origin.host == self.host


def _refuse(entry: str, why: str) -> WebOriginError:
    shown = entry if len(entry) <= 80 else entry[:80] + "…"
    return WebOriginError(f"'{shown}' is not an allowed web origin: {why}")


def _host(entry: str, text: str) -> str:
    """The host lower-cased (IDN as punycode, IPv6 in brackets, compressed); WebOriginError if it is none."""
    if text.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError:
            raise _refuse(entry, "the address in [ ] is not an IPv6 address.") from None
    host = text.lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _refuse(entry, "the host name is not a valid international domain name.") from None
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise _refuse(entry, "the host is not a domain name or IP address (letters, digits, - and . only).")
    if all(label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise _refuse(entry, "the host is not a valid IPv4 address.") from None
    return host


def parse_origin(text: str, *, wildcard: bool = True) -> OriginPattern:
    """One entry, normalised; WebOriginError saying what is wrong. `wildcard=False`: an exact origin only."""
    entry = text.strip()
    if not entry:
        raise WebOriginError("An allowed web origin is empty.")
    if len(entry) > MAX_ENTRY_CHARS:
        raise _refuse(entry, f"it is longer than {MAX_ENTRY_CHARS} characters.")
    if entry == "*":
        raise _refuse(entry, "allowing every web page is never possible; list each origin, e.g. " + EXAMPLE + ".")
    if entry.lower() == "null":
        raise _refuse(entry, "'null' is the origin of sandboxed frames and local files, which anyone can make.")
    scheme, sep, rest = entry.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise _refuse(entry, f"write scheme://host[:port], e.g. {EXAMPLE}.")
    if scheme not in DEFAULT_PORTS:
        raise _refuse(entry, "only http:// and https:// pages can be allowed.")
    if rest.endswith("/"):
        rest = rest[:-1]  # what an address bar shows for the site's root
    if "@" in rest:
        raise _refuse(entry, "an origin has no user name or password.")
    if any(c in rest for c in "/?#\\"):
        raise _refuse(entry, f"an origin has no path, query or fragment: scheme://host[:port] only, e.g. {EXAMPLE}.")
    if rest.startswith("["):
        host_text, bracket, port_text = rest.partition("]")
        host_text += bracket
        if not bracket or (port_text and not port_text.startswith(":")):
            raise _refuse(entry, "write [IPv6 address] or [IPv6 address]:port.")
        port_text = port_text[1:]
    else:
        host_text, _, port_text = rest.partition(":")
    subdomains = host_text.startswith(WILDCARD)
    if subdomains:
        host_text = host_text[len(WILDCARD) :]
    if "*" in host_text or (subdomains and not wildcard):
        raise _refuse(entry, "the only wildcard is a whole first label, e.g. https://*.example.com.")
    port: int | None = None
    if port_text or rest.endswith(":"):
        if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise _refuse(entry, "the port is a number from 1 to 65535.")
        port = None if int(port_text) == DEFAULT_PORTS[scheme] else int(port_text)
    host = _host(entry, host_text)
    if subdomains:
        if scheme != "https":
            raise _refuse(entry, "a wildcard is allowed over https only (https://*.example.com).")
        if host.startswith("[") or host.count(".") < 1 or all(part.isdigit() for part in host.split(".")):
            raise _refuse(entry, "a wildcard needs a domain of two labels at least, e.g. https://*.example.com.")
    return OriginPattern(scheme, host, port, subdomains)


def parse_origin_list(value: str | Iterable[str]) -> tuple[str, ...]:
    """A list of entries (text separated by commas, spaces or new lines, or a sequence) as normalised text.

    Duplicates go, the order stays; WebOriginError names the first wrong entry.
    """
    entries = _SEPARATORS.split(value) if isinstance(value, str) else list(value)
    normalised: dict[str, None] = {}
    for entry in entries:
        if not isinstance(entry, str):
            raise WebOriginError("Allowed web origins are text, e.g. " + EXAMPLE + ".")
        if entry.strip():
            normalised[str(parse_origin(entry))] = None
    if len(normalised) > MAX_ORIGINS:
        raise WebOriginError(f"At most {MAX_ORIGINS} web origins can be allowed.")
    return tuple(normalised)


@dataclass(frozen=True)
class WebOrigins:
    """The allowed web origins in force, compiled for the per-request check."""

    patterns: tuple[OriginPattern, ...] = ()

    def allows(self, origin: str) -> bool:
        """Whether a request's `Origin` header names an allowed page.

        Only the exact form a browser sends matches (so the origin echoed back is the one the browser
        compares with); anything unparsable, a wildcard or `null` never does.
        """
        if not self.patterns:
            return False
        try:
            sent = parse_origin(origin, wildcard=False)
        except WebOriginError:
            return False
        return str(sent) == origin and any(pattern.matches(sent) for pattern in self.patterns)


@functools.lru_cache(maxsize=16)
def allowed_web_origins(branding_origins: tuple[str, ...], user_origins: tuple[str, ...]) -> WebOrigins:
    """The union of the partner's and the user's lists, both already normalised (cached: asked on every request)."""
    union = dict.fromkeys((*branding_origins, *user_origins))
    return WebOrigins(tuple(parse_origin(entry) for entry in union))

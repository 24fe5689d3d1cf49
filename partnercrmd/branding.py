"""The partner's branding file: the product's name and look, what it ships, and the partner's public key.

A partner that embeds partnercrmd in its softphone ships a ``branding.toml``
(see ``packaging/branding.example.toml``). It is found, first match wins:

1. the file named by ``PARTNERCRMD_BRANDING``;
2. ``branding.toml`` in the user's configuration directory (beside the vault);
3. ``branding.toml`` inside the installed ``partnercrmd`` package (a partner's build).

Without one the product is unbranded ("partnercrmd"). Every name a user can
see (pages, CLI, ``Version.ProductName``, the CRM viewer) comes from here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import PRODUCT_NAME
from .errors import BadRequest
from .integration_requests import RequestTarget, parse_target
from .paths import Paths
from .surfaces import Surface, parse_partner_surfaces
from .web_origins import WebOriginError, parse_origin_list

if TYPE_CHECKING:  # cryptography, partner_keys, tomllib: imported where used (`partnercrmd version` starts at once)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BRANDING_ENV = "PARTNERCRMD_BRANDING"
FILE_NAME = "branding.toml"
DEFAULT_VENDOR = "the partnercrmd project"
DEFAULT_GUIDE_URL = "https://github.com/partnercrmd/partnercrmd/tree/main/docs"
DEFAULT_REQUEST_URL = "https://github.com/partnercrmd/partnercrmd/issues/new?labels=integration-request"
LICENSING_PROVIDERS = ("development", "file", "http")
DEFAULT_INSTALL_HINT = "pip install 'partnercrmd[{extra}]'"
"""How a user adds an optional part (`{extra}`: e.g. ocr) to the unbranded product."""
BRANDED_INSTALL_HINT = "install {product} again with its '{extra}' component"
"""The same for a branded product whose file sets no `install_hint`."""


class BrandingError(BadRequest):
    code = "bad_branding"


@dataclass(frozen=True)
class Licensing:
    """How users are licensed (the partner's choice)."""

    provider: str = "development"
    """development (visibly unlicensed, everything allowed), file (a signed licence file) or http (an endpoint)."""
    licence_file: Path | None = None
    """provider=file: the licence file; default ``licence.lic`` beside the vault."""
    endpoint: str = ""
    """provider=http: the partner's licensing URL, asked per user id."""
    cache_minutes: int = 60
    grace_hours: int = 72
    """provider=http: how long the last good answer stands while the endpoint cannot be reached."""


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth client registered with a vendor for installed apps: the partner's (`[oauth_clients.ID]`) or the
    user's own (a book's advanced settings)."""

    client_id: str
    client_secret: str = ""
    """Only where the vendor requires one for installed apps. Not confidential in an installed app (RFC 8252
    §8.5): see docs/branding.md for what protects it and what does not."""
    own: bool = False
    """The user's own, from the book's settings."""

    def __repr__(self) -> str:  # never the secret, whatever prints a Branding
        return f"OAuthClient({self.client_id!r}, secret={'set' if self.client_secret else 'none'}, own={self.own})"


@dataclass(frozen=True)
class Branding:
    product_name: str = PRODUCT_NAME
    vendor: str = DEFAULT_VENDOR
    logo: Path | None = None
    colours: dict[str, str] = field(default_factory=dict)
    """CSS colours: primary, accent, background, text (any subset)."""
    guide_url: str = DEFAULT_GUIDE_URL
    request_integration_url: str = DEFAULT_REQUEST_URL
    integration_requests: RequestTarget = field(default_factory=RequestTarget)
    """Where "Request a new integration" sends a request (`[integration_requests]` url or mailto); default: kept."""
    install_hint: str = DEFAULT_INSTALL_HINT
    """What a user does to add an optional part ({extra} is its name), shown where that part is missing."""
    shipped_integrations: tuple[str, ...] = ()
    """Integration ids the partner ships; empty: every installed one."""
    public_key: Ed25519PublicKey | None = None
    """Checks unlock codes of Controlled integrations and licence files."""
    licensing: Licensing = field(default_factory=Licensing)
    web_origins: tuple[str, ...] = ()
    """Web pages whose scripts may call the API (`[api] web_origins`, normalised; web_origins.py)."""
    oauth_clients: dict[str, OAuthClient] = field(default_factory=dict)
    """The partner's OAuth client per integration id (`[oauth_clients.hubspot]`): "Sign in with <CRM>" uses it."""
    client_surfaces: frozenset[Surface] = frozenset()
    """Surfaces the phone client draws from the events (`[surfaces] offers = "client"`; surfaces.py)."""
    source: Path | None = None
    """The file this came from; None when unbranded."""

    @property
    def branded(self) -> bool:
        return self.source is not None

    @property
    def slug(self) -> str:
        """The product's name as a file or user name: "Acme Connect" -> "acme-connect"."""
        return re.sub(r"[^a-z0-9]+", "-", self.product_name.lower()).strip("-") or "app"

    def ships(self, integration_id: str) -> bool:
        return not self.shipped_integrations or integration_id in self.shipped_integrations


def _text(table: dict[str, Any], key: str, default: str, where: Path) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise BrandingError(f"{where}: '{key}' must be text.")
    return value


def _web_origins(api: Any, where: Path) -> tuple[str, ...]:
    """`[api] web_origins`: a list of origins whose pages may call the API (the rules in web_origins.py)."""
    origins = api.get("web_origins", []) if isinstance(api, dict) else None
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise BrandingError(f"{where}: [api] web_origins must be a list of origins such as https://crm.example.com.")
    try:
        return parse_origin_list(origins)
    except WebOriginError as exc:
        raise BrandingError(f"{where}: [api] web_origins: {exc.message}") from None


def parse_branding(data: dict[str, Any], where: Path) -> Branding:
    product = data.get("product", {})
    licensing = data.get("licensing", {})
    if not isinstance(product, dict) or not isinstance(licensing, dict):
        raise BrandingError(f"{where}: [product] and [licensing] must be tables.")
    name = _text(product, "name", "", where).strip()
    if not name:
        raise BrandingError(f"{where}: [product] name is required.")
    logo_text = _text(product, "logo", "", where)
    logo = (where.parent / logo_text).resolve() if logo_text else None
    if logo is not None and not logo.is_file():
        raise BrandingError(f"{where}: the logo file {logo} does not exist.")
    colours = product.get("colours", {})
    if not isinstance(colours, dict) or not all(isinstance(v, str) for v in colours.values()):
        raise BrandingError(f"{where}: [product.colours] must map names to CSS colours.")
    shipped = data.get("integrations", {}).get("shipped", [])
    if not isinstance(shipped, list) or not all(isinstance(i, str) for i in shipped):
        raise BrandingError(f"{where}: [integrations] shipped must be a list of integration ids.")
    key_text = _text(data.get("keys", {}), "public_key", "", where)
    from .partner_keys import SignatureError, load_public_key

    try:
        public_key = load_public_key(key_text) if key_text else None
    except SignatureError as exc:
        raise BrandingError(f"{where}: [keys] public_key: {exc.message}") from None
    provider = _text(licensing, "provider", "development", where)
    if provider not in LICENSING_PROVIDERS:
        raise BrandingError(f"{where}: [licensing] provider must be one of {', '.join(LICENSING_PROVIDERS)}.")
    licence_file = _text(licensing, "licence_file", "", where)
    endpoint = _text(licensing, "endpoint", "", where)
    if provider == "http" and not endpoint.startswith(("http://", "https://")):
        raise BrandingError(f"{where}: [licensing] provider 'http' needs an http(s) endpoint.")
    web_origins = _web_origins(data.get("api", {}), where)
    try:
        client_surfaces = parse_partner_surfaces(data.get("surfaces", {}))
    except ValueError as exc:
        raise BrandingError(f"{where}: {exc}") from None
    return Branding(
        oauth_clients=_oauth_clients(data.get("oauth_clients", {}), where),
        product_name=name,
        vendor=_text(product, "vendor", name, where),
        logo=logo,
        colours=dict(colours),
        guide_url=_text(product, "guide_url", DEFAULT_GUIDE_URL, where),
        request_integration_url=_text(product, "request_integration_url", DEFAULT_REQUEST_URL, where),
        install_hint=_text(product, "install_hint", BRANDED_INSTALL_HINT.replace("{product}", name), where),
        integration_requests=_integration_requests(data.get("integration_requests", {}), where),
        shipped_integrations=tuple(shipped),
        public_key=public_key,
        licensing=Licensing(
            provider=provider,
            licence_file=(where.parent / licence_file).resolve() if licence_file else None,
            endpoint=endpoint,
            cache_minutes=int(licensing.get("cache_minutes", 60)),
            grace_hours=int(licensing.get("grace_hours", 72)),
        ),
        web_origins=web_origins,
        client_surfaces=client_surfaces,
        source=where,
    )


def _oauth_clients(table: Any, where: Path) -> dict[str, OAuthClient]:
    """`[oauth_clients.<integration id>]` tables: client_id (required), client_secret (where the vendor wants one)."""
    if not isinstance(table, dict):
        raise BrandingError(f"{where}: [oauth_clients] must be a table of integration ids.")
    clients: dict[str, OAuthClient] = {}
    for integration_id, entry in table.items():
        if not isinstance(entry, dict):
            raise BrandingError(f"{where}: [oauth_clients.{integration_id}] must be a table with a client_id.")
        unknown = sorted(set(entry) - {"client_id", "client_secret"})
        if unknown:
            raise BrandingError(f"{where}: [oauth_clients.{integration_id}] has unknown keys: {', '.join(unknown)}.")
        client_id = _text(entry, "client_id", "", where).strip()
        if not client_id:
            raise BrandingError(f"{where}: [oauth_clients.{integration_id}] client_id is required.")
        clients[str(integration_id)] = OAuthClient(client_id, _text(entry, "client_secret", "", where).strip())
    return clients


def _integration_requests(table: Any, where: Path) -> RequestTarget:
    """`[integration_requests]`: where requests for a new integration go (integration_requests.parse_target)."""
    try:
        return parse_target(table)
    except ValueError as exc:
        raise BrandingError(f"{where}: {exc}") from None


def load_branding_file(path: Path) -> Branding:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BrandingError(f"Cannot read the branding file {path}: {exc.strerror}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise BrandingError(f"{path}: not valid TOML ({exc}).") from None
    return parse_branding(data, path)


def branding_path(paths: Paths) -> Path | None:
    named = os.environ.get(BRANDING_ENV)
    if named:
        return Path(named).expanduser()
    for candidate in (paths.config_dir / FILE_NAME, Path(__file__).with_name(FILE_NAME)):
        if candidate.is_file():
            return candidate
    return None


def load_branding(paths: Paths) -> Branding:
    """The branding in effect for this user (unbranded defaults when there is no file)."""
    path = branding_path(paths)
    return load_branding_file(path) if path is not None else Branding()

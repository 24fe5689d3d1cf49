"""How a daemon instance is set up: where its files are, its port, region, deadlines, opener."""

from __future__ import annotations

import locale
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .branding import Branding
from .opener import Opener, open_in_browser
from .paths import Paths
from .surfaces import Surface

DEFAULT_PORT = 10088
REGION_ENV = "PARTNERCRMD_REGION"


@dataclass
class DaemonConfig:
    paths: Paths
    port: int = DEFAULT_PORT
    region: str | None = None
    """Default region for numbers without a country code; None: the vault's setting, then the locale."""
    search_deadline: float = 1.5
    registration_wait: float = 60.0
    """How long `Register` waits for the user's approval before answering 403."""
    opener: Opener = open_in_browser
    extra_plugins: Sequence[tuple[str, object]] = field(default_factory=tuple)
    use_entry_points: bool = True
    vault_poll_interval: float = 0.5
    heartbeat: float = 20.0
    max_body_bytes: int = 64 * 1024
    body_read_timeout: float = 10.0
    """Seconds a client has to send a request's whole body once its headers are in (slow clients are cut off)."""
    port_span: int = 1
    """How many ports from `port` on may be tried (each user of a terminal server gets the next free one)."""
    https_port: int | None = None
    """The HTTPS port (`serve --https-port`; 0: none); None: the `https_port` setting, else 10443 once the local
    authority exists (tls.https_port decides). The daemon sets it to the port it listens on."""
    tls_check_interval: float = 24 * 3600.0
    """Seconds between two checks of the HTTPS certificate while the daemon runs (renewed when it is due)."""
    tls_clock: Callable[[], datetime] | None = None
    """What time it is for the local authority's certificates; None: the system clock (tests move it)."""
    dial_format: str = "e164"
    dial_outside_prefix: str = ""
    dial_extension_lengths: tuple[int, ...] = (3, 4)
    clipboard_dialling: bool = False
    screen_read_dialling: bool = False
    selection_dialling: bool = False
    focus_dialling: bool = False
    """Watch the focused text field (accessibility API) for a number to dial (setting `focus_dialling`)."""
    surfaces_off: frozenset[Surface] = frozenset()
    """Surfaces the user switched off (settings `draw_<surface>`); surfaces.daemon_draws answers for each."""
    web_origins: tuple[str, ...] = ()
    """The user's allowed web origins (setting `web_origins`, normalised); the branding's are added (web_origins.py)."""
    branding: Branding = field(default_factory=Branding)
    """The partner's branding (product name, shipped integrations, public key, licensing)."""
    request_head_timeout: float = 10.0
    """Seconds a new connection has to send its first request line and headers; then it is closed (slowloris)."""
    keepalive_timeout: float = 10.0
    """Seconds an idle keep-alive connection stays open after a response (the next request head must be in by then)."""
    max_connections: int = 256
    """Client connections open at once; one more is closed as soon as it is accepted (file descriptors stay bounded)."""


def region_from_locale() -> str:
    """The region of the user's locale (en_GB → GB), else US."""
    for value in (os.environ.get(REGION_ENV), os.environ.get("LC_ALL"), os.environ.get("LANG"), locale.getlocale()[0]):
        if not value:
            continue
        part = value.split(".")[0].split("_")[-1] if "_" in value or len(value) == 2 else ""
        if len(part) == 2 and part.isalpha():
            return part.upper()
    return "US"

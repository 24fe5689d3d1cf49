"""Diagnostics of one address book, for support: what the host knows of it and what its connector says, redacted.

`book_diagnostics` is the one place they are put together, for `partnercrmd books diagnose NAME` and the book
page's "Download diagnostics": the book's options, its settings without secrets, the partnercrmd, Python,
integration and add-in versions, the book's status and why, and `Connector.diagnostics()` (server version,
index state). Every text in the result, keys included, then passes through `partnercrmd.redact` with the book's
secrets and `url_credentials` masking, so nothing an add-in returns can carry a secret out.
"""

from __future__ import annotations

import asyncio
import platform
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import __version__
from .addin_host import AddinHost
from .books import OpenBook, redacted_settings
from .errors import PartnerError
from .redact import redact
from .url_credentials import mask_url_passwords

DIAGNOSTICS_TIMEOUT = 20.0
"""Seconds a connector's `diagnostics()` may take before the host reports it as timed out."""
DIAGNOSTICS_KEYS = (
    "generated_at",
    "partnercrmd_version",
    "python_version",
    "platform",
    "book",
    "integration",
    "settings",
    "status",
    "error",
    "capabilities",
    "connector",
)
"""The top-level keys of every book's diagnostics, in order (docs/addins.md, docs/configuration-ui.md)."""


async def book_diagnostics(book: OpenBook, host: AddinHost) -> dict[str, Any]:
    """The diagnostics of `book`, as the daemon has it open (or could not open it); secrets masked throughout."""
    config = book.config
    integration = book.integration
    provider = host.provider(config.type) if integration is not None else None
    options = {k: v for k, v in config.to_dict().items() if k != "settings"}
    found: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "partnercrmd_version": __version__,
        "python_version": platform.python_version(),
        "platform": sys.platform,
        "book": options,
        "integration": None
        if integration is None
        else {
            "id": integration.id,
            "name": integration.name,
            "version": integration.version,
            "addin": provider.distribution if provider else "",
            "addin_version": provider.version if provider else "",
        },
        "settings": redacted_settings(integration, config.settings),
        "status": book.status,
        "error": book.error or "",
        "capabilities": sorted(str(c) for c in book.capabilities),
        "connector": await _connector_diagnostics(book),
    }
    masked: dict[str, Any] = _masked(found, book)
    return masked


async def _connector_diagnostics(book: OpenBook) -> Any:
    """What the connector reports of itself; when it fails, what went wrong instead (the rest is still useful)."""
    if book.connector is None:
        return {}
    try:
        reported = await asyncio.wait_for(book.connector.diagnostics(), DIAGNOSTICS_TIMEOUT)
    except TimeoutError:
        return {"diagnostics_error": f"diagnostics() did not finish within {DIAGNOSTICS_TIMEOUT:g} s."}
    except PartnerError as exc:
        return {"diagnostics_error": exc.message}
    except Exception as exc:  # noqa: BLE001  (add-in code: say what happened)
        return {"diagnostics_error": f"{type(exc).__name__}: {exc}"}
    return _jsonable(reported)


def _jsonable(value: Any) -> Any:
    """`value` as JSON types: mappings with text keys, lists, and scalars (anything else as its text)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _masked(value: Any, book: OpenBook) -> Any:
    """`value` with the book's secrets (every form `redact` knows) and passwords in addresses masked in each text."""
    if isinstance(value, str):
        return mask_url_passwords(redact(value, book.integration, book.config.settings))
    if isinstance(value, dict):
        return {_masked(k, book): _masked(v, book) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, book) for v in value]
    return value

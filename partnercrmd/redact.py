"""Keep secrets out of logs, errors and API output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .integration import Integration

MASK = "***"


def secret_values(integration: Integration | None, settings: Mapping[str, Any]) -> list[str]:
    """The secret setting values of a book (as its schema marks them; all text if unknown), longest first."""
    if integration is None:
        values = [v for v in settings.values() if isinstance(v, str)]
    else:
        values = [str(v) for k, v in settings.items() if (f := integration.config_field(k)) and f.secret]
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def redact(text: str, integration: Integration | None, settings: Mapping[str, Any]) -> str:
    """`text` with every secret of the book masked."""
    for secret in secret_values(integration, settings):
        text = text.replace(secret, MASK)
    return text

"""Keep secrets out of logs, errors and API output."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
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


class RedactingFilter(logging.Filter):
    """Masks every registered secret in a log record (message, arguments and traceback) before any handler writes it.

    One instance, `LOG_REDACTOR`, is attached to every log handler the daemon sets up; address books register their
    secrets with it when they open and forget them when they close, so no add-in can forget to redact.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: dict[str, tuple[str, ...]] = {}

    def set_secrets(self, owner: str, values: Iterable[str]) -> None:
        """Remember `owner`'s secrets (replacing what it registered before)."""
        self._secrets[owner] = tuple(v for v in values if len(v) >= 4)

    def forget(self, owner: str) -> None:
        self._secrets.pop(owner, None)

    def mask(self, text: str) -> str:
        """`text` with every registered secret masked."""
        for secret in sorted({s for values in self._secrets.values() for s in values}, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        # (skeleton: the secrets helper completes this: message, args and exc_text)
        return True


LOG_REDACTOR = RedactingFilter()
"""The one redacting filter every log handler carries (see `RedactingFilter`)."""

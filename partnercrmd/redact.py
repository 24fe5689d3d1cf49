"""Keep secrets out of logs, errors and API output."""

from __future__ import annotations

from .books import OpenBook

MASK = "***"


def book_secrets(book: OpenBook) -> list[str]:
    """The secret setting values of a book (as the schema marks them), longest first."""
    if book.integration is None:
        values = [v for v in book.config.settings.values() if isinstance(v, str)]
    else:
        values = [
            str(v) for k, v in book.config.settings.items() if (f := book.integration.config_field(k)) and f.secret
        ]
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def redact(text: str, book: OpenBook) -> str:
    """`text` with every secret of `book` masked."""
    for secret in book_secrets(book):
        text = text.replace(secret, MASK)
    return text
